/**
 * One place that turns errors into HTTP answers: a TenpakError's stable code
 * picks the status and the Hub's `X-Error-Code` (RepoNotFound,
 * RevisionNotFound, EntryNotFound …), which Hub clients switch on; the body
 * is JSON `{ error, code }`. Anything that is not a TenpakError is a 500
 * whose message is not echoed to the client.
 */
import { TenpakError, ErrorCode } from '../errors.js'
import type { HttpResponse } from './types.js'

/** An error raised by the HTTP layer itself (bad request line, auth, method). */
export class HttpError extends Error {
  readonly status: number
  readonly hubCode: string
  readonly headers: Record<string, string>

  constructor (status: number, hubCode: string, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.hubCode = hubCode
    this.headers = headers
  }
}

/** Status and Hub error code for each TenpakError code. */
export const ERROR_STATUS: Readonly<Record<string, { status: number, hubCode: string }>> = Object.freeze({
  [ErrorCode.REPO_NOT_FOUND]: { status: 404, hubCode: 'RepoNotFound' },
  [ErrorCode.REVISION_NOT_FOUND]: { status: 404, hubCode: 'RevisionNotFound' },
  [ErrorCode.ENTRY_NOT_FOUND]: { status: 404, hubCode: 'EntryNotFound' },
  [ErrorCode.PATH_NOT_FOUND]: { status: 404, hubCode: 'EntryNotFound' },
  [ErrorCode.NOT_FOUND]: { status: 404, hubCode: 'NotFound' },
  [ErrorCode.BAD_SAFETENSORS]: { status: 400, hubCode: 'BadRequest' },
  [ErrorCode.BAD_FORMAT]: { status: 400, hubCode: 'BadRequest' },
  [ErrorCode.BAD_ARGUMENT]: { status: 400, hubCode: 'BadRequest' },
  [ErrorCode.BAD_REPO_NAME]: { status: 400, hubCode: 'BadRequest' },
  [ErrorCode.BAD_RANGE]: { status: 416, hubCode: 'RangeNotSatisfiable' },
  [ErrorCode.BAD_PACK]: { status: 400, hubCode: 'BadRequest' },
  [ErrorCode.REF_CONFLICT]: { status: 409, hubCode: 'Conflict' },
  [ErrorCode.HASH_MISMATCH]: { status: 500, hubCode: 'IntegrityError' },
  [ErrorCode.CORRUPT]: { status: 500, hubCode: 'IntegrityError' },
  [ErrorCode.CODEC]: { status: 500, hubCode: 'IntegrityError' },
  [ErrorCode.DISK_FULL]: { status: 507, hubCode: 'InsufficientStorage' },
  [ErrorCode.IO]: { status: 500, hubCode: 'InternalError' },
  [ErrorCode.STORE_LOCKED]: { status: 503, hubCode: 'Unavailable' },
  [ErrorCode.ABORTED]: { status: 499, hubCode: 'ClientClosedRequest' },
  [ErrorCode.UNSUPPORTED]: { status: 501, hubCode: 'NotImplemented' }
})

/** A JSON error response. */
export function errorResponse (status: number, hubCode: string, message: string, extra: Record<string, string> = {}, code?: string): HttpResponse {
  const body = JSON.stringify({ error: message, code: code ?? hubCode })
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-error-code': hubCode,
      // header values must be latin-1 without control characters
      'x-error-message': message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200),
      ...extra
    },
    body,
    errorCode: code ?? hubCode
  }
}

/** Map any thrown value to a response (500 for unexpected errors, message withheld). */
export function responseForError (err: unknown): HttpResponse {
  if (err instanceof HttpError) return errorResponse(err.status, err.hubCode, err.message, err.headers)
  if (err instanceof TenpakError) {
    const m = ERROR_STATUS[err.code] ?? { status: 500, hubCode: 'InternalError' }
    // integrity failures are logged with detail but not described to clients
    const message = m.status >= 500 ? `internal error (${err.code})` : err.message
    return errorResponse(m.status, m.hubCode, message, {}, err.code)
  }
  return errorResponse(500, 'InternalError', 'internal error', {}, 'ERR_INTERNAL')
}
