/**
 * Pull-based adapter: run {@link quantizeModel} as an `AsyncIterable` of
 * output bytes, for callers that store a stream (e.g. a repo `add`) rather
 * than push to a sink. At most one chunk waits between producer and
 * consumer, so memory stays bounded by one tensor.
 */

import { ErrorCode, TenpakError } from '../../errors.js'
import { quantizeModel, type QuantizeModelOptions, type QuantizeReport } from './quantize-model.js'

/** Output bytes of a quantization run and its report (settles after the last chunk). */
export interface QuantizeStream {
  bytes: AsyncIterable<Uint8Array>
  report: Promise<QuantizeReport>
}

/**
 * Start a quantization whose output is read from `bytes`. Nothing is read
 * from the source until `bytes` is iterated; stopping the iteration early
 * aborts the run (the report then rejects with ERR_ABORTED).
 */
export function quantizeModelToStream (options: Omit<QuantizeModelOptions, 'sink'>): QuantizeStream {
  const queue: Uint8Array[] = []
  let wakeConsumer: (() => void) | null = null
  let wakeProducer: (() => void) | null = null
  let started: (() => void) | null = null
  const start = new Promise<void>(resolve => { started = resolve })
  let finished = false
  let failure: unknown
  let cancelled = false

  const sink = async (chunk: Uint8Array): Promise<void> => {
    if (cancelled) throw new TenpakError(ErrorCode.ABORTED, 'quantization output stream closed by its reader')
    queue.push(chunk)
    wakeConsumer?.()
    wakeConsumer = null
    await new Promise<void>(resolve => { wakeProducer = resolve })
    if (cancelled) throw new TenpakError(ErrorCode.ABORTED, 'quantization output stream closed by its reader')
  }

  const report = start.then(async () => await quantizeModel({ ...options, sink })).then(r => {
    finished = true
    wakeConsumer?.()
    return r
  }, (err: unknown) => {
    failure = err
    finished = true
    wakeConsumer?.()
    throw err
  })
  report.catch(() => {}) // the error also surfaces through `bytes`

  async function * bytes (): AsyncGenerator<Uint8Array> {
    started?.()
    try {
      for (;;) {
        const chunk = queue.shift()
        if (chunk !== undefined) {
          const p = wakeProducer
          wakeProducer = null
          p?.()
          yield chunk
          continue
        }
        if (finished) {
          if (failure !== undefined) throw failure
          return
        }
        await new Promise<void>(resolve => { wakeConsumer = resolve })
      }
    } finally {
      if (!finished) {
        cancelled = true
        const p = wakeProducer
        wakeProducer = null
        p?.()
      }
    }
  }

  return { bytes: bytes(), report }
}
