/**
 * `tenpak serve` configuration: defaults, then a JSON config file, then the
 * environment, then command-line flags (later wins; write tokens from every
 * source are combined). Validated here so the server starts only with a
 * sane configuration. The file format is in docs/deploy.md.
 */
import fs from 'node:fs'
import { defaultStoreDir } from '../src/repo/repo.js'
import { BadInputError, ErrorCode } from '../src/errors.js'
import { DEFAULT_CHUNK_CACHE_BYTES } from '../src/http/chunk-source.js'

/** The resolved configuration of the daemon. */
export interface ServeConfig {
  host: string
  port: number
  store: string
  /** bearer tokens allowed to write; empty: writes disabled */
  writeTokens: string[]
  /** decoded-chunk cache budget, bytes */
  cacheBytes: number
  /** absolute URL clients reach this server at (Link headers); default from Host */
  publicUrl?: string
  /** how long in-flight responses may take to finish at shutdown, ms */
  shutdownGraceMs: number
  /** log every request (true) or only errors and lifecycle (false) */
  logRequests: boolean
}

/** Flags as the CLI parses them (all optional). */
export interface ServeFlags {
  host?: string
  port?: string | number
  store?: string
  config?: string
  writeToken?: string[]
  cache?: string
  publicUrl?: string
  quiet?: boolean
}

/** Defaults. */
export const DEFAULTS = { host: '127.0.0.1', port: 7070, cacheBytes: DEFAULT_CHUNK_CACHE_BYTES, shutdownGraceMs: 10000 } as const

/** Parse `64MiB`, `1GiB`, `1e9` or a plain byte count. */
export function parseSize (s: string | number): number {
  if (typeof s === 'number') return s
  const m = /^\s*([\d.e+]+)\s*([KMGT]i?B?|B)?\s*$/i.exec(s)
  const n = m == null ? NaN : Number(m[1])
  if (m == null || !Number.isFinite(n) || n < 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid size ${JSON.stringify(s)}`)
  const unit = (m[2] ?? '').toUpperCase()[0]
  const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : unit === 'T' ? 1024 ** 4 : 1
  return Math.floor(n * mult)
}

/** Build the configuration from a file, the environment and flags. */
export function loadConfig (flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  let file: Record<string, unknown> = {}
  if (flags.config != null) {
    let text: string
    try { text = fs.readFileSync(flags.config, 'utf8') } catch (err) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `cannot read config file ${flags.config}: ${(err as Error).message}`)
    }
    try { file = JSON.parse(text) } catch (err) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `config file ${flags.config} is not JSON: ${(err as Error).message}`)
    }
    if (typeof file !== 'object' || file == null || Array.isArray(file)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `config file ${flags.config} must hold a JSON object`)
    const known = new Set(['host', 'port', 'store', 'writeTokens', 'cache', 'publicUrl', 'shutdownGraceMs', 'logRequests'])
    for (const k of Object.keys(file)) if (!known.has(k)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown key ${JSON.stringify(k)} in ${flags.config}`)
  }
  const str = (v: unknown, what: string): string | undefined => {
    if (v == null) return undefined
    if (typeof v !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${what} must be a string`)
    return v
  }
  const tokens: string[] = []
  if (file.writeTokens != null) {
    if (!Array.isArray(file.writeTokens) || file.writeTokens.some(t => typeof t !== 'string')) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'writeTokens must be a list of strings')
    tokens.push(...file.writeTokens as string[])
  }
  if (env.TENPAK_WRITE_TOKENS != null) tokens.push(...env.TENPAK_WRITE_TOKENS.split(',').map(t => t.trim()))
  tokens.push(...(flags.writeToken ?? []))
  const writeTokens = [...new Set(tokens.filter(t => t !== ''))]
  for (const t of writeTokens) {
    if (t.length < 16 || !/^[\x21-\x7e]+$/.test(t)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'write tokens must be at least 16 printable ASCII characters without spaces')
  }

  const portRaw = flags.port ?? file.port ?? env.TENPAK_PORT ?? DEFAULTS.port
  const port = Number(portRaw)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid port ${JSON.stringify(portRaw)}`)
  const cacheRaw = flags.cache ?? file.cache ?? env.TENPAK_CACHE
  const publicUrl = flags.publicUrl ?? str(file.publicUrl, 'publicUrl') ?? env.TENPAK_PUBLIC_URL
  if (publicUrl != null && !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(publicUrl)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `publicUrl must be an http(s) URL, got ${JSON.stringify(publicUrl)}`)
  const grace = file.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs
  if (typeof grace !== 'number' || grace < 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'shutdownGraceMs must be a number')
  return {
    host: flags.host ?? str(file.host, 'host') ?? env.TENPAK_HOST ?? DEFAULTS.host,
    port,
    store: flags.store ?? str(file.store, 'store') ?? defaultStoreDir(env),
    writeTokens,
    cacheBytes: cacheRaw != null ? parseSize(cacheRaw as string | number) : DEFAULTS.cacheBytes,
    publicUrl,
    shutdownGraceMs: grace,
    logRequests: flags.quiet === true ? false : file.logRequests !== false
  }
}
