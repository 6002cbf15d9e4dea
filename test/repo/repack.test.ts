import t from 'tap'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { freshRepo, packFiles, runCli, tempDir } from '../helpers/store.js'
import { createRepo, type Repo } from '../../src/repo/repo.js'
import { AUTO_REPACK_PACKS, METADATA_CHAIN_MAX, SMALL_PACK_MAX } from '../../src/repo/gc.js'
import { deltaDepth } from '../../src/repo/add.js'
import { CID } from '../../src/hash/cid.js'
import { CodecId } from '../../src/codec/types.js'
import { decodeCommit } from '../../src/objects/commit.js'
import { decodePackFooter, PACK_FOOTER_SIZE } from '../../src/store/pack-format.js'

/** Version i of a daily-updated CSV: rows appended, one old row revised now and then. */
function version (i: number): string {
  const rows = ['date,price,volume']
  for (let d = 0; d < 300 + i * 3; d++) rows.push(`2020-${String(1 + (d % 12)).padStart(2, '0')}-${String(1 + (d % 28)).padStart(2, '0')},${(50 + Math.sin(d) * 10 + (d === i ? 0.5 : 0)).toFixed(2)},${1000 + ((d * 7919) % 5000)}`)
  return rows.join('\n') + '\n'
}

/** Add `n` versions of the CSV to datasets/t/prices, one commit each; returns the version dirs. */
async function addSeries (t: Tap.Test, repo: Repo, n: number, onAdd?: (i: number) => Promise<void>): Promise<string[]> {
  const root = tempDir(t)
  const dirs: string[] = []
  for (let i = 0; i < n; i++) {
    const d = join(root, `v${i}`)
    mkdirSync(d)
    writeFileSync(join(d, 'prices.csv'), version(i))
    dirs.push(d)
    await repo.add('datasets/t/prices', d, { message: `version ${i}`, time: 1_700_000_000_000 + i * 86_400_000 })
    await onAdd?.(i)
  }
  return dirs
}

/** Every version of the series, oldest first, exported and compared with its source. */
async function checkEveryVersion (t: Tap.Test, repo: Repo, dirs: string[]): Promise<void> {
  const log = (await repo.log('datasets/t/prices', { limit: 10_000 })).reverse()
  t.equal(log.length, dirs.length, 'one commit per version')
  const out = tempDir(t)
  for (const [i, entry] of log.entries()) {
    const o = join(out, String(i))
    await repo.export('datasets/t/prices', entry.commit, o)
    t.ok(readFileSync(join(o, 'prices.csv')).equals(readFileSync(join(dirs[i], 'prices.csv'))), `version ${i} reads back byte-identical`)
  }
}

t.test('add merges small packs as they accumulate; every version reads back and commits become patches of their parents', async t => {
  const { repo } = await freshRepo(t)
  const twin = await freshRepo(t, { autoRepack: false })
  const n = METADATA_CHAIN_MAX + 8
  let most = 0
  const dirs = await addSeries(t, repo, n, async () => { most = Math.max(most, packFiles(repo.dir).length) })
  await addSeries(t, twin.repo, n)
  t.ok(most <= AUTO_REPACK_PACKS, `never more than ${AUTO_REPACK_PACKS} packs (at most ${most})`)
  t.equal(packFiles(twin.repo.dir).length, n, 'without autoRepack: one pack per add')
  const merged = (await repo.stats()).storedBytes
  const apart = (await twin.repo.stats()).storedBytes
  t.ok(merged < apart * 0.85, `merged packs store ${merged} bytes, one pack per add ${apart}`)
  await checkEveryVersion(t, repo, dirs)
  t.ok((await repo.verify()).ok, 'verify passes')
  // the commits and manifests of older versions are patches of their parent's, chains bounded
  const log = await repo.log('datasets/t/prices', { limit: 10_000 })
  let patched = 0
  let deepest = 0
  for (const entry of log) {
    const cid = CID.parse(entry.commit)
    const loc = repo.blocks.location(cid)
    const c = decodeCommit(cid, await repo.blocks.get(cid))
    if (loc?.base != null) {
      patched++
      t.equal(loc.codec, CodecId.DELTA_CHILD, 'a commit is a DELTA_CHILD of its parent')
      t.equal(loc.base.toString(), c.parents[0].toString(), 'a commit patches against its parent')
      const m = repo.blocks.location(c.manifest)
      t.ok(m?.base != null, 'and its manifest against the parent\'s manifest')
    }
    deepest = Math.max(deepest, deltaDepth(repo.blocks, cid))
  }
  t.ok(patched > n / 2, `${patched} of ${n} commits stored as patches`)
  t.ok(deepest <= METADATA_CHAIN_MAX, `commit chains at most ${METADATA_CHAIN_MAX} deep (${deepest})`)
})

t.test('the index rebuilt from merged packs (bases named by position) reads every version', async t => {
  const { repo, dir } = await freshRepo(t)
  const dirs = await addSeries(t, repo, AUTO_REPACK_PACKS + 2)
  await repo.gc()
  t.equal(packFiles(repo.dir).length, 1, 'gc leaves one pack')
  const [pack] = packFiles(repo.dir)
  const bytes = readFileSync(pack)
  t.equal(decodePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_SIZE), bytes.length).version, 3)
  const before = await repo.stats()
  await repo.close()
  rmSync(join(dir, 'store', 'index'), { recursive: true })
  const again = await createRepo({ dir: join(dir, 'store') })
  t.teardown(async () => await again.close())
  const rep = await again.verify({ rebuildIndex: true })
  t.ok(rep.ok, JSON.stringify(rep.bad.slice(0, 3)))
  t.same(await again.stats(), before, 'same stats after the rebuild')
  await checkEveryVersion(t, again, dirs)
})

t.test('gc after a branch is cut back keeps the bases live commits are patched against', async t => {
  const { repo } = await freshRepo(t)
  const dirs = await addSeries(t, repo, 2 * AUTO_REPACK_PACKS)
  const log = (await repo.log('datasets/t/prices', { limit: 100 })).reverse()
  // main back to version 5: later versions are garbage; versions ≤ 5 may patch against each other
  await repo.setRef('datasets/t/prices', 'heads', 'main', CID.parse(log[5].commit))
  const rep = await repo.gc()
  t.ok(rep.blocksRemoved > 0, `${rep.blocksRemoved} blocks removed`)
  t.ok((await repo.verify()).ok)
  await checkEveryVersion(t, repo, dirs.slice(0, 6))
})

t.test('a large add is left alone: only packs under SMALL_PACK_MAX are merged', async t => {
  const { repo } = await freshRepo(t, { autoRepack: false })
  const big = join(tempDir(t), 'big')
  mkdirSync(big)
  writeFileSync(join(big, 'weights.bin'), randomBytes(SMALL_PACK_MAX + 65536)) // incompressible: a pack over the limit
  await repo.add('org/big', big)
  t.ok((await repo.stats()).storedBytes >= SMALL_PACK_MAX, 'the big add made a large pack')
  await addSeries(t, repo, 3)
  t.equal(packFiles(repo.dir).length, 4)
  const rep = await repo.gc()
  t.equal(rep.packsMerged, 3, 'the three small packs merged')
  t.equal(packFiles(repo.dir).length, 2, 'the large pack untouched beside the merged one')
  t.ok((await repo.verify()).ok)
})

t.test('tenpak gc reports merged packs (text and --json)', async t => {
  const store = join(tempDir(t), 'store')
  const src = tempDir(t)
  for (let i = 0; i < 3; i++) {
    const d = join(src, `v${i}`)
    mkdirSync(d)
    writeFileSync(join(d, 'prices.csv'), version(i))
    t.equal(runCli(['add', 'datasets/t/prices', d], { store }).status, 0)
  }
  const text = runCli(['gc'], { store })
  t.equal(text.status, 0, text.stderr.toString())
  t.match(text.stdout.toString(), /3 small packs merged/)
  const json = runCli(['gc', '--json'], { store })
  t.equal(JSON.parse(json.stdout.toString()).packsMerged, 0, 'nothing left to merge')
})
