/**
 * Test helper: a fresh store in a temp dir (removed at teardown), and a way to
 * run the real CLI (bin/tenpak.js over dist/, built by `npm test`).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { createRepo, type Repo } from '../../src/repo/repo.js'
import { projectRoot } from './corpus.js'
import type { ChunkParams } from '../../src/chunk/types.js'

/** The CLI entry point. */
export const tenpakBin = join(projectRoot, 'bin', 'tenpak.js')

interface TeardownHost { teardown: (fn: () => void | Promise<void>) => void }

/** A temp directory removed when the test ends. */
export function tempDir (t: TeardownHost, prefix = 'tenpak-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** The pack files of a local store directory (`packs/<2 hex>/<id>.pack`). */
export function packFiles (store: string): string[] {
  const root = join(store, 'packs')
  return readdirSync(root).flatMap(d => readdirSync(join(root, d)).filter(f => f.endsWith('.pack')).map(f => join(root, d, f)))
}

/** Open a repo over a fresh store dir; closed and removed at teardown. */
export async function freshRepo (t: TeardownHost, opts: { packTarget?: number, chunkParams?: ChunkParams, autoRepack?: boolean } = {}): Promise<{ repo: Repo, dir: string }> {
  const dir = tempDir(t)
  const repo = await createRepo({ dir: join(dir, 'store'), packTarget: opts.packTarget, chunkParams: opts.chunkParams, autoRepack: opts.autoRepack })
  let closed = false
  const close = repo.close.bind(repo)
  repo.close = async () => { if (!closed) { closed = true; await close() } }
  t.teardown(async () => { await repo.close() })
  return { repo, dir }
}

/** Run the CLI synchronously. */
export function runCli (args: string[], opts: { store?: string, env?: NodeJS.ProcessEnv, input?: Uint8Array } = {}): SpawnSyncReturns<Buffer> {
  const full = opts.store != null ? ['--store', opts.store, ...args] : args
  return spawnSync(process.execPath, [tenpakBin, ...full], { env: { ...process.env, ...opts.env }, input: opts.input, maxBuffer: 1 << 30 })
}

/** Start the CLI as a child process (for kill tests). */
export function spawnCli (args: string[], opts: { store?: string, env?: NodeJS.ProcessEnv } = {}): ReturnType<typeof spawn> {
  const full = opts.store != null ? ['--store', opts.store, ...args] : args
  return spawn(process.execPath, [tenpakBin, ...full], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
}
