/**
 * A small pool of worker threads that encode chunks for ingest. The main
 * thread keeps reading, hashing (BLAKE3, sha256) and deduplicating; only
 * chunks that must be stored are sent, with their delta base when paired.
 * Jobs: { id, bytes, hint, base? | baseEncoded?, baseDtype? } (bytes and base transferred;
 * baseEncoded: a standalone stored entry the worker decodes and hash-checks);
 * results: { id, codec, data, delta } or { id, error, code }.
 */
import { Worker } from 'node:worker_threads'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import fs from 'node:fs'
import type { EncodeHint } from '../codec/types.js'
import { IntegrityError, TenpakError, ErrorCode } from '../errors.js'
import type { CID } from '../hash/cid.js'

/** An encoded chunk coming back from the pool. */
export interface PoolResult { codec: number, data: Uint8Array, delta: boolean }

/**
 * A delta base for a job: its bytes, or (cheaper for the main thread) its
 * stored entry when that is standalone (raw, zstd, bytegroup-zstd), which the
 * worker decodes and checks against `cid` before using it.
 */
export type PoolBase = { bytes: Uint8Array, dtype?: string } | { encoded: { codec: number, data: Uint8Array, logicalLength: number }, cid: CID, dtype?: string }

/** A base as a job carries it to the worker when sent as its stored entry (the worker decodes and hash-checks it). */
export interface EncodedBaseMessage { codec: number, data: Uint8Array, logicalLength: number, cid: Uint8Array }

/** The pool. */
export interface EncodePool {
  encode: (bytes: Uint8Array, hint: EncodeHint, base?: PoolBase) => Promise<PoolResult>
  /** jobs submitted and not yet answered */
  readonly inFlight: number
  close: () => Promise<void>
}

// The compiled worker lives beside this module in dist/; when this module
// runs from TypeScript sources (tests), use the build in dist/ (npm test builds first).
function workerFile (): string | undefined {
  const here = fileURLToPath(import.meta.url)
  const js = here.endsWith('.ts') ? here.replace(/([\\/])src([\\/]repo[\\/])encode-pool\.ts$/, '$1dist$1src$2encode-worker.js') : here.replace(/encode-pool\.js$/, 'encode-worker.js')
  return fs.existsSync(js) ? js : undefined
}

/** Start a pool of `size` workers (default: one per core, at most 4); undefined when workers are unavailable. */
export function createEncodePool (size = Math.min(4, os.availableParallelism())): EncodePool | undefined {
  const file = workerFile()
  if (file == null || size < 1) return undefined
  const workers: Worker[] = []
  const waiting = new Map<number, { resolve: (r: PoolResult) => void, reject: (e: Error) => void, worker: number, bytes: number }>()
  // bytes queued on each worker: a job goes to the least loaded one, so one slow chunk
  // (a large patch at a strong level) does not hold back the jobs queued behind it
  const load: number[] = new Array(size).fill(0)
  let next = 0
  for (let i = 0; i < size; i++) {
    const w = new Worker(file)
    w.on('message', (m: { id: number, codec?: number, data?: Uint8Array, delta?: boolean, error?: string, code?: string }) => {
      const p = waiting.get(m.id)
      if (p == null) return
      waiting.delete(m.id)
      load[p.worker] -= p.bytes
      if (m.error != null) p.reject(m.code === ErrorCode.HASH_MISMATCH ? new IntegrityError(`encoding failed: ${m.error}`) : new TenpakError(ErrorCode.CODEC, `encoding failed: ${m.error}`))
      else p.resolve({ codec: m.codec as number, data: m.data as Uint8Array, delta: m.delta === true })
    })
    w.on('error', (err) => {
      for (const p of waiting.values()) p.reject(err)
      waiting.clear()
    })
    workers.push(w)
  }
  return {
    get inFlight () { return waiting.size },
    async encode (bytes, hint, base) {
      const id = next++
      // copies: the caller's buffers are views of shared read buffers and stay in use
      const b = new Uint8Array(bytes) // a copy: Buffer#slice would be a view, and transferring it would detach the read buffer
      const transfer: ArrayBuffer[] = [b.buffer as ArrayBuffer]
      let bb: Uint8Array | undefined
      let be: EncodedBaseMessage | undefined
      if (base != null && 'bytes' in base) { bb = new Uint8Array(base.bytes); transfer.push(bb.buffer as ArrayBuffer) }
      if (base != null && 'encoded' in base) {
        be = { ...base.encoded, data: new Uint8Array(base.encoded.data), cid: base.cid.bytes }
        transfer.push(be.data.buffer as ArrayBuffer)
      }
      let k = 0
      for (let i = 1; i < workers.length; i++) if (load[i] < load[k]) k = i
      const w = workers[k]
      const cost = b.length + (bb?.length ?? be?.logicalLength ?? 0)
      load[k] += cost
      return await new Promise<PoolResult>((resolve, reject) => {
        waiting.set(id, { resolve, reject, worker: k, bytes: cost })
        w.postMessage({ id, bytes: b, hint, base: bb, baseEncoded: be, baseDtype: base?.dtype }, transfer)
      })
    },
    async close () {
      await Promise.all(workers.map(async w => await w.terminate()))
    }
  }
}
