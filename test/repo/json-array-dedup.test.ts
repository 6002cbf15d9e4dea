import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { corpusPath, readCorpus } from '../helpers/corpus.js'
import { freshRepo, tempDir } from '../helpers/store.js'

const SUBSETS = 'datasets/vega-flights-subsets'

/** `bytes` written to a fresh dir as `name`, so revisions are the same path of the repo. */
function asRevision (t: Parameters<typeof tempDir>[0], bytes: Uint8Array, name: string): string {
  const dir = join(tempDir(t), 'rev')
  mkdirSync(dir)
  writeFileSync(join(dir, name), bytes)
  return dir
}

t.test('a JSON array whose records extend an earlier revision stores little more than the new records', async t => {
  const rows = JSON.parse(new TextDecoder().decode(readCorpus(`${SUBSETS}/flights-20k.json`))) as unknown[]
  const enc = new TextEncoder()
  const half = enc.encode(JSON.stringify(rows.slice(0, 10_000)))
  const all = enc.encode(JSON.stringify(rows))
  const { repo } = await freshRepo(t)
  const alone = await (await freshRepo(t)).repo.add('datasets/flights', asRevision(t, all, 'flights.json'))
  await repo.add('datasets/flights', asRevision(t, half, 'flights.json'))
  const grown = await repo.add('datasets/flights', asRevision(t, all, 'flights.json'))
  t.equal((await repo.stat('datasets/flights', undefined, 'flights.json')).format, 'json-array')
  // The new half is ~50% of the bytes; stored compressed, and at most a chunk or two of the old half again.
  t.ok(grown.newStoredBytes < 0.6 * alone.newStoredBytes,
    `20k records after their first 10k stored ${grown.newStoredBytes} bytes; alone ${alone.newStoredBytes}`)

  // Records inserted in the middle: only the chunks around the insertion are new.
  const inserted = enc.encode(JSON.stringify([...rows.slice(0, 5000), ...rows.slice(15_000, 15_300), ...rows.slice(5000, 10_000)]))
  const { repo: r2 } = await freshRepo(t)
  const base = await r2.add('datasets/flights', asRevision(t, half, 'flights.json'))
  const ins = await r2.add('datasets/flights', asRevision(t, inserted, 'flights.json'))
  t.ok(ins.newStoredBytes < 0.4 * base.newStoredBytes, `3% of records inserted stored ${ins.newStoredBytes} bytes; the base ${base.newStoredBytes}`)
})

t.test('flights-10k after flights-5k (the vega subsets): below zstd -19 alone and within 1.5x --patch-from', async t => {
  // The vega subsets are random samples of one table in date order: the 5k
  // records are interleaved with the other 5k of flights-10k (about every
  // second record), so no run of records long enough for a 32 KiB chunk is
  // shared and chunk dedup alone finds nothing. A file this small is one
  // chunk per segment (chunker.ts wholeMax), stored as one delta against the
  // whole previous version.
  const { repo } = await freshRepo(t)
  const alone = await (await freshRepo(t)).repo.add('datasets/flights', corpusPath(`${SUBSETS}/flights-10k.json`))
  await repo.add('datasets/flights', asRevision(t, readCorpus(`${SUBSETS}/flights-5k.json`), 'flights.json'))
  const after = await repo.add('datasets/flights', asRevision(t, readCorpus(`${SUBSETS}/flights-10k.json`), 'flights.json'))
  t.comment(`flights-10k.json alone stores ${alone.newStoredBytes} bytes, after flights-5k.json ${after.newStoredBytes}`)
  t.ok(after.newStoredBytes < 0.6 * alone.newStoredBytes, `after flights-5k: ${after.newStoredBytes} of ${alone.newStoredBytes}`)
  const z = (args: string[]): number => {
    const r = spawnSync('zstd', ['-q', '-c', ...args], { maxBuffer: 1 << 30 })
    return r.status === 0 ? r.stdout.length : NaN
  }
  const pf = z(['-19', '--long=27', `--patch-from=${corpusPath(`${SUBSETS}/flights-5k.json`)}`, corpusPath(`${SUBSETS}/flights-10k.json`)])
  if (Number.isNaN(pf)) {
    t.comment('SKIPPED LOUDLY: zstd CLI missing, no --patch-from reference (run scripts/install-system-deps.sh)')
    return
  }
  t.ok(after.newStoredBytes <= 1.5 * pf, `after flights-5k: ${after.newStoredBytes} <= 1.5 x patch-from ${pf}`)
  t.ok(after.newStoredBytes < z(['-19', corpusPath(`${SUBSETS}/flights-10k.json`)]), 'below zstd -19 of flights-10k alone')
})
