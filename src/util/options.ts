/**
 * Options every I/O call accepts, after helia's AbortOptions & ProgressOptions.
 */

/** Cancellation for any I/O call. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** A progress event: `type` names the phase, `bytes`/`total` measure it. */
export interface ProgressEvent {
  type: string
  bytes?: number
  total?: number
  detail?: unknown
}

/** Progress reporting for long calls. */
export interface ProgressOptions {
  onProgress?: (event: ProgressEvent) => void
}

/** Throw ERR_ABORTED if the signal fired. */
export function throwIfAborted (options: AbortOptions = {}): void {
  if (options.signal?.aborted === true) {
    options.signal.throwIfAborted()
  }
}
