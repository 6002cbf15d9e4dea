/**
 * `mountStore`: a read-only FUSE view of every repository and revision of a
 * store (layout in namespace.ts). Reads decode only the leaves they cover,
 * through a bounded chunk cache, with readahead for sequential readers and
 * decoding on worker threads (leaf-fetcher.ts).
 *
 * Kernel caching: libfuse's `auto_cache` keeps a file's page cache across
 * opens while its mtime and size are unchanged, and drops it otherwise. A
 * file's mtime is its commit's time, so paths that name a commit keep their
 * cache forever, and a branch path's cache is dropped when the branch moves.
 * `use_ino` passes our stable inode numbers through. Attribute and entry
 * timeouts equal the ref TTL, so new commits show within about two TTLs.
 *
 * The host process must not touch the mount synchronously itself: FUSE
 * requests are answered on its event loop.
 */
import os from 'node:os'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Repo } from '../repo/repo.js'
import { NodeCache } from '../repo/read.js'
import { packObjectKey } from '../store/block-store.js'
import { toHex } from '../util/bytes.js'
import { TenpakError, ErrorCode, isTenpakError, fromSystemError } from '../errors.js'
import { ChunkCache, type ChunkCacheStats } from '../util/byte-lru.js'
import { createLeafFetcher, type FetcherStats } from './leaf-fetcher.js'
import { createNamespace, type MountNode, type FileNode } from './namespace.js'
import { readInto, newReadState, type ReadState, type ReadFile } from './file-reader.js'
import { loadFuseBinding, checkFuseAvailable, clearStaleMount, setKernelReadahead, type FuseClass, type FuseOps, type FuseStat, type FuseInstance, type FuseOptions } from './binding.js'

/** Options for {@link mountStore}. */
export interface MountOptions {
  /** bytes of decoded chunks kept (default 256 MiB) */
  cacheBytes?: number
  /** worker threads decoding chunks (default: CPUs − 1, between 1 and 4; 0 decodes on the main thread) */
  decodeThreads?: number
  /** largest readahead window for sequential readers, bytes (default 16 MiB, at most an eighth of the cache; 0 disables) */
  maxReadahead?: number
  /** how long branch/tag heads are trusted before re-reading refs, ms (default 1000) */
  refTtlMs?: number
  /** let other users access the mount (FUSE allow_other) */
  allowOther?: boolean
  /** have fusermount unmount when this process dies, even by SIGKILL (default true) */
  autoUnmount?: boolean
  /** the FUSE device checked before mounting (default /dev/fuse) */
  fuseDevice?: string
  /**
   * kernel readahead for the mount in KiB (default 1024; FUSE starts at 128).
   * Set through /sys/class/bdi, so it needs root; elsewhere it stays as it is.
   */
  kernelReadaheadKb?: number
  /** libfuse debug output on stderr */
  debug?: boolean
  /** called for failures answered with EIO (the mount never prints) */
  onError?: (err: unknown, op: string, path: string) => void
}

/** Counters of a mount. */
export interface MountStats {
  /** read requests answered */
  reads: number
  /** bytes returned to the kernel */
  servedBytes: number
  /** open file handles */
  openFiles: number
  /** most read requests in progress at once (reads overlap instead of queueing) */
  peakConcurrentReads: number
  fetcher: FetcherStats
  cache: ChunkCacheStats
}

/** A live mount. */
export interface MountHandle {
  /** absolute mount point */
  readonly dir: string
  /** whether a stale mount was found at `dir` and cleared first */
  readonly clearedStale: boolean
  /** the kernel readahead in force for the mount, KiB (undefined if unknown) */
  readonly kernelReadaheadKb: number | undefined
  stats: () => MountStats
  /** unmount (lazily, so busy files do not block it) and stop the decode workers; idempotent */
  unmount: () => Promise<void>
}

const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const O_ACCMODE = 3
const ENODATA = -61

const XATTR_CID = 'user.tenpak.cid'
const XATTR_SHA256 = 'user.tenpak.sha256'
const XATTR_COMMIT = 'user.tenpak.commit'

interface Handle { node: FileNode, file: ReadFile, state: ReadState }

/** Mount a read-only view of `repo` at `dir`. Throws ERR_UNSUPPORTED (with what to install) when FUSE cannot be used. */
export async function mountStore (repo: Repo, dir: string, opts: MountOptions = {}): Promise<MountHandle> {
  const mnt = path.resolve(dir)
  checkFuseAvailable({ device: opts.fuseDevice })
  const Fuse = loadFuseBinding()
  const cleared = await clearStaleMount(mnt)
  try {
    await fsp.mkdir(mnt, { recursive: true })
  } catch (err) {
    throw fromSystemError(err, `creating the mount point ${mnt}`)
  }

  const refTtlMs = opts.refTtlMs ?? 1000
  const cacheBytes = opts.cacheBytes ?? 256 * 1024 * 1024
  const cache = new ChunkCache(cacheBytes)
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  // a local store's packs are plain files (docs/design.md): decode workers read them directly
  const local = !repo.blocks.remote && typeof (repo.blocks.backend as { readSync?: unknown }).readSync === 'function'
  const packPath = local ? (packId: string) => path.join(repo.dir, packObjectKey(packId)) : undefined
  const fetcher = createLeafFetcher({ blocks: repo.blocks, cache, packPath, decodeThreads: opts.decodeThreads ?? Math.max(1, Math.min(4, cpus - 1)) })
  const ns = createNamespace(repo, { refTtlMs })
  const nodes = new NodeCache(4096)
  const readerDeps = { blocks: repo.blocks, nodes, fetcher, maxReadahead: Math.min(opts.maxReadahead ?? 16 * 1024 * 1024, Math.floor(cacheBytes / 8)) }
  const handles = new Map<number, Handle>()
  let nextFh = 1
  let reads = 0
  let servedBytes = 0
  let inflight = 0
  let peak = 0
  // tensor starts of model files, so readahead stays inside the tensor being read
  const segmentCache = new Map<string, number[]>()
  const readFileOf = async (n: FileNode): Promise<ReadFile> => {
    const e = n.entry
    if (e.tensors == null) return { cid: e.cid, size: e.size }
    const key = e.tensors.toString()
    let segments = segmentCache.get(key)
    if (segments == null) {
      try {
        const tensors = await repo.tensors(e) ?? []
        segments = [0, ...tensors.filter(t => t.end > t.start).map(t => t.start)].sort((a, b) => a - b)
      } catch {
        segments = [] // readahead unbounded by tensors; reads themselves do not need the table
      }
      segmentCache.set(key, segments)
      if (segmentCache.size > 256) segmentCache.delete(segmentCache.keys().next().value as string)
    }
    return { cid: e.cid, size: e.size, segments }
  }
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0

  const errno = (err: unknown, op: string, p: string): number => {
    // a path that does not exist; a missing block (ERR_NOT_FOUND) is damage, reported as EIO
    if (isTenpakError(err) && (err.code === ErrorCode.PATH_NOT_FOUND || err.code === ErrorCode.ENTRY_NOT_FOUND ||
      err.code === ErrorCode.REPO_NOT_FOUND || err.code === ErrorCode.REVISION_NOT_FOUND ||
      err.code === ErrorCode.BAD_REPO_NAME)) return Fuse.ENOENT
    opts.onError?.(err, op, p)
    return Fuse.EIO
  }

  const statOf = (n: MountNode): FuseStat => {
    const t = new Date(n.mtime)
    if (n.type === 'dir') return { mode: S_IFDIR | 0o555, uid, gid, size: 4096, nlink: 2, ino: n.ino, blksize: 4096, blocks: 8, atime: t, mtime: t, ctime: t }
    const size = n.entry.size
    return { mode: S_IFREG | 0o444, uid, gid, size, nlink: 1, ino: n.ino, blksize: 128 * 1024, blocks: Math.ceil(size / 512), atime: t, mtime: t, ctime: t }
  }

  const xattrs = (n: MountNode): Map<string, string> => {
    const m = new Map<string, string>()
    if (n.type === 'file') {
      m.set(XATTR_CID, n.entry.cid.toString())
      m.set(XATTR_SHA256, toHex(n.entry.sha256))
      m.set(XATTR_COMMIT, n.rev.commit.toString())
    } else if (n.rev != null) {
      const cid = ns.dirCid(n)
      if (cid != null) m.set(XATTR_CID, cid.toString())
      m.set(XATTR_COMMIT, n.rev.commit.toString())
    }
    return m
  }

  const ops: FuseOps = {
    getattr (p, cb) {
      ns.resolve(p).then(n => { cb(0, statOf(n)) }, err => { cb(errno(err, 'getattr', p)) })
    },
    readdir (p, cb) {
      ns.list(p).then(entries => {
        cb(0, entries.map(e => e[0]), entries.map(e => statOf(e[1])))
      }, err => { cb(errno(err, 'readdir', p)) })
    },
    open (p, flags, cb) {
      if ((flags & O_ACCMODE) !== 0) { cb(Fuse.EROFS); return }
      ns.resolve(p).then(async n => {
        if (n.type !== 'file') { cb(-21); return } // EISDIR
        const file = await readFileOf(n)
        const fh = nextFh
        nextFh = nextFh >= 0x7fffffff ? 1 : nextFh + 1
        handles.set(fh, { node: n, file, state: newReadState() })
        cb(0, fh)
      }).catch(err => { cb(errno(err, 'open', p)) })
    },
    release (_p, fd, cb) {
      handles.delete(fd)
      cb(0)
    },
    read (p, fd, buf, len, pos, cb) {
      const h = handles.get(fd)
      // an open file reads the revision it was opened at, even if its branch moves meanwhile
      const node = h != null ? Promise.resolve(h.node) : ns.resolve(p)
      inflight++
      if (inflight > peak) peak = inflight
      node.then(async n => {
        if (n.type !== 'file') return -21
        const got = await readInto(readerDeps, h?.file ?? n.entry, buf, pos, len, h?.state ?? newReadState())
        reads++
        servedBytes += got
        return got
      }).then(got => { inflight--; cb(got) }, err => { inflight--; cb(errno(err, 'read', p)) })
    },
    getxattr (p, name, _position, cb) {
      ns.resolve(p).then(n => {
        const v = xattrs(n).get(name)
        if (v == null) { cb(ENODATA); return }
        cb(0, Buffer.from(v))
      }, err => { cb(errno(err, 'getxattr', p)) })
    },
    listxattr (p, cb) {
      ns.resolve(p).then(n => { cb(0, [...xattrs(n).keys()]) }, err => { cb(errno(err, 'listxattr', p)) })
    },
    statfs (_p, cb) {
      cb(0, { bsize: 4096, frsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, favail: 0, fsid: 0, flag: 1, namemax: 255 })
    }
  }

  const fuseOpts: FuseOptions = {
    fsname: 'tenpak',
    subtype: 'tenpak',
    autoUnmount: opts.autoUnmount ?? true,
    autoCache: true,
    allowOther: opts.allowOther === true,
    entryTimeout: Math.max(1, Math.round(refTtlMs / 1000)),
    attrTimeout: Math.max(1, Math.round(refTtlMs / 1000)),
    debug: opts.debug === true,
    timeout: 60_000
  }
  const TenpakFuse = extendBinding(Fuse, ['use_ino', 'ro'])
  const fuse = new TenpakFuse(mnt, ops, fuseOpts)
  try {
    await new Promise<void>((resolve, reject) => { fuse.mount(err => { err != null ? reject(err) : resolve() }) })
  } catch (err) {
    await fetcher.close()
    throw new TenpakError(ErrorCode.UNSUPPORTED, `mounting ${mnt} failed: ${(err as Error).message}; check that FUSE works here (apt-get install fuse3 libfuse2, /dev/fuse present, root or the fuse group) and that ${mnt} is not in use`, { cause: err })
  }

  const kernelReadaheadKb = setKernelReadahead(mnt, opts.kernelReadaheadKb ?? 1024)
  let unmounting: Promise<void> | undefined
  return {
    dir: mnt,
    clearedStale: cleared === 'cleared',
    kernelReadaheadKb,
    stats: () => ({ reads, servedBytes, openFiles: handles.size, peakConcurrentReads: peak, fetcher: fetcher.stats(), cache: cache.stats() }),
    async unmount () {
      unmounting ??= (async () => {
        try {
          await new Promise<void>((resolve, reject) => { fuse.unmount(err => { err != null ? reject(err) : resolve() }) })
        } catch (err) {
          throw new TenpakError(ErrorCode.IO, `unmounting ${mnt} failed: ${(err as Error).message}; run: fusermount -uz ${mnt}`, { cause: err })
        } finally {
          handles.clear()
          await fetcher.close()
          cache.clear() // give the decoded chunks back now, not at the handle's collection
        }
      })()
      await unmounting
    }
  }
}

interface BindingInternals {
  ops: FuseOps & { getxattr: (p: string, name: string, position: number, cb: (err: number, value?: Buffer) => void) => void }
  _fuseOptions (): string
}

/**
 * The binding with two changes, both through its (pinned) internals: extra
 * libfuse options it has no field for (`use_ino`, `ro`), and getxattr that
 * answers ERANGE when the caller's buffer is too small instead of a
 * truncated value.
 */
function extendBinding (Base: FuseClass, extra: string[]): FuseClass {
  const B = Base as unknown as new (mnt: string, ops: FuseOps, opts: FuseOptions) => FuseInstance & BindingInternals
  class Extended extends B {
    override _fuseOptions (): string {
      const base = super._fuseOptions()
      return base === '' ? `-o${extra.join(',')}` : `${base},${extra.join(',')}`
    }

    _op_getxattr (signal: (res: number, buf: ArrayBuffer) => void, p: string, name: string, valueBuf: Buffer, position: number): void {
      this.ops.getxattr(p, name, position, (err, value) => {
        if (err !== 0) { signal(err, valueBuf.buffer as ArrayBuffer); return }
        if (value == null) { signal(ENODATA, valueBuf.buffer as ArrayBuffer); return }
        if (valueBuf.length === 0) { signal(value.length, valueBuf.buffer as ArrayBuffer); return }
        if (valueBuf.length < value.length) { signal(Base.ERANGE, valueBuf.buffer as ArrayBuffer); return }
        value.copy(valueBuf)
        signal(value.length, valueBuf.buffer as ArrayBuffer)
      })
    }
  }
  return Object.assign(Extended, { unmount: Base.unmount.bind(Base), ENOENT: Base.ENOENT, EIO: Base.EIO, EROFS: Base.EROFS, ERANGE: Base.ERANGE, ENODATA: Base.ENODATA, ENOTCONN: Base.ENOTCONN }) as unknown as FuseClass
}
