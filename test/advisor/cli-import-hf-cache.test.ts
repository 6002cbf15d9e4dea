/**
 * `tenpak import-hf-cache` on a Hugging Face cache laid out as huggingface_hub
 * does (blobs/ + refs/ + snapshots/<rev>/ of relative symlinks), built in a
 * temp dir from corpus files: dry run, import, and export equal to source.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'
import t from 'tap'
import { runCli, tempDir } from '../helpers/store.js'
import { corpusPath } from '../helpers/corpus.js'

const REV1 = '1111111111111111111111111111111111111111'
const REV2 = '2222222222222222222222222222222222222222'
const DREV = 'dddddddddddddddddddddddddddddddddddddddd'

/** Put `src` into blobs/ (named by its sha256, as the Hub's etag) and link it from the snapshot. */
function place (repoDir: string, rev: string, relPath: string, src: string): void {
  const sha = createHash('sha256').update(readFileSync(src)).digest('hex')
  const blob = join(repoDir, 'blobs', sha)
  mkdirSync(dirname(blob), { recursive: true })
  if (!existsSync(blob)) copyFileSync(src, blob)
  const link = join(repoDir, 'snapshots', rev, ...relPath.split('/'))
  mkdirSync(dirname(link), { recursive: true })
  symlinkSync(relative(dirname(link), blob), link)
}

function buildCache (root: string): { files: Record<string, Record<string, string>> } {
  const hub = join(root, 'hub')
  const model = join(hub, 'models--peft-test--roberta-mrpc')
  const ds = join(hub, 'datasets--vega--weather')
  const files: Record<string, Record<string, string>> = {
    [`peft-test/roberta-mrpc@${REV1}`]: {
      'adapter_model.safetensors': corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors'),
      'README.md': corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/SOURCE.txt')
    },
    [`peft-test/roberta-mrpc@${REV2}`]: {
      'adapter_model.safetensors': corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0460.adapter_model.safetensors'),
      'README.md': corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/SOURCE.txt')
    },
    [`datasets/vega/weather@${DREV}`]: {
      'weather.csv': corpusPath('datasets/vega-flights-subsets/weather.csv'),
      'data/seattle-weather.csv': corpusPath('datasets/vega-flights-subsets/seattle-weather.csv')
    }
  }
  for (const [key, map] of Object.entries(files)) {
    const [, rev] = key.split('@')
    const repoDir = key.startsWith('datasets/') ? ds : model
    for (const [p, src] of Object.entries(map)) place(repoDir, rev, p, src)
  }
  mkdirSync(join(model, 'refs'), { recursive: true })
  writeFileSync(join(model, 'refs', 'main'), REV2) // main points at the newer snapshot
  mkdirSync(join(ds, 'refs'), { recursive: true })
  writeFileSync(join(ds, 'refs', 'main'), DREV)
  // an interrupted download: a dangling link is listed as missing and not imported
  symlinkSync('../../blobs/0000000000000000', join(ds, 'snapshots', DREV, 'incomplete.parquet'))
  // a Space is skipped
  mkdirSync(join(hub, 'spaces--someone--demo', 'snapshots', REV1), { recursive: true })
  mkdirSync(join(hub, '.locks'), { recursive: true })
  return { files }
}

t.test('import-hf-cache: dry run lists snapshots with sizes; import round-trips every snapshot byte for byte', async t => {
  const dir = tempDir(t, 'tenpak-hf-cache-')
  const { files } = buildCache(join(dir, 'hf'))
  const store = join(dir, 'store')

  // default location: $HF_HOME/hub
  const dry = runCli(['import-hf-cache', '--dry-run', '--json'], { store, env: { HF_HOME: join(dir, 'hf'), HF_HUB_CACHE: '' } })
  t.equal(dry.status, 0, dry.stderr.toString())
  const plan = JSON.parse(dry.stdout.toString())
  t.equal(plan.dryRun, true)
  t.same(plan.snapshots.map((s: any) => `${s.repo}@${s.revision}`), [`datasets/vega/weather@${DREV}`, `peft-test/roberta-mrpc@${REV1}`, `peft-test/roberta-mrpc@${REV2}`], 'main last within a repo')
  for (const s of plan.snapshots) {
    const map = files[`${s.repo}@${s.revision}`]
    t.equal(s.files, Object.keys(map).length)
    t.equal(s.bytes, Object.values(map).reduce((n, p) => n + statSync(p).size, 0), `${s.repo}@${s.revision}: sizes follow the symlinks`)
  }
  t.same(plan.snapshots.find((s: any) => s.repo === 'datasets/vega/weather').missing, ['incomplete.parquet'])
  t.ok(plan.skipped.some((s: any) => /^spaces--/.test(s.path)))
  t.notOk(existsSync(store), 'a dry run does not touch the store')
  const dryText = runCli(['import-hf-cache', '--dry-run', '--cache', join(dir, 'hf', 'hub')])
  t.match(dryText.stdout.toString(), /would import 3 snapshots/)
  t.match(dryText.stdout.toString(), /peft-test\/roberta-mrpc@2{40} \(main\): 2 files/)

  const imp = runCli(['import-hf-cache', '--cache', join(dir, 'hf', 'hub'), '--json'], { store })
  t.equal(imp.status, 0, imp.stderr.toString())
  const res = JSON.parse(imp.stdout.toString())
  t.equal(res.imported.length, 3)
  t.same(res.imported.map((i: any) => i.tag), [DREV, REV1, REV2], 'each snapshot tagged with its revision')

  // every snapshot exports (by its revision tag) byte for byte equal to the files in the cache
  for (const [key, map] of Object.entries(files)) {
    const out = join(dir, 'out', basename(key.replace('@', '_')))
    const e = runCli(['export', key, out], { store })
    t.equal(e.status, 0, e.stderr.toString())
    for (const [p, src] of Object.entries(map)) {
      t.ok(readFileSync(join(out, ...p.split('/'))).equals(readFileSync(src)), `${key} ${p} equals the source`)
    }
    t.notOk(existsSync(join(out, 'incomplete.parquet')))
  }
  // main is the snapshot refs/main points at; the commit message names the Hub revision
  const log = JSON.parse(runCli(['log', 'peft-test/roberta-mrpc', '--json'], { store }).stdout.toString())
  t.equal(log.length, 2)
  t.match(log[0].message, new RegExp(`peft-test/roberta-mrpc revision ${REV2} \\(main\\)`))
  t.match(log[1].message, new RegExp(`revision ${REV1}`))

  // importing again changes nothing
  const again = JSON.parse(runCli(['import-hf-cache', '--cache', join(dir, 'hf', 'hub'), '--json'], { store }).stdout.toString())
  t.ok(again.imported.every((i: any) => i.unchanged), 'every revision already imported')
  t.same(again.imported.map((i: any) => i.commit), res.imported.map((i: any) => i.commit))
  t.equal(JSON.parse(runCli(['log', 'peft-test/roberta-mrpc', '--json'], { store }).stdout.toString()).length, 2, 'no new commits')

  const savings = runCli(['savings', '--json'], { store })
  t.equal(savings.status, 0, 'savings runs on the imported models')
})

t.test('import-hf-cache: a missing cache directory is one line and a non-zero exit', async t => {
  const dir = tempDir(t, 'tenpak-hf-missing-')
  const r = runCli(['import-hf-cache', '--cache', join(dir, 'nope')], { store: join(dir, 'store') })
  t.not(r.status, 0)
  t.match(r.stderr.toString(), /^tenpak: ERR_PATH_NOT_FOUND: .*nope.*\n$/)
})
