#!/usr/bin/env node
/**
 * Sync benchmark: push and pull over loopback HTTP between two stores, with
 * rsync of the same files as the side-by-side reference (same run, same disk).
 * Prints bytes sent ÷ bytes the receiver lacked (stored bytes of the objects
 * it did not have; goal ≤ 1.02) and push/pull MB/s of logical bytes.
 *
 *   npm run build && node scripts/bench/sync/run.mjs [--dir corpus-folder]
 *
 * Data: the peft checkpoints folder of the shared corpus (9 checkpoints), then
 * a second commit adding a fine-tune of checkpoint-0230 with 3 of 148 tensors
 * changed (noise in the low mantissa byte), as in test/sync.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const dist = (p) => path.join(root, 'dist', p)
const { createRepo } = await import(dist('src/repo/repo.js'))
const { startServer } = await import(dist('daemon/server.js'))
const { createJsonLogger } = await import(dist('daemon/logger.js'))
const { createHttpRemote } = await import(dist('src/sync/http-remote.js'))
const { push } = await import(dist('src/sync/push.js'))
const { pull } = await import(dist('src/sync/pull.js'))
const { localClosure } = await import(dist('src/sync/objects.js'))
const { parseRepoName } = await import(dist('src/repo/names.js'))

const args = process.argv.slice(2)
const srcDir = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : path.resolve(root, '../shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints')
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tenpak-bench-sync-'))
const T = 'bench-token'
const mb = (b, ms) => (b / 1e6 / (ms / 1000)).toFixed(1)
const now = () => performance.now()

function fineTune (from, to) {
  const bytes = Buffer.from(fs.readFileSync(from))
  const n = Number(bytes.readBigUInt64LE(0))
  const h = JSON.parse(bytes.subarray(8, 8 + n).toString())
  const ts = Object.entries(h).filter(([k]) => k !== '__metadata__').map(([, v]) => [8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]]).sort((a, b) => (b[1] - b[0]) - (a[1] - a[0]))
  let x = 0x9e3779b9
  for (const [s, e] of ts.slice(1, 4)) for (let o = s; o < e; o += 4) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; bytes[o] ^= x >>> 24 }
  fs.writeFileSync(to, bytes)
}

function dirBytes (d) { return fs.readdirSync(d).reduce((s, f) => s + fs.statSync(path.join(d, f)).size, 0) }

function rsync (from, to) {
  const t0 = now()
  const r = spawnSync('rsync', ['-a', '--no-whole-file', '--stats', from + '/', to + '/'])
  const ms = now() - t0
  const sent = Number(/Total bytes sent: ([\d,]+)/.exec(r.stdout.toString())?.[1].replace(/,/g, '') ?? NaN)
  return { ms, sent }
}

try {
  const v1 = path.join(work, 'v1')
  fs.cpSync(srcDir, v1, { recursive: true })
  for (const f of fs.readdirSync(v1)) if (!f.endsWith('.safetensors')) fs.rmSync(path.join(v1, f))
  const v2 = path.join(work, 'v2')
  fs.cpSync(v1, v2, { recursive: true })
  const first = fs.readdirSync(v1).sort()[0]
  fineTune(path.join(v1, first), path.join(v2, 'finetune.safetensors'))

  const a = await createRepo({ dir: path.join(work, 'a') })
  await a.add('bench/m', v1, { author: 'bench', time: 1 })
  const b = await createRepo({ dir: path.join(work, 'b') })
  const server = await startServer({ host: '127.0.0.1', port: 0, store: path.join(work, 'b'), writeTokens: [T], cacheBytes: 8 << 20, shutdownGraceMs: 1000, logRequests: false }, { logger: createJsonLogger(new Writable({ write (_c, _e, cb) { cb() } })), repo: b })
  const remote = createHttpRemote({ url: server.url, token: T })

  const lacked = async (repo) => {
    const head = await repo.refs.get(parseRepoName('bench/m'), 'heads', 'main')
    const all = localClosure(repo.blocks, [head])
    return all.filter(r => !b.blocks.has(r.cid)).reduce((s, r) => s + r.size, 0)
  }
  const rows = []
  for (const [label, dir] of [['initial', v1], ['fine-tune', v2]]) {
    if (dir === v2) await a.add('bench/m', v2, { author: 'bench', time: 2 })
    const need = await lacked(a)
    const t0 = now()
    const p = await push(a, remote, 'bench/m', 'main')
    const ms = now() - t0
    const logical = label === 'initial' ? dirBytes(v1) : fs.statSync(path.join(v2, 'finetune.safetensors')).size
    const rs = rsync(dir, path.join(work, 'rsync-dest'))
    rows.push({ step: `push ${label}`, logicalMB: (logical / 1e6).toFixed(1), lackedBytes: need, sentBytes: p.bytesSent, ratio: (p.bytesSent / Math.max(1, need)).toFixed(4), ms: Math.round(ms), MBps: mb(dirBytes(dir), ms), rsyncSent: rs.sent, rsyncMs: Math.round(rs.ms), rsyncMBps: mb(dirBytes(dir), rs.ms) })
  }
  const c = await createRepo({ dir: path.join(work, 'c') })
  const t0 = now()
  const pl = await pull(c, remote, 'bench/m', 'main')
  const ms = now() - t0
  const rs = rsync(v2, path.join(work, 'rsync-pull'))
  rows.push({ step: 'pull (fresh store)', logicalMB: (dirBytes(v2) / 1e6).toFixed(1), lackedBytes: '', sentBytes: pl.bytesReceived, ratio: '', ms: Math.round(ms), MBps: mb(dirBytes(v2), ms), rsyncSent: rs.sent, rsyncMs: Math.round(rs.ms), rsyncMBps: mb(dirBytes(v2), rs.ms) })
  console.table(rows)
  console.log('ratio = bytes sent ÷ stored bytes the receiver lacked (pack headers and indexes are the overhead); MB/s over logical bytes; rsync -a --no-whole-file of the same folder (local, no ssh) as reference')
  await remote.close()
  await server.close()
  await a.close(); await c.close()
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
