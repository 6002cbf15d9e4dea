/**
 * Errors: every failure tenpak reports carries a stable `code` that callers,
 * the CLI (one line + non-zero exit) and the HTTP server (status + X-Error-Code)
 * map without parsing messages.
 */

/** Stable error codes. Tests and clients match on these, never on messages. */
export const ErrorCode = {
  NOT_FOUND: 'ERR_NOT_FOUND',
  REPO_NOT_FOUND: 'ERR_REPO_NOT_FOUND',
  REVISION_NOT_FOUND: 'ERR_REVISION_NOT_FOUND',
  ENTRY_NOT_FOUND: 'ERR_ENTRY_NOT_FOUND',
  PATH_NOT_FOUND: 'ERR_PATH_NOT_FOUND',
  BAD_SAFETENSORS: 'ERR_BAD_SAFETENSORS',
  BAD_FORMAT: 'ERR_BAD_FORMAT',
  BAD_ARGUMENT: 'ERR_BAD_ARGUMENT',
  BAD_REPO_NAME: 'ERR_BAD_REPO_NAME',
  BAD_RANGE: 'ERR_BAD_RANGE',
  BAD_PACK: 'ERR_BAD_PACK',
  HASH_MISMATCH: 'ERR_HASH_MISMATCH',
  CODEC: 'ERR_CODEC',
  DISK_FULL: 'ERR_DISK_FULL',
  IO: 'ERR_IO',
  REF_CONFLICT: 'ERR_REF_CONFLICT',
  STORE_LOCKED: 'ERR_STORE_LOCKED',
  CORRUPT: 'ERR_CORRUPT',
  ABORTED: 'ERR_ABORTED',
  UNSUPPORTED: 'ERR_UNSUPPORTED',
  BASE_MISMATCH: 'ERR_BASE_MISMATCH',
  NO_PRESET_FITS: 'ERR_NO_PRESET_FITS'
} as const

/** One of the values of {@link ErrorCode}. */
export type ErrorCodeValue = typeof ErrorCode[keyof typeof ErrorCode]

/** Base class of every error tenpak throws on purpose. */
export class TenpakError extends Error {
  readonly code: ErrorCodeValue

  constructor (code: ErrorCodeValue, message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'TenpakError'
    this.code = code
  }
}

/** A repo, revision, path, block or pack that does not exist. */
export class NotFoundError extends TenpakError {
  constructor (message: string, code: ErrorCodeValue = ErrorCode.NOT_FOUND, options: { cause?: unknown } = {}) {
    super(code, message, options)
    this.name = 'NotFoundError'
  }
}

/** Input that tenpak refuses: a malformed file, argument, name or range. */
export class BadInputError extends TenpakError {
  constructor (code: ErrorCodeValue, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options)
    this.name = 'BadInputError'
  }
}

/** Stored data that does not match its address: never returned to a caller. */
export class IntegrityError extends TenpakError {
  constructor (message: string, code: ErrorCodeValue = ErrorCode.HASH_MISMATCH, options: { cause?: unknown } = {}) {
    super(code, message, options)
    this.name = 'IntegrityError'
  }
}

/** True when `err` is a TenpakError carrying `code`. */
export function isTenpakError (err: unknown, code?: ErrorCodeValue): err is TenpakError {
  return err instanceof TenpakError && (code == null || err.code === code)
}

/**
 * Map a Node.js system error (ENOSPC, ENOENT, EACCES …) to a TenpakError so the
 * CLI and server can report it with a stable code. Other errors pass through.
 */
export function fromSystemError (err: unknown, what: string): unknown {
  const e = err as NodeJS.ErrnoException
  if (e == null || typeof e !== 'object' || typeof e.code !== 'string' || err instanceof TenpakError) return err
  switch (e.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new TenpakError(ErrorCode.DISK_FULL, `no space left on device while ${what}`, { cause: err })
    case 'ENOENT':
      return new NotFoundError(`${what}: no such file or directory`, ErrorCode.PATH_NOT_FOUND, { cause: err })
    case 'EACCES':
    case 'EPERM':
      return new TenpakError(ErrorCode.IO, `${what}: permission denied`, { cause: err })
    default:
      return new TenpakError(ErrorCode.IO, `${what}: ${e.message}`, { cause: err })
  }
}
