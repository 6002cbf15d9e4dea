/**
 * Dashboard test fixture: a temp store holding real corpus data shaped to
 * exercise every view — a model with two commits (the second stored as
 * deltas of the first), a fine-tune stored against a named base in another
 * repo, tiny safetensors fixtures, and a dataset with two versions.
 */
import { mkdtempSync, rmSync, symlinkSync, mkdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRepo, type Repo } from '../../src/repo/repo.js'
import { corpusDir, projectRoot } from '../helpers/corpus.js'

interface Host { teardown: (fn: () => void | Promise<void>) => void }

/** The peft checkpoint folder of the corpus. */
export const PEFT = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')
const OIL = join(corpusDir, 'datasets/oil-prices-brent-daily-git-series')

/** Built front-end (dist/web), made by `npm run build`. */
export const WEB_ROOT = join(projectRoot, 'dist', 'web')
export const webBuilt = (): boolean => existsSync(join(WEB_ROOT, 'index.html'))

/** A folder holding `name` as a link to a corpus file (the corpus stays read-only and is not copied). */
function linkDir (t: Host, src: string, name: string): string {
  const d = mkdtempSync(join(tmpdir(), 'tenpak-dash-src-'))
  t.teardown(() => { rmSync(d, { recursive: true, force: true }) })
  mkdirSync(d, { recursive: true })
  symlinkSync(src, join(d, name))
  return d
}

/** Fill `repo` with the dashboard fixture; returns the corpus file behind each repo's main file. */
export async function fillStore (t: Host, repo: Repo): Promise<Record<string, string>> {
  const time = 1_700_000_000_000
  const a = join(PEFT, 'checkpoint-0230.adapter_model.safetensors')
  const b = join(PEFT, 'checkpoint-0460.adapter_model.safetensors')
  const c = join(PEFT, 'checkpoint-2300.adapter_model.safetensors')
  await repo.add('models/corpus/peft', linkDir(t, a, 'adapter_model.safetensors'), { time, author: 'test', message: 'checkpoint 230' })
  await repo.add('models/corpus/peft', linkDir(t, b, 'adapter_model.safetensors'), { time: time + 60_000, author: 'test', message: 'checkpoint 460' })
  await repo.add('models/corpus/peft-2300', linkDir(t, c, 'adapter_model.safetensors'), { time: time + 120_000, author: 'test', message: 'checkpoint 2300', base: 'models/corpus/peft' })
  await repo.add('models/corpus/fixtures', join(corpusDir, 'models/safetensors-format-fixtures'), { time: time + 180_000, author: 'test', message: 'safetensors fixtures' })
  const o1 = join(OIL, 'brent-daily.2025-03-14.2394bfe924.csv')
  const o2 = join(OIL, 'brent-daily.2025-03-20.15d932d786.csv')
  await repo.add('datasets/corpus/brent', linkDir(t, o1, 'brent-daily.csv'), { time: time + 240_000, author: 'test', message: 'brent 2025-03-14' })
  await repo.add('datasets/corpus/brent', linkDir(t, o2, 'brent-daily.csv'), { time: time + 300_000, author: 'test', message: 'brent 2025-03-20' })
  return { 'models/corpus/peft': b, 'models/corpus/peft-2300': c, 'datasets/corpus/brent': o2 }
}

/** A fresh store dir with the fixture, closed (so the CLI may open it too). */
export async function fixtureStore (t: Host): Promise<{ store: string, files: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tenpak-dash-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const store = join(dir, 'store')
  const repo = await createRepo({ dir: store })
  try {
    return { store, files: await fillStore(t, repo) }
  } finally {
    await repo.close()
  }
}
