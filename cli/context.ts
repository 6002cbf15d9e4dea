/**
 * What every CLI command shares: opening the store named by --store or
 * $TENPAK_HOME, printing (text or --json), progress bars on a TTY, and
 * turning errors into one line and an exit code.
 */
import fs from 'node:fs'
import { createRepo, defaultStoreDir, type Repo } from '../src/repo/repo.js'
import { TenpakError } from '../src/errors.js'
import type { ProgressEvent } from '../src/util/options.js'
import cliProgress from 'cli-progress'

/** Options every command accepts. */
export interface GlobalOptions {
  store?: string
  json?: boolean
}

/** Open the store for a command; the caller closes it. */
export async function openStore (opts: GlobalOptions): Promise<Repo> {
  // TENPAK_PACK_TARGET (bytes) lets tests and benchmarks force small packs
  const packTarget = process.env.TENPAK_PACK_TARGET != null ? Number(process.env.TENPAK_PACK_TARGET) : undefined
  return await createRepo({ dir: opts.store ?? defaultStoreDir(), packTarget })
}

/** Run `fn` with the store open, closing it afterwards whatever happens. */
export async function withStore<T> (opts: GlobalOptions, fn: (repo: Repo) => Promise<T>): Promise<T> {
  const repo = await openStore(opts)
  try {
    return await fn(repo)
  } finally {
    await repo.close()
  }
}

/**
 * Run `fn` with the store open when it exists, else without one: commands
 * whose sources may be plain paths or Hugging Face cache entries (delta,
 * delta-dataset) must not create an empty store as a side effect.
 */
export async function withOptionalStore<T> (opts: GlobalOptions, fn: (o: { store?: Repo }) => Promise<T>): Promise<T> {
  const dir = opts.store ?? defaultStoreDir()
  let store: Repo | undefined
  if (fs.existsSync(dir)) store = await openStore(opts)
  try {
    return await fn({ store })
  } finally {
    await store?.close()
  }
}

/** Print a result as JSON (with --json) or through `text`. */
export function output (opts: GlobalOptions, value: unknown, text: () => string): void {
  if (opts.json === true) process.stdout.write(JSON.stringify(value, null, 2) + '\n')
  else {
    const t = text()
    if (t !== '') process.stdout.write(t.endsWith('\n') ? t : t + '\n')
  }
}

/** A progress callback drawing a bar on stderr when it is a TTY, nothing otherwise. */
export function progressBar (total: number, label: string): { onProgress?: (e: ProgressEvent) => void, stop: () => void } {
  if (process.stderr.isTTY !== true || total <= 0) return { stop: () => {} }
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} MiB | {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true
  }, cliProgress.Presets.shades_classic)
  const mib = (n: number): number => Math.round(n / 1048576 * 10) / 10
  let done = 0
  bar.start(mib(total), 0)
  return {
    onProgress: (e) => {
      if (e.bytes != null) { done += e.bytes; bar.update(mib(done)) }
    },
    stop: () => { bar.stop() }
  }
}

/** Exit codes. */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, BAD: 3 } as const

/** Print an error as one line and return the exit code. */
export function reportError (err: unknown): number {
  if (err instanceof TenpakError) {
    process.stderr.write(`tenpak: ${err.code}: ${err.message}\n`)
    return EXIT.ERROR
  }
  const e = err as { code?: string, message?: string }
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) return EXIT.USAGE
  process.stderr.write(`tenpak: ERR_INTERNAL: ${e?.message ?? String(err)}\n`)
  if (process.env.TENPAK_DEBUG != null) console.error(err)
  return EXIT.ERROR
}

/** Human-readable bytes. */
export function fmtBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let u = 0
  let v = n
  while (Math.abs(v) >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`
}
