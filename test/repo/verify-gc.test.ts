import t from 'tap'
import { openSync, readSync, writeSync, closeSync, statSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, packFiles } from '../helpers/store.js'
import { createRepo } from '../../src/repo/repo.js'

t.test('verify passes on a healthy store and names every corrupted entry', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('org/pose', join(corpusDir, 'models/mediapipe-pose_detection-series'))
  const ok = await repo.verify()
  t.ok(ok.ok)
  t.ok(ok.entries > 10 && ok.reachable === ok.entries)
  const [pack] = packFiles(join(repo.dir))
  // flip one byte in the middle of the pack data
  const fd = openSync(pack, 'r+')
  const b = Buffer.alloc(1)
  const at = Math.floor(statSync(pack).size / 3)
  readSync(fd, b, 0, 1, at); b[0] ^= 0xff; writeSync(fd, b, 0, 1, at); closeSync(fd)
  const bad = await repo.verify()
  t.equal(bad.ok, false)
  t.ok(bad.bad.some(p => p.kind === 'pack' && /pack id/.test(p.error)), 'pack hash mismatch reported')
  t.ok(bad.bad.some(p => p.kind === 'entry'), 'corrupted entry reported')
  // and reads refuse to return corrupted bytes
  let threw = 0
  for (const f of (await repo.manifest(await repo.resolve('org/pose'))).files) {
    try { for await (const _ of repo.read(f)) { /* drain */ } } catch (err) { if ((err as { code?: string }).code === 'ERR_HASH_MISMATCH' || (err as { code?: string }).code === 'ERR_CODEC') threw++ }
  }
  t.ok(threw >= 1, 'a read of the corrupted file fails with a stable code')
})

t.test('verify --rebuild-index recreates the index from the packs alone', async t => {
  const { repo, dir } = await freshRepo(t)
  const src = join(corpusDir, 'datasets/debian-wordlists')
  await repo.add('datasets/debian/words', src)
  const before = await repo.stats()
  await repo.close()
  rmSync(join(dir, 'store', 'index'), { recursive: true })
  const again = await createRepo({ dir: join(dir, 'store') })
  t.teardown(() => again.close())
  const rep = await again.verify({ rebuildIndex: true })
  t.ok(rep.ok, JSON.stringify(rep.bad.slice(0, 3)))
  const after = await again.stats()
  t.same(after, before, 'same stats after rebuild')
  const out = join(dir, 'out')
  await again.export('datasets/debian/words', undefined, out)
  t.equal(spawnSync('diff', ['-r', src, out]).status, 0)
})

t.test('gc removes what no ref reaches and keeps everything reachable', async t => {
  const { repo, dir } = await freshRepo(t)
  const a = join(corpusDir, 'models/mediapipe-face_landmark-retrain-2020')
  const b = join(corpusDir, 'models/mediapipe-palm_detection_full-repack')
  await repo.add('org/keep', a)
  await repo.add('org/drop', b)
  const full = await repo.stats()
  // deleting the branch leaves org/drop's blocks unreferenced
  await repo.setRef('org/drop', 'heads', 'main', undefined)
  const rep = await repo.gc()
  t.ok(rep.blocksRemoved > 0)
  const after = await repo.stats()
  t.ok(after.storedBytes < full.storedBytes - 2_000_000, `stored ${full.storedBytes} → ${after.storedBytes}`)
  t.ok((await repo.verify()).ok)
  const out = join(dir, 'out')
  await repo.export('org/keep', undefined, out)
  t.equal(spawnSync('diff', ['-r', a, out]).status, 0)
  t.same(await repo.gc(), { packsRemoved: 0, packsRewritten: 0, blocksRemoved: 0, bytesFreed: 0, tmpRemoved: 0, packsMerged: 0 }, 'second gc finds nothing')
})

t.test('gc run concurrently with add loses nothing', async t => {
  const { repo, dir } = await freshRepo(t, { packTarget: 1 << 20 })
  const a = join(corpusDir, 'datasets/sp500-constituents-git-series')
  const b = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')
  await repo.add('datasets/x/old', join(corpusDir, 'datasets/gsm8k-test-socratic'))
  await repo.setRef('datasets/x/old', 'heads', 'main', undefined)
  const results = await Promise.all([repo.add('datasets/x/sp500', a), repo.gc(), repo.add('org/peft', b), repo.gc()])
  t.ok(results[1].blocksRemoved > 0 || results[3].blocksRemoved > 0, 'garbage was collected')
  t.ok((await repo.verify()).ok)
  for (const [name, src] of [['datasets/x/sp500', a], ['org/peft', b]]) {
    const out = join(dir, name.replace(/\//g, '_'))
    await repo.export(name, undefined, out)
    t.equal(spawnSync('diff', ['-r', src, out]).status, 0, `${name} intact`)
  }
})
