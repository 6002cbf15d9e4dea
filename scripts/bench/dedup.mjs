#!/usr/bin/env node
// For each derived file of the corpus added after its base (pairs) or after its predecessor
// (series): the fraction of its bytes found as duplicate chunks, and what tenpak stored with
// chunk dedup alone (--no-base) and with deltas against the previous version (the default),
// next to `zstd -19` of the file alone. Usage: node scripts/bench/dedup.mjs [--json]
// Needs a build (npx tsc -p .) and the `zstd` CLI for the side-by-side column.
import { mkdtempSync, rmSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { createRepo } from '../../dist/src/index.js'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const corpus = resolve(root, '../shared/corpus')
const m = (f) => join(corpus, 'models', f)
const d = (f) => join(corpus, 'datasets', f)
const series = (dir, filter = () => true) => readdirSync(dir).filter(f => f !== 'SOURCE.txt' && filter(f)).sort().map(f => join(dir, f))

const cases = [
  ['peft checkpoints (series)', series(m('peft-finegates-roberta-mrpc-checkpoints'))],
  ['palm_detection repack', [m('mediapipe-palm_detection_full-repack/base.palm_detection_full.2021-11-03.tflite'), m('mediapipe-palm_detection_full-repack/derived.palm_detection_full.2023-09-22.tflite')]],
  ['pose_detection (series)', series(m('mediapipe-pose_detection-series'))],
  ['face_landmark fp32→fp16', series(m('mediapipe-face_landmark-fp32-to-fp16'))],
  ['face_landmark retrain', series(m('mediapipe-face_landmark-retrain-2020'))],
  ['wordlists american→british', [d('debian-wordlists/american-english'), d('debian-wordlists/british-english')]],
  ['wordlists large→british-large', [d('debian-wordlists/american-english-large'), d('debian-wordlists/british-english-large')]],
  ['wordlists american→large→huge', [d('debian-wordlists/american-english'), d('debian-wordlists/american-english-large'), d('debian-wordlists/american-english-huge')]],
  ['gsm8k test→test_socratic', [d('gsm8k-test-socratic/test.jsonl'), d('gsm8k-test-socratic/test_socratic.jsonl')]],
  ['flights 2k→5k→10k→20k', ['2k', '5k', '10k', '20k'].map(n => d(`vega-flights-subsets/flights-${n}.json`))],
  ['weather→seattle-weather', [d('vega-flights-subsets/weather.csv'), d('vega-flights-subsets/seattle-weather.csv')]],
  ['oil-prices (series)', series(d('oil-prices-brent-daily-git-series'))],
  ['sp500 (series)', series(d('sp500-constituents-git-series'))]
]

const zstd19 = (f) => {
  const r = spawnSync('zstd', ['-19', '-q', '-c', f], { maxBuffer: 1 << 30 })
  return r.status === 0 ? r.stdout.length : NaN
}

const rows = []
for (const [name, files] of cases) {
  const run = async (base) => {
    const dir = mkdtempSync(join(tmpdir(), 'tenpak-dedup-'))
    const repo = await createRepo({ dir })
    let derivedBytes = 0; let dup = 0; let stored = 0
    for (let i = 0; i < files.length; i++) {
      const r = await repo.add('datasets/bench/x', files[i], { message: String(i), base })
      if (i === 0) continue
      derivedBytes += r.logicalBytes; dup += r.dedupBytes; stored += r.newStoredBytes
    }
    await repo.close()
    rmSync(dir, { recursive: true, force: true })
    return { derivedBytes, dup, stored }
  }
  const plain = await run(false)
  const withDeltas = await run(undefined)
  let z = 0
  for (const f of files.slice(1)) z += zstd19(f)
  rows.push({ name, derived: files.length - 1, derivedBytes: plain.derivedBytes, dupFraction: plain.dup / plain.derivedBytes, stored: plain.stored, storedWithDeltas: withDeltas.stored, zstd19: z })
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2))
else {
  console.log('| pair / series | derived files | derived bytes | found as duplicate chunks | stored, dedup only | stored, with deltas | zstd -19 of derived alone | deltas ÷ zstd -19 |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.name} | ${r.derived} | ${r.derivedBytes.toLocaleString('en')} | ${(100 * r.dupFraction).toFixed(1)}% | ${r.stored.toLocaleString('en')} | ${r.storedWithDeltas.toLocaleString('en')} | ${r.zstd19.toLocaleString('en')} | ${(r.storedWithDeltas / r.zstd19).toFixed(3)} |`)
}
