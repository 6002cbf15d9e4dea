/**
 * Sync test helpers: stores served on 127.0.0.1 by the real daemon, a base
 * model from the corpus and a fine-tune of it that shares most tensors.
 */
import { mkdirSync, readFileSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { corpusPath } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'
import { startServer, type RunningServer } from '../../daemon/server.js'
import { createJsonLogger } from '../../daemon/logger.js'
import type { Repo } from '../../src/repo/repo.js'

interface Host { teardown: (fn: () => void | Promise<void>) => void }

export const BASE_FILE = corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors')
export const TOKEN = 'sync-test-token'

/** A fresh store served over HTTP by the real daemon; `requests()` lists the logged requests (method, url, status). */
export async function servedStore (t: Host, opts: { writeTokens?: string[] } = {}): Promise<{ server: RunningServer, repo: Repo, url: string, storeDir: string, requests: () => Array<{ method: string, url: string, status: number }> }> {
  const { repo, dir } = await freshRepo(t)
  const lines: string[] = []
  const sink = new Writable({ write (c, _e, cb) { lines.push(String(c)); cb() } })
  const server = await startServer({ host: '127.0.0.1', port: 0, store: join(dir, 'store'), writeTokens: opts.writeTokens ?? [TOKEN], cacheBytes: 8 << 20, shutdownGraceMs: 2000, logRequests: true }, { logger: createJsonLogger(sink), repo })
  t.teardown(async () => { await server.close('test end') })
  const requests = (): Array<{ method: string, url: string, status: number }> => lines.join('').split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l) as { msg: string, method: string, url: string, status: number }).filter(l => l.method != null)
  return { server, repo, url: server.url, storeDir: join(dir, 'store'), requests }
}

/** Parse a safetensors header: tensor name → absolute [start, end) in the file. */
export function tensorRanges (bytes: Buffer): Array<{ name: string, start: number, end: number }> {
  const n = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number] }>
  return Object.entries(header).filter(([k, v]) => k !== '__metadata__' && v.data_offsets != null)
    .map(([name, v]) => ({ name, start: 8 + n + (v.data_offsets as [number, number])[0], end: 8 + n + (v.data_offsets as [number, number])[1] }))
    .sort((a, b) => a.start - b.start)
}

/**
 * A fine-tune of the base file that changes `k` tensors only (every value of
 * each nudged by noise in its low mantissa byte). A different real checkpoint would
 * not do for the "< 5% sent" check: its values all differ, so even a
 * lossless delta of it is ~75% of its size.
 */
export function fineTune (dir: string, k = 3): { dir: string, file: string, changed: string[], size: number } {
  const bytes = Buffer.from(readFileSync(BASE_FILE))
  const tensors = tensorRanges(bytes)
  // the largest tensors after the 2.3 MB classifier head (12 KiB LoRA matrices)
  const bySize = [...tensors].sort((a, b) => (b.end - b.start) - (a.end - a.start))
  const pick = bySize.slice(1, 1 + k)
  let x = 0x9e3779b9
  // pseudo-random noise in the low mantissa byte of every f32 value: a real, incompressible change
  for (const t of pick) for (let o = t.start; o < t.end; o += 4) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; bytes[o] ^= x >>> 24 }
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'adapter_model.safetensors')
  writeFileSync(file, bytes)
  return { dir, file, changed: pick.map(t => t.name), size: bytes.length }
}

/** The base file in its own folder (same file name as the fine-tune). */
export function baseModel (dir: string): { dir: string, file: string, size: number } {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'adapter_model.safetensors')
  const b = readFileSync(BASE_FILE)
  writeFileSync(file, b)
  return { dir, file, size: b.length }
}

/** Pack objects of a store directory. */
export function packFiles (storeDir: string): string[] {
  const out: string[] = []
  let subs: string[] = []
  try { subs = readdirSync(join(storeDir, 'packs')) } catch { return out }
  for (const s of subs) for (const f of readdirSync(join(storeDir, 'packs', s))) if (f.endsWith('.pack')) out.push(f)
  return out.sort()
}
