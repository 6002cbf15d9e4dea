#!/usr/bin/env node
/**
 * End-to-end fine-tune delta throughput at model scale (issue 3, Must show 3's
 * speed goal, measured on the whole pipeline rather than the codecs alone):
 * a generated BF16 safetensors "base" (scripts/gen-safetensors.mjs, a
 * Llama-like layout of N(0, 0.02) weights) and its "fine-tune" (every value
 * + N(0, drift·|v|)), then, in one run and side by side:
 *   - `tenpak add models/bench/ft FT --base models/bench/base` (the CLI, a real
 *     process: read, hash, chunk, pair, encode in the worker pool, pack, index);
 *   - `tenpak delta compress BASE FT --output DIR` (files in: the base's own
 *     ingest into a temporary store is included);
 *   - `zstd -3 --long=31 -T1 --patch-from=BASE FT` (and `-19` with --zstd19);
 *   - `b3sum FT`, a floor: reading and hashing the file once.
 * Prints bytes and MB/s (wall clock, of fine-tune bytes) and CPU seconds.
 * Generated data: claim sizes only on the real corpus (scripts/bench/delta);
 * this measures throughput and memory. Nothing is gated on it.
 *
 * Usage: node scripts/bench/finetune-scale.mjs [--size 512MiB] [--drift 0.01] [--zstd19] [--keep DIR]
 * Needs `npm run build` (runs bin/tenpak.js).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('../..', import.meta.url))
const { values: opt } = parseArgs({ options: { size: { type: 'string', default: '512MiB' }, drift: { type: 'string', default: '0.01' }, zstd19: { type: 'boolean' }, keep: { type: 'string' } } })
const tenpak = join(root, 'bin', 'tenpak.js')
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) { console.error('run `npm run build` first'); process.exit(2) }
const haveTime = existsSync('/usr/bin/time')
const have = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error == null

const dir = opt.keep != null ? resolve(opt.keep) : mkdtempSync(join(tmpdir(), 'tenpak-ft-scale-'))
mkdirSync(dir, { recursive: true })
if (opt.keep == null) process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
const base = join(dir, 'base.safetensors')
const ft = join(dir, 'ft.safetensors')
const gen = (out, extra) => {
  if (existsSync(out)) return
  const r = spawnSync(process.execPath, [join(root, 'scripts/gen-safetensors.mjs'), '--size', opt.size, '--dtype', 'bf16', '--out', out, ...extra], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) process.exit(1)
}
gen(base, [])
gen(ft, ['--finetune-drift', opt.drift])
const bytes = statSync(ft).size

/** Run a command; wall seconds, CPU seconds and max RSS (from /usr/bin/time when present). */
function run (cmd, args, env = {}) {
  const t0 = performance.now()
  const r = haveTime
    ? spawnSync('/usr/bin/time', ['-f', '%U %S %M', cmd, ...args], { env: { ...process.env, ...env }, maxBuffer: 1 << 30 })
    : spawnSync(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 1 << 30 })
  const wall = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.toString().slice(-500)}`)
  let cpu = NaN
  let rss = NaN
  if (haveTime) {
    const last = r.stderr.toString().trim().split('\n').pop().split(' ').map(Number)
    cpu = last[0] + last[1]
    rss = last[2] / 1024
  }
  return { wall, cpu, rss, stdout: r.stdout }
}

const rows = []
const home = join(dir, 'store')
rmSync(home, { recursive: true, force: true })
const env = { TENPAK_HOME: home }
const b = run(process.execPath, [tenpak, 'add', 'models/bench/base', base, '--json'], env)
rows.push(['tenpak add (the base, context)', JSON.parse(b.stdout).newStoredBytes, statSync(base).size, b])
const a = run(process.execPath, [tenpak, 'add', 'models/bench/ft', ft, '--base', 'models/bench/base', '--json'], env)
rows.push(['tenpak add --base (the fine-tune)', JSON.parse(a.stdout).newStoredBytes, bytes, a])
const out = join(dir, 'bundle')
rmSync(out, { recursive: true, force: true })
const c = run(process.execPath, [tenpak, 'delta', 'compress', base, ft, '--output', out], { TENPAK_HOME: join(dir, 'store-unused') })
rows.push(['tenpak delta compress (files in)', readdirSync(out).reduce((s, f) => s + statSync(join(out, f)).size, 0), bytes, c])
if (have('zstd')) {
  const z3 = run('zstd', ['-q', '-c', '-3', '--long=31', '-T1', `--patch-from=${base}`, ft])
  rows.push(['zstd -3 --long=31 -T1 --patch-from', z3.stdout.length, bytes, z3])
  if (opt.zstd19) {
    const z19 = run('zstd', ['-q', '-c', '-19', '--long=31', '-T1', `--patch-from=${base}`, ft])
    rows.push(['zstd -19 --long=31 -T1 --patch-from', z19.stdout.length, bytes, z19])
  }
} else console.log('*** SKIPPED: zstd not found ***')
if (have('b3sum')) rows.push(['b3sum (read + hash once, a floor)', NaN, bytes, run('b3sum', ['--num-threads', '1', ft])])
else console.log('*** SKIPPED: b3sum not found ***')

const fmt = (n) => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'
console.log(`generated BF16 base and fine-tune (drift ${opt.drift}), ${fmt(bytes)} bytes each; ${availableParallelism()} cores`)
console.log('| method | output bytes | MB/s (wall, of the input) | CPU s | max RSS MiB |')
console.log('|---|---:|---:|---:|---:|')
for (const [name, size, n, r] of rows) console.log(`| ${name} | ${fmt(size)} | ${(n / 1e6 / r.wall).toFixed(1)} | ${Number.isFinite(r.cpu) ? r.cpu.toFixed(1) : '–'} | ${fmt(r.rss)} |`)
