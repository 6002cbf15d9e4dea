/**
 * Test helpers for the HTTP layer: a temp store loaded with corpus repos and
 * a real server on 127.0.0.1 (closed at teardown), plus small fetch helpers.
 */
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'
import { startServer, type RunningServer } from '../../daemon/server.js'
import { createJsonLogger } from '../../daemon/logger.js'
import type { ServeConfig } from '../../daemon/config.js'
import type { Repo } from '../../src/repo/repo.js'

interface Host { teardown: (fn: () => void | Promise<void>) => void }

/** Corpus folders loaded by {@link corpusServer}, as repo name → corpus folder. */
export const CORPUS_REPOS: Record<string, string> = {
  'models/corpus/peft': 'models/peft-finegates-roberta-mrpc-checkpoints',
  'models/corpus/fixtures': 'models/safetensors-format-fixtures',
  'datasets/corpus/wordlists': 'datasets/debian-wordlists',
  'datasets/corpus/gsm8k': 'datasets/gsm8k-test-socratic'
}

/** Absolute path of a corpus folder. */
export const corpusFolder = (rel: string): string => join(corpusDir, rel)

/** A server over a fresh store holding `repos` (default: all of CORPUS_REPOS). */
export async function corpusServer (t: Host, opts: { repos?: string[], config?: Partial<ServeConfig>, packTarget?: number } = {}): Promise<{ server: RunningServer, repo: Repo, url: string, logs: string[] }> {
  const { repo, dir } = await freshRepo(t, { packTarget: opts.packTarget ?? (2 << 20) })
  for (const name of opts.repos ?? Object.keys(CORPUS_REPOS)) {
    await repo.add(name, corpusFolder(CORPUS_REPOS[name]), { time: 1_700_000_000_000, author: 'test' })
  }
  const logs: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { logs.push(String(chunk)); cb() } })
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    store: join(dir, 'store'),
    writeTokens: [],
    cacheBytes: 8 << 20,
    shutdownGraceMs: 2000,
    logRequests: true,
    ...opts.config
  }, { logger: createJsonLogger(sink), repo })
  t.teardown(async () => { await server.close('test end') })
  return { server, repo, url: server.url, logs }
}

/** sha256 hex. */
export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** GET (or another method) and read the whole body. */
export async function get (url: string, init: RequestInit = {}): Promise<{ status: number, headers: Headers, body: Buffer }> {
  const r = await fetch(url, init)
  const body = Buffer.from(await r.arrayBuffer())
  return { status: r.status, headers: r.headers, body }
}

/**
 * Two successive training checkpoints of the corpus, added as
 * `models/corpus/ckpt-base` and `models/corpus/ckpt-tuned` (the second stored
 * as deltas of the first), each holding `adapter_model.safetensors`.
 */
export async function addDeltaPair (t: Host, repo: Repo): Promise<{ file: string, tuned: Buffer, deltaLogicalBytes: number }> {
  const { mkdtempSync, copyFileSync, rmSync, readFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const src = corpusFolder(CORPUS_REPOS['models/corpus/peft'])
  const file = 'adapter_model.safetensors'
  const a = mkdtempSync(join(tmpdir(), 'tenpak-ckpt-a-'))
  const b = mkdtempSync(join(tmpdir(), 'tenpak-ckpt-b-'))
  t.teardown(() => { rmSync(a, { recursive: true, force: true }); rmSync(b, { recursive: true, force: true }) })
  copyFileSync(join(src, 'checkpoint-2070.adapter_model.safetensors'), join(a, file))
  copyFileSync(join(src, 'checkpoint-2300.adapter_model.safetensors'), join(b, file))
  await repo.add('models/corpus/ckpt-base', a)
  const r = await repo.add('models/corpus/ckpt-tuned', b, { base: 'models/corpus/ckpt-base' } as never) as { deltaLogicalBytes?: number }
  return { file, tuned: readFileSync(join(b, file)), deltaLogicalBytes: r.deltaLogicalBytes ?? 0 }
}
