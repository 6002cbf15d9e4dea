/**
 * Decode worker: reads a pack entry's stored bytes (from the pack file, or
 * as sent), decodes them and checks the BLAKE3 against the CID, off the
 * thread that answers FUSE. A delta entry arrives with its decoded base (see
 * leaf-fetcher.ts). Keeps a few pack files open.
 */
import fs from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { decodeChunk } from '../codec/codecs.js'
import { CID, verifyBlock } from '../hash/cid.js'
import type { DecodeJob, DecodeReply } from './leaf-fetcher.js'
import { preadFully } from '../util/pread.js'

const MAX_OPEN = 32
const fds = new Map<string, number>()

function fdOf (file: string): number {
  let fd = fds.get(file)
  if (fd != null) { fds.delete(file); fds.set(file, fd); return fd }
  fd = fs.openSync(file, 'r')
  fds.set(file, fd)
  if (fds.size > MAX_OPEN) {
    const [k, old] = fds.entries().next().value as [string, number]
    fds.delete(k)
    fs.closeSync(old)
  }
  return fd
}

function readPack (pack: NonNullable<DecodeJob['pack']>): Uint8Array {
  const fd = fdOf(pack.file)
  const buf = Buffer.allocUnsafeSlow(pack.length)
  if (preadFully(fd, buf, pack.offset) < pack.length) throw Object.assign(new Error(`${pack.file} is shorter than ${pack.offset + pack.length} bytes`), { code: 'ERR_IO' })
  return buf
}

const port = parentPort
if (port != null) {
  port.on('message', (job: DecodeJob) => {
    let reply: DecodeReply
    try {
      const data = job.data ?? (job.pack != null ? readPack(job.pack) : new Uint8Array(0))
      const out = decodeChunk(job.codec, data, job.logicalLength, job.base)
      verifyBlock(CID.decode(job.cid), out)
      // hand the bytes over without a copy when they own their buffer
      const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : out.slice()
      reply = { id: job.id, bytes: own }
      port.postMessage(reply, [own.buffer as ArrayBuffer])
    } catch (err) {
      const e = err as { code?: unknown, message?: unknown, name?: unknown }
      reply = { id: job.id, error: { code: typeof e.code === 'string' ? e.code : undefined, name: String(e.name ?? 'Error'), message: String(e.message ?? err) } }
      port.postMessage(reply)
    }
  })
  port.postMessage({ ready: true })
}
