/**
 * Worker thread of s3-sync-loader.ts: ranged GETs (with retries) for a
 * thread that waits on a shared flag. Each answer is posted on the port
 * first, then the flag is set and notified, so the waiter always finds it.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { createS3Backend, createS3Client, withRetry, type S3Location, type S3Settings } from './s3-backend.js'
import { NotFoundError } from '../errors.js'
import type { LoadReply } from './s3-sync-loader.js'

const data = workerData as { settings: S3Settings, location: S3Location, flag: Int32Array, port: MessagePort }
const backend = withRetry(createS3Backend(createS3Client(data.settings), data.location))

Atomics.store(data.flag, 1, 1)
Atomics.notify(data.flag, 1)

parentPort?.on('message', (m: { id: number, key: string, offset: number, length: number }) => {
  const reply = (r: LoadReply): void => {
    data.port.postMessage(r, r.bytes != null ? [r.bytes.buffer as ArrayBuffer] : [])
    Atomics.store(data.flag, 0, 1)
    Atomics.notify(data.flag, 0)
  }
  backend.load(m.key, { offset: m.offset, length: m.length }).then(
    (bytes) => {
      // a private copy: the transferred buffer must not be a pooled one
      const own = new Uint8Array(bytes.length)
      own.set(bytes)
      reply({ id: m.id, bytes: own })
    },
    (err: unknown) => {
      const e = err as { message?: string, code?: unknown }
      reply({ id: m.id, error: { message: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : undefined, notFound: err instanceof NotFoundError } })
    }
  )
})
