/**
 * A blocking ranged GET from S3, for the synchronous decode path of a store
 * whose packs stay in a bucket (cached-backend.ts) when a range was not
 * prefetched. The GET runs on a worker thread (s3-load-worker.ts); the
 * calling thread sleeps in Atomics.wait until the worker posts the bytes on a
 * MessagePort and flips a shared flag, then takes them with
 * receiveMessageOnPort. Hot paths prefetch asynchronously instead: this is the
 * correctness fallback for small metadata reads, not the data path.
 */
import { Worker, MessageChannel, receiveMessageOnPort } from 'node:worker_threads'
import type { S3Location, S3Settings } from './s3-backend.js'
import { TenpakError, NotFoundError, ErrorCode, type ErrorCodeValue } from '../errors.js'

/** What the worker answers on the port. */
export interface LoadReply {
  id: number
  bytes?: Uint8Array
  error?: { message: string, code?: string, notFound?: boolean }
}

/** A blocking loader; `close` stops its worker. */
export interface SyncLoader {
  load: (key: string, offset: number, length: number) => Uint8Array
  close: () => Promise<void>
}

function workerUrl (): URL {
  // under a TypeScript loader (the tests) this module is the .ts file itself
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./s3-load-worker${ext}`, import.meta.url)
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode))

/** Start a loader over `s3://location` with `settings` (and the environment's AWS variables). */
export function createS3SyncLoader (opts: { settings: S3Settings, location: S3Location, timeoutMs?: number }): SyncLoader {
  const timeoutMs = opts.timeoutMs ?? 120_000
  // [0]: an answer was posted; [1]: the worker has started (its imports loaded)
  const flag = new Int32Array(new SharedArrayBuffer(8))
  const { port1, port2 } = new MessageChannel()
  const worker = new Worker(workerUrl(), { workerData: { settings: opts.settings, location: opts.location, flag, port: port2 }, transferList: [port2] })
  worker.unref()
  let dead: Error | undefined
  worker.on('error', (err) => { dead = err })
  worker.on('exit', () => { dead ??= new Error('the S3 load worker exited') })
  let nextId = 1

  return {
    load (key, offset, length) {
      if (dead != null) throw new TenpakError(ErrorCode.IO, `cannot read ${key}: ${dead.message}`, { cause: dead })
      // a worker that failed to start never answers, and its 'error' event cannot arrive while this thread waits
      if (Atomics.load(flag, 1) === 0 && Atomics.wait(flag, 1, 0, 15_000) === 'timed-out') {
        throw new TenpakError(ErrorCode.IO, `cannot read ${key}: the S3 load worker did not start`)
      }
      const id = nextId++
      const deadline = Date.now() + timeoutMs
      Atomics.store(flag, 0, 0)
      worker.postMessage({ id, key, offset, length })
      for (;;) {
        let m: { message: LoadReply } | undefined
        while ((m = receiveMessageOnPort(port1) as { message: LoadReply } | undefined) != null) {
          const r = m.message
          if (r.id !== id) continue // a reply that came after its caller timed out
          if (r.error != null) {
            if (r.error.notFound === true) throw new NotFoundError(r.error.message)
            const code = (r.error.code != null && KNOWN_CODES.has(r.error.code) ? r.error.code : ErrorCode.IO) as ErrorCodeValue
            throw new TenpakError(code, r.error.message)
          }
          return r.bytes as Uint8Array
        }
        const left = deadline - Date.now()
        if (left <= 0 || dead != null) throw new TenpakError(ErrorCode.IO, `reading ${key} from S3 timed out after ${timeoutMs} ms`)
        Atomics.wait(flag, 0, 0, left)
        Atomics.store(flag, 0, 0)
      }
    },
    async close () {
      port1.close()
      await worker.terminate()
    }
  }
}
