/**
 * Decode worker: turns a pack entry's stored bytes back into the chunk and
 * checks its BLAKE3 against the CID, off the thread that answers FUSE. A
 * delta entry arrives with its decoded base (see leaf-fetcher.ts).
 */
import { parentPort } from 'node:worker_threads'
import { decodeChunk } from '../codec/codecs.js'
import { CID, verifyBlock } from '../hash/cid.js'
import type { DecodeJob, DecodeReply } from './leaf-fetcher.js'

const port = parentPort
if (port != null) {
  port.on('message', (job: DecodeJob) => {
    let reply: DecodeReply
    try {
      const out = decodeChunk(job.codec, job.data, job.logicalLength, job.base)
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
