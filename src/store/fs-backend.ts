/**
 * Local filesystem backend: objects are files under a directory; saves go
 * through a temp file, fsync, rename and a directory fsync, so a crash leaves
 * either the whole object or none. Read handles are kept open (bounded LRU).
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Backend, ObjectStat } from './backend.js'
import { fromSystemError, NotFoundError, ErrorCode } from '../errors.js'
import { preadFully } from '../util/pread.js'

/** Options for {@link createFsBackend}. */
export interface FsBackendOptions {
  /** open read handles kept (default 64) */
  maxOpenFiles?: number
}

/** A Backend over files in `dir`, with synchronous ranged reads for the hot path. */
export type FsBackend = Backend & { readSync: (key: string, offset: number, length: number) => Uint8Array }

/** A Backend over files in `dir`. Keys map to relative paths ('packs/ab/<id>.pack'). */
export function createFsBackend (dir: string, opts: FsBackendOptions = {}): FsBackend {
  const maxOpen = opts.maxOpenFiles ?? 64
  const fds = new Map<string, number>()

  const file = (key: string): string => {
    if (key.includes('..') || path.isAbsolute(key)) throw new Error(`bad object key ${key}`)
    return path.join(dir, key)
  }

  const fdOf = (key: string): number => {
    let fd = fds.get(key)
    if (fd != null) {
      fds.delete(key); fds.set(key, fd) // LRU touch
      return fd
    }
    try {
      fd = fs.openSync(file(key), 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`object ${key} not found`, ErrorCode.NOT_FOUND, { cause: err })
      throw fromSystemError(err, `opening ${key}`)
    }
    fds.set(key, fd)
    if (fds.size > maxOpen) {
      const [oldKey, oldFd] = fds.entries().next().value as [string, number]
      fds.delete(oldKey)
      fs.closeSync(oldFd)
    }
    return fd
  }

  const readAt = (key: string, offset: number, length: number): Uint8Array => {
    const fd = fdOf(key)
    const buf = Buffer.allocUnsafe(length)
    if (preadFully(fd, buf, offset) < length) throw new NotFoundError(`object ${key} is shorter than ${offset + length} bytes`, ErrorCode.NOT_FOUND)
    return buf
  }

  return {
    readSync: readAt,
    async save (key, source) {
      const dest = file(key)
      await fsp.mkdir(path.dirname(dest), { recursive: true })
      try {
        if (source instanceof Uint8Array) {
          const tmp = `${dest}.tmp-${process.pid}-${Date.now()}`
          const fh = await fsp.open(tmp, 'w')
          try { await fh.write(source); await fh.sync() } finally { await fh.close() }
          await fsp.rename(tmp, dest)
        } else {
          // the caller's temp file was written and fsynced by it; rename is the commit point
          await fsp.rename(source.path, dest)
        }
        const dfd = await fsp.open(path.dirname(dest), 'r')
        try { await dfd.sync() } finally { await dfd.close() }
      } catch (err) {
        throw fromSystemError(err, `saving ${key}`)
      }
    },
    async load (key, range) {
      if (range == null) {
        const st = await this.stat(key)
        if (st == null) throw new NotFoundError(`object ${key} not found`)
        return readAt(key, 0, st.size)
      }
      return readAt(key, range.offset, range.length)
    },
    async * stream (key, range) {
      const st = range == null ? await this.stat(key) : undefined
      const start = range?.offset ?? 0
      const end = range != null ? range.offset + range.length : (st?.size ?? 0)
      const step = 1 << 20
      for (let o = start; o < end; o += step) yield readAt(key, o, Math.min(step, end - o))
    },
    async stat (key): Promise<ObjectStat | undefined> {
      try {
        const st = await fsp.stat(file(key))
        return { size: st.size }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw fromSystemError(err, `stat ${key}`)
      }
    },
    async * list (prefix) {
      const root = file(prefix)
      const walk = async function * (d: string): AsyncGenerator<string> {
        let ents: fs.Dirent[]
        try { ents = await fsp.readdir(d, { withFileTypes: true }) } catch { return }
        for (const e of ents) {
          const p = path.join(d, e.name)
          if (e.isDirectory()) yield * walk(p)
          else if (!e.name.includes('.tmp-')) yield path.relative(dir, p).split(path.sep).join('/')
        }
      }
      yield * walk(root)
    },
    async remove (key) {
      const fd = fds.get(key)
      if (fd != null) { fds.delete(key); fs.closeSync(fd) }
      await fsp.rm(file(key), { force: true })
    },
    async close () {
      for (const fd of fds.values()) fs.closeSync(fd)
      fds.clear()
    }
  }
}
