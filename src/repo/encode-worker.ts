/**
 * Worker thread of the encode pool: encodes chunks (standalone, or as a delta
 * against a base when that is smaller) off the main thread, so ingest uses
 * every core. Messages are documented in encode-pool.ts.
 */
import { parentPort } from 'node:worker_threads'
import { decodeChunk, encodeSmallest } from '../codec/codecs.js'
import type { EncodeHint } from '../codec/types.js'
import { CID, verifyBlock } from '../hash/cid.js'
import type { EncodedBaseMessage } from './encode-pool.js'

interface Job { id: number, bytes: Uint8Array, hint: EncodeHint, base?: Uint8Array, baseEncoded?: EncodedBaseMessage, baseDtype?: string }

function baseOf (job: Job): Uint8Array | undefined {
  const e = job.baseEncoded
  if (e == null) return job.base
  const bytes = decodeChunk(e.codec, e.data, e.logicalLength)
  verifyBlock(CID.decode(e.cid), bytes) // ERR_HASH_MISMATCH: never a delta against damaged bytes
  return bytes
}

parentPort?.on('message', (job: Job) => {
  try {
    const base = baseOf(job)
    const enc = encodeSmallest(job.bytes, job.hint, base != null ? { bytes: base, dtype: job.baseDtype } : undefined)
    // always a fresh copy: codecs may return views of buffers they reuse, which a transfer would detach
    const data = new Uint8Array(enc.data) // a copy (Buffer#slice would be a view)
    parentPort?.postMessage({ id: job.id, codec: enc.codec, data, delta: enc.delta }, [data.buffer as ArrayBuffer])
  } catch (err) {
    parentPort?.postMessage({ id: job.id, error: (err as Error).message, code: (err as { code?: string }).code })
  }
})
