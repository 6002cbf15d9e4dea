/**
 * Structured logs: one JSON object per line (time, level, msg, fields), to a
 * stream the caller picks (stderr for `tenpak serve`).
 */
import type { Writable } from 'node:stream'

/** Log levels. */
export const LogLevel = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const
/** One of {@link LogLevel}'s values. */
export type LogLevelValue = typeof LogLevel[keyof typeof LogLevel]

/** A structured logger. */
export interface Logger {
  log: (level: LogLevelValue, msg: string, fields?: Record<string, unknown>) => void
  info: (msg: string, fields?: Record<string, unknown>) => void
  warn: (msg: string, fields?: Record<string, unknown>) => void
  error: (msg: string, fields?: Record<string, unknown>) => void
}

/** A logger writing JSON lines to `out`. */
export function createJsonLogger (out: Pick<Writable, 'write'>): Logger {
  const log = (level: LogLevelValue, msg: string, fields: Record<string, unknown> = {}): void => {
    let line: string
    try {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })
    } catch {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg, note: 'fields not serialisable' })
    }
    out.write(line + '\n')
  }
  return {
    log,
    info: (m, f) => { log(LogLevel.INFO, m, f) },
    warn: (m, f) => { log(LogLevel.WARN, m, f) },
    error: (m, f) => { log(LogLevel.ERROR, m, f) }
  }
}

/** Describe an error for a log line: code and message, stack only for unexpected errors. */
export function errorFields (err: unknown): Record<string, unknown> {
  if (err == null) return {}
  const e = err as { code?: unknown, message?: unknown, stack?: unknown, name?: unknown }
  const out: Record<string, unknown> = { err: String(e.message ?? err) }
  if (typeof e.code === 'string') out.code = e.code
  if (e.name !== 'TenpakError' && e.name !== 'NotFoundError' && e.name !== 'BadInputError' && e.name !== 'IntegrityError' && e.name !== 'HttpError' && typeof e.stack === 'string') out.stack = e.stack
  return out
}
