import t from 'tap'
import { readdirSync, readFileSync, mkdirSync, copyFileSync, existsSync } from 'node:fs'
import { join, basename, extname } from 'node:path'
import { spawnSync } from 'node:child_process'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, tempDir } from '../helpers/store.js'
import { compressDatasetDelta, decompressDatasetDelta, estimateDatasetDeltaSavings, resolveDatasetSource } from '../../src/repo/dataset-delta.js'
import { decompressDelta } from '../../src/repo/delta-bundle.js'

const D = (p: string): string => join(corpusDir, 'datasets', p)
const versions = (dir: string): string[] => readdirSync(D(dir)).filter(f => f !== 'SOURCE.txt').sort().map(f => D(join(dir, f)))
const oil = versions('oil-prices-brent-daily-git-series')
const sp500 = versions('sp500-constituents-git-series')

/** First three and last three versions of a series, as consecutive steps. */
const steps = (name: string, v: string[]): Array<[string, string, string, boolean]> => {
  const idx = [0, 1, v.length - 3, v.length - 2]
  return idx.map((i): [string, string, string, boolean] => [`${name} ${basename(v[i])}→${basename(v[i + 1])}`, v[i], v[i + 1], true])
}

/** [name, base, derived, staged as one file name (series)] */
const pairs: Array<[string, string, string, boolean]> = [
  ['wordlists american→british', D('debian-wordlists/american-english'), D('debian-wordlists/british-english'), false],
  ['wordlists american-large→british-large', D('debian-wordlists/american-english-large'), D('debian-wordlists/british-english-large'), false],
  ['wordlists american→american-large', D('debian-wordlists/american-english'), D('debian-wordlists/american-english-large'), false],
  ['flights 2k→5k', D('vega-flights-subsets/flights-2k.json'), D('vega-flights-subsets/flights-5k.json'), false],
  ['flights 5k→10k', D('vega-flights-subsets/flights-5k.json'), D('vega-flights-subsets/flights-10k.json'), false],
  ['flights 10k→20k', D('vega-flights-subsets/flights-10k.json'), D('vega-flights-subsets/flights-20k.json'), false],
  ['weather→seattle-weather', D('vega-flights-subsets/weather.csv'), D('vega-flights-subsets/seattle-weather.csv'), false],
  ['gsm8k test→test_socratic', D('gsm8k-test-socratic/test.jsonl'), D('gsm8k-test-socratic/test_socratic.jsonl'), false],
  ...steps('oil', oil),
  ...steps('sp500', sp500)
]

const haveZstd = spawnSync('zstd', ['--version']).status === 0
function zstd19 (file: string): number {
  const r = spawnSync('zstd', ['-19', '-q', '-c', file], { maxBuffer: 1 << 30 })
  return r.status === 0 ? r.stdout.length : NaN
}

function patchFrom (base: string, derived: string): number {
  const r = spawnSync('zstd', ['-19', '--long=27', `--patch-from=${base}`, '-q', '-c', derived], { maxBuffer: 1 << 30 })
  return r.status === 0 ? r.stdout.length : NaN
}

/** A version staged alone in its own directory under a fixed name, so versions pair by path. */
function stage (dir: string, file: string, as: string): string {
  mkdirSync(dir, { recursive: true })
  copyFileSync(file, join(dir, as))
  return dir
}

t.test('compress → decompress is byte-identical for every dataset pair and series step, and smaller than zstd -19 of the derived file', async t => {
  if (!haveZstd) t.comment('SKIPPED LOUDLY: zstd CLI missing, size comparison against zstd -19 not made (run scripts/install-system-deps.sh)')
  const dir = tempDir(t)
  for (const [name, base, derived, series] of pairs) {
    const out = join(dir, name.replace(/\W+/g, '_'))
    const b = series ? stage(join(out, 'base'), base, 'data.csv') : base
    const d = series ? stage(join(out, 'derived'), derived, 'data.csv') : derived
    const r = await compressDatasetDelta(b, d, join(out, 'bundle'))
    t.equal(r.manifest.kind, 'dataset', `${name}: manifest kind`)
    const rebuilt = join(out, 'rebuilt')
    await decompressDatasetDelta(b, join(out, 'bundle'), rebuilt)
    const got = readFileSync(join(rebuilt, series ? 'data.csv' : basename(derived)))
    t.ok(got.equals(readFileSync(derived)), `${name}: rebuilt byte-identical`)
    if (haveZstd) {
      const z = zstd19(derived)
      t.ok(r.deltaBytes < z, `${name}: bundle ${r.deltaBytes} < zstd -19 ${z}`)
    }
  }
})

t.test('pairs stored through add: each below zstd -19 of the derived file, word-list variants and flights subsets within 1.5x --patch-from, the palm repack below 5%', async t => {
  if (!haveZstd) {
    t.comment('SKIPPED LOUDLY: zstd CLI missing, no reference sizes (run scripts/install-system-deps.sh)')
    return
  }
  const M = (p: string): string => join(corpusDir, 'models', p)
  // [name, base, derived, bound on stored ÷ patch-from (undefined: only below zstd -19 alone)]
  const cases: Array<[string, string, string, number | undefined]> = [
    ['wordlists american→british', D('debian-wordlists/american-english'), D('debian-wordlists/british-english'), 1.5],
    ['wordlists american-large→british-large', D('debian-wordlists/american-english-large'), D('debian-wordlists/british-english-large'), 1.5],
    ['flights 2k→5k', D('vega-flights-subsets/flights-2k.json'), D('vega-flights-subsets/flights-5k.json'), 1.5],
    ['flights 5k→10k', D('vega-flights-subsets/flights-5k.json'), D('vega-flights-subsets/flights-10k.json'), 1.5],
    ['flights 10k→20k', D('vega-flights-subsets/flights-10k.json'), D('vega-flights-subsets/flights-20k.json'), 1.5],
    ['weather→seattle-weather', D('vega-flights-subsets/weather.csv'), D('vega-flights-subsets/seattle-weather.csv'), undefined],
    ['gsm8k test→test_socratic', D('gsm8k-test-socratic/test.jsonl'), D('gsm8k-test-socratic/test_socratic.jsonl'), undefined]
  ]
  for (const [name, base, derived, bound] of cases) {
    const { repo, dir } = await freshRepo(t)
    const as = 'data' + extname(derived) // one path in both versions, the format's extension kept
    await repo.add('datasets/acme/pair', stage(join(dir, 'base'), base, as), { message: 'base' })
    const r = await repo.add('datasets/acme/pair', stage(join(dir, 'derived'), derived, as), { message: 'derived' })
    const z = zstd19(derived)
    t.ok(r.newStoredBytes < z, `${name}: stored ${r.newStoredBytes} < zstd -19 alone ${z}`)
    if (bound != null) {
      const pf = patchFrom(base, derived)
      t.ok(r.newStoredBytes <= bound * pf, `${name}: stored ${r.newStoredBytes} <= ${bound} x patch-from ${pf} (${(r.newStoredBytes / pf).toFixed(2)}x)`)
    }
    const out = join(dir, 'out')
    await repo.export('datasets/acme/pair', undefined, out)
    t.ok(readFileSync(join(out, as)).equals(readFileSync(derived)), `${name}: exported byte-identical`)
  }
  // a model, re-serialised: the palm-detection repack (same weights, moved offsets)
  const palm = 'mediapipe-palm_detection_full-repack'
  const { repo, dir } = await freshRepo(t)
  await repo.add('acme/palm', stage(join(dir, 'base'), M(`${palm}/base.palm_detection_full.2021-11-03.tflite`), 'palm.tflite'))
  const derived = M(`${palm}/derived.palm_detection_full.2023-09-22.tflite`)
  const r = await repo.add('acme/palm', stage(join(dir, 'derived'), derived, 'palm.tflite'))
  const size = readFileSync(derived).length
  t.ok(r.newStoredBytes < 0.05 * size, `palm repack stored ${r.newStoredBytes} bytes, ${(100 * r.newStoredBytes / size).toFixed(2)}% of ${size} (< 5%)`)
})

t.test('estimate reports the same sizes as compress, and writes nothing', async t => {
  const base = D('vega-flights-subsets/weather.csv')
  const derived = D('vega-flights-subsets/seattle-weather.csv')
  const e = await estimateDatasetDeltaSavings(base, derived)
  t.equal(e.baseBytes, 121417)
  t.equal(e.derivedBytes, 48219)
  t.ok(e.deltaBytes > 0 && e.deltaBytes < e.derivedBytes)
  const c = await compressDatasetDelta(base, derived, join(tempDir(t), 'bundle'))
  t.equal(e.deltaBytes, c.deltaBytes, 'the bundle compress writes is the size estimate reported')
  t.ok(Math.abs(e.savingsPct - 100 * (1 - e.deltaBytes / e.derivedBytes)) < 1e-9)
  t.same(e.warnings, [])
})

t.test('a dataset bundle is still a delta bundle: delta decompress rebuilds it too', async t => {
  const dir = tempDir(t)
  const base = D('gsm8k-test-socratic/test.jsonl')
  const derived = D('gsm8k-test-socratic/test_socratic.jsonl')
  await compressDatasetDelta(base, derived, join(dir, 'bundle'))
  await decompressDelta(base, join(dir, 'bundle'), join(dir, 'out'))
  t.ok(readFileSync(join(dir, 'out', 'test_socratic.jsonl')).equals(readFileSync(derived)))
})

t.test('sources: a datasets/ store repo (bare org/name too), a cached HF dataset, else ERR_PATH_NOT_FOUND', async t => {
  const { repo, dir } = await freshRepo(t)
  const v = oil.slice(0, 2)
  const first = await repo.add('datasets/acme/oil', stage(join(dir, 'v0'), v[0], 'brent.csv'), { message: 'v0' })
  await repo.add('datasets/acme/oil', stage(join(dir, 'v1'), v[1], 'brent.csv'), { message: 'v1' })
  const hf = join(dir, 'hf')
  const snap = join(hf, 'hub', 'datasets--acme--weather', 'snapshots', 'abc')
  stage(snap, D('vega-flights-subsets/weather.csv'), 'weather.csv')
  mkdirSync(join(hf, 'hub', 'datasets--acme--weather', 'refs'), { recursive: true })
  t.same(await resolveDatasetSource('datasets/acme/oil', { store: repo }), { kind: 'store', repo: 'datasets/acme/oil' })
  t.same(await resolveDatasetSource('acme/oil@main', { store: repo }), { kind: 'store', repo: 'datasets/acme/oil', rev: 'main' })
  t.same(await resolveDatasetSource('acme/weather@abc', { store: repo, hfHome: hf }), { kind: 'path', path: snap })
  t.same(await resolveDatasetSource('datasets/acme/weather@abc', { hfHome: hf }), { kind: 'path', path: snap })
  await t.rejects(resolveDatasetSource('acme/weather', { hfHome: hf }), { code: 'ERR_PATH_NOT_FOUND' }, 'no refs/main and no rev: not resolved')
  await t.rejects(resolveDatasetSource('acme/nothing', { store: repo, hfHome: hf }), { code: 'ERR_PATH_NOT_FOUND' })
  await t.rejects(resolveDatasetSource('acme/oil@nope', { store: repo, hfHome: hf }), { code: 'ERR_REVISION_NOT_FOUND' })

  // store source round trip: base = the first commit, derived = the branch head
  const out = join(dir, 'rt')
  await compressDatasetDelta(`datasets/acme/oil@${first.commit}`, 'datasets/acme/oil', join(out, 'bundle'), { store: repo })
  await decompressDatasetDelta(`datasets/acme/oil@${first.commit}`, join(out, 'bundle'), join(out, 'rebuilt'), { store: repo })
  t.ok(readFileSync(join(out, 'rebuilt', 'brent.csv')).equals(readFileSync(v[1])), 'rebuilt from a store base')
  t.notOk(existsSync(join(out, 'bundle.tenpak-partial-' + process.pid)), 'no staging dir left')
})
