#!/usr/bin/env node
/**
 * Store-level delta benchmark: every corpus pair and series stored through
 * `repo.add` (the path users take: pairing, anchors, sketches, codecs, DAG
 * nodes, tensor tables, commits and pack overhead all counted), beside
 * `zstd -19 --long=27 --patch-from` (sequential for series, plus `zstd -19`
 * of the first version) and plain `zstd -19` of the derived file.
 * Series: the store's pack bytes after the last add (small packs merged as
 * add does it). Prints one table; sizes in bytes. Needs `npm run build` first (imports dist/).
 *
 * Usage: node scripts/bench/store-pairs.mjs [--only REGEX]
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('../..', import.meta.url))
const { createRepo } = await import(join(root, 'dist/src/repo/repo.js'))
const corpus = resolve(root, '../shared/corpus')
const { values } = parseArgs({ options: { only: { type: 'string' } } })
const only = values.only != null ? new RegExp(values.only) : undefined

const M = (d, f) => join(corpus, 'models', d, f)
const D = (d, f) => join(corpus, 'datasets', d, f)
const pose = (v) => M('mediapipe-pose_detection-series', `${v}.pose_detection.tflite`)
const pairs = [
  ['palm repack', M('mediapipe-palm_detection_full-repack', 'base.palm_detection_full.2021-11-03.tflite'), M('mediapipe-palm_detection_full-repack', 'derived.palm_detection_full.2023-09-22.tflite')],
  ['face fp32→fp16', M('mediapipe-face_landmark-fp32-to-fp16', 'base.face_landmark.2020-12-09.fp32.tflite'), M('mediapipe-face_landmark-fp32-to-fp16', 'derived.face_landmark.2021-10-06.fp16.tflite')],
  ['face retrain', M('mediapipe-face_landmark-retrain-2020', 'base.face_landmark.2020-04-13.fp32.tflite'), M('mediapipe-face_landmark-retrain-2020', 'derived.face_landmark.2020-12-09.fp32.tflite')],
  ['pose 2020-08→2020-12', pose('v2020-08-12'), pose('v2020-12-09')],
  ['pose 2020-12→2021-06', pose('v2020-12-09'), pose('v2021-06-24')],
  ['pose 2021-06→2021-11', pose('v2021-06-24'), pose('v2021-11-03')],
  ['pose 2021-11→2023-09 (repack)', pose('v2021-11-03'), pose('v2023-09-22')],
  ['wordlists american→british', D('debian-wordlists', 'american-english'), D('debian-wordlists', 'british-english')],
  ['wordlists large→british-large', D('debian-wordlists', 'american-english-large'), D('debian-wordlists', 'british-english-large')],
  ['flights 5k→10k', D('vega-flights-subsets', 'flights-5k.json'), D('vega-flights-subsets', 'flights-10k.json')],
  ['weather→seattle-weather', D('vega-flights-subsets', 'weather.csv'), D('vega-flights-subsets', 'seattle-weather.csv')],
  ['gsm8k test→socratic', D('gsm8k-test-socratic', 'test.jsonl'), D('gsm8k-test-socratic', 'test_socratic.jsonl')]
]
const peftDir = join(corpus, 'models', 'peft-finegates-roberta-mrpc-checkpoints')
const series = [
  ['peft 10 checkpoints', 'models/bench/peft', 'adapter_model.safetensors', readdirSync(peftDir).filter(f => f.endsWith('.safetensors')).sort().map(f => join(peftDir, f))],
  ['oil-prices 176 versions', 'datasets/bench/oil', 'brent-daily.csv', readdirSync(join(corpus, 'datasets', 'oil-prices-brent-daily-git-series')).filter(f => f.endsWith('.csv')).sort().map(f => D('oil-prices-brent-daily-git-series', f))],
  ['sp500 190 versions', 'datasets/bench/sp500', 'constituents.csv', readdirSync(join(corpus, 'datasets', 'sp500-constituents-git-series')).filter(f => f.endsWith('.csv')).sort().map(f => D('sp500-constituents-git-series', f))]
]

const zstd = (args) => { const r = spawnSync('zstd', ['-q', '-c', ...args], { maxBuffer: 1 << 30 }); return r.status === 0 ? r.stdout.length : NaN }
const patchFrom = (b, d) => zstd(['-19', '--long=27', `--patch-from=${b}`, d])
const fmt = (n) => Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a'
const rows = []

for (const [name, base, derived] of pairs) {
  if (only != null && !only.test(name)) continue
  const dir = mkdtempSync(join(tmpdir(), 'tenpak-bench-'))
  const repo = await createRepo({ dir: join(dir, 'store') })
  const repoName = base.includes('/models/') ? 'models/bench/x' : 'datasets/bench/x'
  await repo.add(repoName, base)
  const t0 = performance.now()
  const r = await repo.add(repoName, derived)
  const s = (performance.now() - t0) / 1000
  await repo.close()
  rmSync(dir, { recursive: true, force: true })
  const pf = patchFrom(base, derived)
  rows.push([name, statSync(derived).size, r.newStoredBytes, pf, zstd(['-19', derived]), (statSync(derived).size / 1e6 / s).toFixed(1)])
}
for (const [name, repoName, as, files] of series) {
  if (only != null && !only.test(name)) continue
  const dir = mkdtempSync(join(tmpdir(), 'tenpak-bench-'))
  const repo = await createRepo({ dir: join(dir, 'store') })
  let stored = 0
  let logical = 0
  let pf = zstd(['-19', files[0]])
  const t0 = performance.now()
  for (const [i, f] of files.entries()) {
    const v = join(dir, `v${i}`)
    mkdirSync(v)
    copyFileSync(f, join(v, as))
    stored += (await repo.add(repoName, v, { message: basename(f) })).newStoredBytes
    logical += statSync(f).size
  }
  const s = (performance.now() - t0) / 1000
  // what the store holds at the end: every pack on disk (add merges small packs as it goes)
  stored = (await repo.stats()).storedBytes
  for (let i = 1; i < files.length; i++) pf += patchFrom(files[i - 1], files[i])
  await repo.close()
  rmSync(dir, { recursive: true, force: true })
  rows.push([name, logical, stored, pf, NaN, (logical / 1e6 / s).toFixed(1)])
}

console.log('| pair / series | derived bytes | tenpak stored (add) | zstd -19 --long=27 --patch-from | ÷ patch-from | zstd -19 alone | add MB/s |')
console.log('|---|---|---|---|---|---|---|')
for (const [name, size, t, pf, z, mbs] of rows) console.log(`| ${name} | ${fmt(size)} | ${fmt(t)} | ${fmt(pf)} | ${(t / pf).toFixed(2)} | ${fmt(z)} | ${mbs} |`)
