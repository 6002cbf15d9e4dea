/**
 * Dataset versions benchmark (issue 7): for every dataset pair and git series
 * of the corpus (../shared/corpus/datasets), in one run and side by side, the
 * bytes each tool keeps for all the versions, and its MB/s:
 *   - tenpak: every version added in order into one store with
 *     `node bin/tenpak.js add datasets/bench/NAME DIR` (each version staged
 *     alone in its own dir under one file name, so versions pair by path);
 *     stored = `tenpak stats --json` storedBytes (packs: data + DAG nodes),
 *     with the bytes of every file of the store dir (index included) beside it. For
 *     pairs also the `tenpak delta-dataset compress` bundle (the bytes the
 *     derived version needs beyond its base).
 *   - zstd: `zstd -19` of the first version plus `zstd -19 --long=27
 *     --patch-from=PREV` of each next one (for pairs: the patch column is that
 *     last patch alone, to set against the bundle).
 *   - restic: `restic init` (repository v2), `restic backup --compression max`
 *     of each version in order; stored = bytes of the files in the repo dir.
 *   - borg: `borg init -e none`, `borg create --compression zstd,19` of each
 *     version in order; stored = bytes of the files in the repo dir.
 * MB/s = bytes of all versions / wall time of all the tool's runs, process
 * start included for every tool (each version is one process, as a user
 * would run it). The machine is shared, so times are indicative only;
 * nothing is gated on them (CONVENTIONS.md §9). A tool that is not installed
 * is reported as "skipped (not installed)" (scripts/install-bench-deps.sh).
 *
 * Usage: scripts/bench/dataset [--quick] [--only REGEX] [--json]
 *   --quick   series limited to their first 20 versions
 * A full run took 20 minutes on the shared 2-core machine, 15 of them the two
 * git series (366 versions, one process per version per tool); --quick cuts
 * that to a few minutes.
 */

import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir, cpus, loadavg } from 'node:os'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const CORPUS = resolve(ROOT, '../shared/corpus/datasets')
const TENPAK = join(ROOT, 'bin', 'tenpak.js')

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (opt.help) {
  console.log('usage: scripts/bench/dataset [--quick] [--only REGEX] [--json]\n(see the header of scripts/bench/dataset.mjs)')
  process.exit(0)
}
const ONLY = opt.only != null ? new RegExp(opt.only) : null

const D = (p) => join(CORPUS, p)
const seriesOf = (dir) => readdirSync(D(dir)).filter(f => f !== 'SOURCE.txt').sort().map(f => D(join(dir, f)))

/** name → versions in order */
const items = [
  ['wordlists american→british', [D('debian-wordlists/american-english'), D('debian-wordlists/british-english')]],
  ['wordlists american-large→british-large', [D('debian-wordlists/american-english-large'), D('debian-wordlists/british-english-large')]],
  ['wordlists american→american-large', [D('debian-wordlists/american-english'), D('debian-wordlists/american-english-large')]],
  ['flights 2k→5k', [D('vega-flights-subsets/flights-2k.json'), D('vega-flights-subsets/flights-5k.json')]],
  ['flights 5k→10k', [D('vega-flights-subsets/flights-5k.json'), D('vega-flights-subsets/flights-10k.json')]],
  ['flights 10k→20k', [D('vega-flights-subsets/flights-10k.json'), D('vega-flights-subsets/flights-20k.json')]],
  ['flights 2k→5k→10k→20k (series)', ['2k', '5k', '10k', '20k'].map(s => D(`vega-flights-subsets/flights-${s}.json`))],
  ['weather→seattle-weather', [D('vega-flights-subsets/weather.csv'), D('vega-flights-subsets/seattle-weather.csv')]],
  ['gsm8k test→test_socratic', [D('gsm8k-test-socratic/test.jsonl'), D('gsm8k-test-socratic/test_socratic.jsonl')]],
  ['oil-prices brent-daily (series)', seriesOf('oil-prices-brent-daily-git-series')],
  ['sp500 constituents (series)', seriesOf('sp500-constituents-git-series')]
].map(([name, v]) => [name, opt.quick && v.length > 20 ? v.slice(0, 20) : v])
  .filter(([name]) => ONLY == null || ONLY.test(name))

const have = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0
const HAVE = {
  zstd: have('zstd', ['--version']),
  restic: have('restic', ['version']),
  borg: have('borg', ['--version'])
}
const resticHelp = HAVE.restic ? spawnSync('restic', ['help', 'backup'], { encoding: 'utf8' }).stdout : ''
const RESTIC_MAX = /--compression/.test(resticHelp)

function run (cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30, ...opts })
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${String(r.stderr).slice(0, 500)}`)
  return { out: r.stdout, secs }
}

/** Bytes of the regular files under `dir` (not `du`: restic pre-creates 256 empty data dirs, 4 KiB each to du). */
function fileBytes (dir) {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) n += fileBytes(p)
    else if (e.isFile()) n += statSync(p).size
  }
  return n
}

/** Copy version `file` into `dir` as `name` (alone: dir is emptied first). */
function stageIn (dir, file, name) {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  copyFileSync(file, join(dir, name))
  return dir
}

function benchTenpak (tmp, versions, name, pair) {
  const store = join(tmp, 'tenpak-store')
  let secs = 0
  versions.forEach((v, i) => {
    const dir = stageIn(join(tmp, `tenpak-v${i}`), v, name)
    secs += run(process.execPath, [TENPAK, '--store', store, 'add', 'datasets/bench/data', dir, '--message', `v${i}`]).secs
  })
  const stats = JSON.parse(String(run(process.execPath, [TENPAK, '--store', store, 'stats', '--json']).out))
  const out = { stored: stats.storedBytes, storeFiles: fileBytes(store), secs }
  if (pair) {
    // the bundle: what the derived version needs beyond its base
    const bundle = join(tmp, 'tenpak-bundle')
    const r = run(process.execPath, [TENPAK, '--store', join(tmp, 'no-store'), 'delta-dataset', 'compress', join(tmp, 'tenpak-v0'), join(tmp, 'tenpak-v1'), '-o', bundle, '--json'])
    out.bundle = JSON.parse(String(r.out)).deltaBytes
    out.bundleSecs = r.secs
  }
  return out
}

function benchZstd (versions) {
  if (!HAVE.zstd) return null
  let stored = 0
  let secs = 0
  let last = 0
  versions.forEach((v, i) => {
    const args = i === 0 ? ['-19', '-q', '-c', v] : ['-19', '--long=27', '-q', '-c', `--patch-from=${versions[i - 1]}`, v]
    const r = run('zstd', args)
    stored += r.out.length
    secs += r.secs
    last = r.out.length
  })
  return { stored, secs, lastPatch: last }
}

function benchRestic (tmp, versions, name) {
  if (!HAVE.restic) return null
  const repo = join(tmp, 'restic-repo')
  const env = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(tmp, 'restic-cache') }
  run('restic', ['init', ...(RESTIC_MAX ? ['--repository-version', '2'] : [])], { env })
  const cur = join(tmp, 'restic-cur')
  let secs = 0
  for (const v of versions) {
    stageIn(cur, v, name)
    secs += run('restic', ['backup', '--quiet', ...(RESTIC_MAX ? ['--compression', 'max'] : []), '.'], { env, cwd: cur }).secs
  }
  return { stored: fileBytes(repo), secs }
}

function benchBorg (tmp, versions, name) {
  if (!HAVE.borg) return null
  const repo = join(tmp, 'borg-repo')
  const env = { ...process.env, BORG_BASE_DIR: join(tmp, 'borg-base'), BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' }
  run('borg', ['init', '-e', 'none', repo], { env })
  const cur = join(tmp, 'borg-cur')
  let secs = 0
  versions.forEach((v, i) => {
    stageIn(cur, v, name)
    secs += run('borg', ['create', '--compression', 'zstd,19', `${repo}::v${i}`, '.'], { env, cwd: cur }).secs
  })
  return { stored: fileBytes(repo), secs }
}

const fmt = (n) => n.toLocaleString('en-US')
const mbs = (bytes, secs) => `${(bytes / 1e6 / secs).toFixed(2)} MB/s`
const cell = (r, raw) => r == null ? 'skipped (not installed)' : `${fmt(r.stored)} (${mbs(raw, r.secs)})`

const results = []
const tmpRoot = mkdtempSync(join(tmpdir(), 'tenpak-bench-dataset-'))
try {
  for (const [label, versions] of items) {
    const tmp = join(tmpRoot, label.replace(/\W+/g, '_'))
    mkdirSync(tmp, { recursive: true })
    const name = `data${extname(versions[0])}`
    const raw = versions.reduce((s, v) => s + statSync(v).size, 0)
    const pair = versions.length === 2
    process.stderr.write(`${label}: ${versions.length} versions, ${fmt(raw)} B …\n`)
    const tenpak = benchTenpak(tmp, versions, name, pair)
    const zstd = benchZstd(versions)
    const restic = benchRestic(tmp, versions, name)
    const borg = benchBorg(tmp, versions, name)
    results.push({ label, versions: versions.length, first: basename(versions[0]), raw, tenpak, zstd, restic, borg })
    rmSync(tmp, { recursive: true, force: true })
  }
} finally {
  rmSync(tmpRoot, { recursive: true, force: true })
}

if (opt.json) {
  console.log(JSON.stringify({ cpus: cpus().length, loadavg: loadavg(), resticCompressionMax: RESTIC_MAX, results }, null, 2))
} else {
  console.log(`# ${cpus().length} CPUs, load average ${loadavg().map(x => x.toFixed(1)).join(' ')}; restic ${HAVE.restic ? (RESTIC_MAX ? '--compression max' : 'default compression (no --compression)') : 'not installed'}`)
  console.log('\nAll versions stored, in bytes (MB/s over all versions, process start included):\n')
  console.log('| data | versions | raw | tenpak stored (stats) | tenpak store files | zstd -19 + --patch-from | tenpak / zstd | restic | borg |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of results) {
    const ratio = r.zstd != null ? (r.tenpak.stored / r.zstd.stored).toFixed(2) : '–'
    console.log(`| ${r.label} | ${r.versions} | ${fmt(r.raw)} | ${cell(r.tenpak, r.raw)} | ${fmt(r.tenpak.storeFiles)} | ${cell(r.zstd, r.raw)} | ${ratio} | ${cell(r.restic, r.raw)} | ${cell(r.borg, r.raw)} |`)
  }
  const pairs = results.filter(r => r.tenpak.bundle != null)
  if (pairs.length > 0) {
    console.log('\nPairs: the derived version alone, in bytes (tenpak delta-dataset bundle vs the zstd patch):\n')
    console.log('| pair | tenpak bundle | zstd -19 --long=27 --patch-from | bundle / patch |')
    console.log('|---|---:|---:|---:|')
    for (const r of pairs) {
      const z = r.zstd != null ? fmt(r.zstd.lastPatch) : 'skipped (not installed)'
      const ratio = r.zstd != null ? (r.tenpak.bundle / r.zstd.lastPatch).toFixed(2) : '–'
      console.log(`| ${r.label} | ${fmt(r.tenpak.bundle)} | ${z} | ${ratio} |`)
    }
  }
}
