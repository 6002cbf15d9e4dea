import t from 'tap'
import { copyFileSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../helpers/corpus.js'
import { freshRepo, tempDir } from '../helpers/store.js'

// Made by scripts/gen-parquet-cdc.py: 100,000 rows, then the same with 3,000
// rows (3%) inserted in the middle, both written by pyarrow with content-defined chunking.
const BASE = join(projectRoot, 'test/fixtures/parquet/cdc-base.parquet')
const INSERTED = join(projectRoot, 'test/fixtures/parquet/cdc-inserted.parquet')

/** `src` copied to a fresh dir as `name`, so both revisions are the same path of the repo. */
function asRevision (t: Parameters<typeof tempDir>[0], src: string, name: string): string {
  const dir = join(tempDir(t), 'rev')
  mkdirSync(dir)
  copyFileSync(src, join(dir, name))
  return dir
}

t.test('a CDC-written Parquet file with 3% of rows inserted stores at most 10% of its size', async t => {
  const { repo } = await freshRepo(t)
  const first = await repo.add('datasets/weather', asRevision(t, BASE, 'data.parquet'))
  t.ok(first.newStoredBytes > 0)
  const size = statSync(INSERTED).size
  const second = await repo.add('datasets/weather', asRevision(t, INSERTED, 'data.parquet'))
  t.equal(second.unchanged, false)
  t.equal((await repo.log('datasets/weather')).length, 2, 'a new commit of the same repo')
  const entry = await repo.stat('datasets/weather', undefined, 'data.parquet')
  t.equal(entry.format, 'parquet')
  const share = second.newStoredBytes / size
  t.ok(share <= 0.10, `stored ${second.newStoredBytes} new bytes of ${size} (${(100 * share).toFixed(1)}%; the first revision stored ${first.newStoredBytes})`)
})
