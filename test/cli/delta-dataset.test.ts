import t, { type Test } from 'tap'
import { readFileSync, writeFileSync, existsSync, mkdirSync, copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { corpusDir } from '../helpers/corpus.js'
import { runCli, tempDir } from '../helpers/store.js'

const D = (p: string): string => join(corpusDir, 'datasets', p)
const american = D('debian-wordlists/american-english')
const british = D('debian-wordlists/british-english')
const weather = D('vega-flights-subsets/weather.csv')
const seattle = D('vega-flights-subsets/seattle-weather.csv')

/** One line on stderr naming the code, a non-zero exit, nothing on stdout. */
function assertOneLineError (t: Test, r: ReturnType<typeof runCli>, code: string): void {
  const err = r.stderr.toString()
  t.not(r.status, 0, 'non-zero exit')
  t.equal(err.trimEnd().split('\n').length, 1, `one line: ${err}`)
  t.match(err, new RegExp(`^tenpak: ${code}: `), err)
  t.equal(r.stdout.length, 0, 'nothing on stdout')
}

function stage (dir: string, file: string, as: string): string {
  mkdirSync(dir, { recursive: true })
  copyFileSync(file, join(dir, as))
  return dir
}

/** Run with a store dir that does not exist (so none is opened or created) unless one is given. */
const cli = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}, store = join(dir, 'no-store')): ReturnType<typeof runCli> =>
  runCli(args, { store, env: { HF_HOME: join(dir, 'no-hf'), ...env } })

t.test('compress → decompress through the CLI is byte-identical; --json reports the sizes', async t => {
  const dir = tempDir(t)
  const c = cli(dir, ['delta-dataset', 'compress', american, british, '--output', join(dir, 'bundle'), '--json'])
  t.equal(c.status, 0, c.stderr.toString())
  const j = JSON.parse(c.stdout.toString())
  t.equal(j.baseBytes, 985084)
  t.equal(j.derivedBytes, 977195)
  t.equal(j.deltaBytes, readFileSync(join(dir, 'bundle', 'delta.pack')).length, 'deltaBytes is the pack size')
  t.equal(JSON.parse(readFileSync(join(dir, 'bundle', 'manifest.json'), 'utf8')).kind, 'dataset')
  const d = cli(dir, ['delta-dataset', 'decompress', american, join(dir, 'bundle'), '--output', join(dir, 'out')])
  t.equal(d.status, 0, d.stderr.toString())
  t.match(d.stdout.toString(), /rebuilt 1 files/)
  t.ok(readFileSync(join(dir, 'out', 'british-english')).equals(readFileSync(british)), 'byte-identical')
  t.notOk(existsSync(join(dir, 'no-store')), 'no store created')
})

t.test('estimate --json prints every size field and writes nothing', async t => {
  const dir = tempDir(t)
  const r = cli(dir, ['delta-dataset', 'estimate', weather, seattle, '--json'])
  t.equal(r.status, 0, r.stderr.toString())
  const j = JSON.parse(r.stdout.toString())
  t.same(Object.keys(j).sort(), ['baseBytes', 'baseFilePairs', 'dedupBytes', 'deltaBytes', 'deltaLogicalBytes', 'derivedBytes', 'savingsPct', 'warnings'])
  t.equal(j.baseBytes, 121417)
  t.equal(j.derivedBytes, 48219)
  t.ok(j.deltaBytes > 0 && j.deltaBytes < j.derivedBytes, `delta ${j.deltaBytes}`)
  t.ok(j.savingsPct > 0 && j.savingsPct < 100)
  t.same(j.warnings, [])
  const text = cli(dir, ['delta-dataset', 'estimate', weather, seattle])
  t.match(text.stdout.toString(), /^base .*, derived .*, delta .* \(\d+\.\d% saved\)/)
})

t.test('sources from the Hugging Face cache: org/name (refs/main), org/name@rev, datasets/org/name@rev', async t => {
  const dir = tempDir(t)
  const hf = join(dir, 'hf')
  const repoDir = join(hf, 'hub', 'datasets--acme--words')
  stage(join(repoDir, 'snapshots', 'abc'), american, 'words.txt')
  stage(join(repoDir, 'snapshots', 'def'), british, 'words.txt')
  mkdirSync(join(repoDir, 'refs'), { recursive: true })
  writeFileSync(join(repoDir, 'refs', 'main'), 'abc\n')
  const env = { HF_HOME: hf }
  const c = cli(dir, ['delta-dataset', 'compress', 'acme/words', 'datasets/acme/words@def', '-o', join(dir, 'bundle')], env)
  t.equal(c.status, 0, c.stderr.toString())
  const d = cli(dir, ['delta-dataset', 'decompress', 'acme/words@abc', join(dir, 'bundle'), '-o', join(dir, 'out')], env)
  t.equal(d.status, 0, d.stderr.toString())
  t.ok(readFileSync(join(dir, 'out', 'words.txt')).equals(readFileSync(british)), 'byte-identical')
  assertOneLineError(t, cli(dir, ['delta-dataset', 'estimate', 'acme/words@nope', 'acme/words'], env), 'ERR_PATH_NOT_FOUND')
})

t.test('sources from the store: datasets/org/name@rev and datasets/org/name', async t => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const oil = D('oil-prices-brent-daily-git-series')
  const v0 = stage(join(dir, 'v0'), join(oil, 'brent-daily.2020-05-15.c40cb04635.csv'), 'brent.csv')
  const v1 = stage(join(dir, 'v1'), join(oil, 'brent-daily.2020-05-21.d61372e098.csv'), 'brent.csv')
  const a = runCli(['add', 'datasets/acme/oil', v0, '--json'], { store })
  t.equal(a.status, 0, a.stderr.toString())
  const first = JSON.parse(a.stdout.toString()).commit as string
  t.equal(runCli(['add', 'datasets/acme/oil', v1], { store }).status, 0)
  const c = cli(dir, ['delta-dataset', 'compress', `datasets/acme/oil@${first}`, 'datasets/acme/oil', '-o', join(dir, 'bundle'), '--json'], {}, store)
  t.equal(c.status, 0, c.stderr.toString())
  t.ok(JSON.parse(c.stdout.toString()).deltaBytes < 2000, 'an appended week is a small bundle')
  // the base can be given as a path too: the bundle names trees, not sources
  const d = cli(dir, ['delta-dataset', 'decompress', v0, join(dir, 'bundle'), '-o', join(dir, 'out')], {}, store)
  t.equal(d.status, 0, d.stderr.toString())
  t.ok(readFileSync(join(dir, 'out', 'brent.csv')).equals(readFileSync(join(v1, 'brent.csv'))), 'byte-identical')
  assertOneLineError(t, cli(dir, ['delta-dataset', 'estimate', 'datasets/acme/oil@nope', 'datasets/acme/oil'], {}, store), 'ERR_REVISION_NOT_FOUND')
})

t.test('bad input: one error line, non-zero exit, nothing written at OUT', async t => {
  const dir = tempDir(t)
  const bundle = join(dir, 'bundle')
  t.equal(cli(dir, ['delta-dataset', 'compress', weather, seattle, '-o', bundle]).status, 0)
  const out = join(dir, 'out')

  t.test('a corrupt bundle (one byte of the pack flipped)', async t => {
    const bad = join(dir, 'corrupt')
    mkdirSync(bad)
    copyFileSync(join(bundle, 'manifest.json'), join(bad, 'manifest.json'))
    const pack = readFileSync(join(bundle, 'delta.pack'))
    pack[pack.length >> 1] ^= 0x40
    writeFileSync(join(bad, 'delta.pack'), pack)
    const r = cli(dir, ['delta-dataset', 'decompress', weather, bad, '-o', out])
    assertOneLineError(t, r, 'ERR_[A-Z_]+')
    t.notOk(existsSync(out), 'no OUT')
  })

  t.test('a wrong base', async t => {
    const r = cli(dir, ['delta-dataset', 'decompress', american, bundle, '-o', out])
    assertOneLineError(t, r, 'ERR_BASE_MISMATCH')
    t.notOk(existsSync(out), 'no OUT')
  })

  t.test('a bundle without manifest.json, or with a damaged one', async t => {
    const empty = join(dir, 'empty')
    mkdirSync(empty)
    assertOneLineError(t, cli(dir, ['delta-dataset', 'decompress', weather, empty, '-o', out]), 'ERR_PATH_NOT_FOUND')
    writeFileSync(join(empty, 'manifest.json'), '{"format":"tenpak-delta"')
    assertOneLineError(t, cli(dir, ['delta-dataset', 'decompress', weather, empty, '-o', out]), 'ERR_BAD_FORMAT')
    t.notOk(existsSync(out), 'no OUT')
  })

  t.test('a nonexistent source', async t => {
    const missing = join(dir, 'does-not-exist.csv')
    assertOneLineError(t, cli(dir, ['delta-dataset', 'compress', weather, missing, '-o', join(dir, 'b2')]), 'ERR_PATH_NOT_FOUND')
    t.notOk(existsSync(join(dir, 'b2')), 'no bundle dir')
    assertOneLineError(t, cli(dir, ['delta-dataset', 'estimate', missing, seattle]), 'ERR_PATH_NOT_FOUND')
    assertOneLineError(t, cli(dir, ['delta-dataset', 'decompress', 'nobody/nothing', bundle, '-o', out]), 'ERR_PATH_NOT_FOUND')
    t.notOk(existsSync(out), 'no OUT')
  })

  t.test('a non-empty OUT is refused and left alone', async t => {
    const busy = join(dir, 'busy')
    mkdirSync(busy)
    writeFileSync(join(busy, 'keep'), 'x')
    assertOneLineError(t, cli(dir, ['delta-dataset', 'decompress', weather, bundle, '-o', busy]), 'ERR_BAD_ARGUMENT')
    t.equal(readFileSync(join(busy, 'keep'), 'utf8'), 'x')
    rmSync(busy, { recursive: true })
  })
})
