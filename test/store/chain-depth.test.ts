import t from 'tap'
import { freshRepo } from '../helpers/store.js'
import { chainDepthLimit, DELTA_DECODE_BUDGET, MAX_DELTA_DEPTH, MIN_CHAIN_DEPTH, PATCH_DECODE_BUDGET } from '../../src/store/block-store.js'
import { deltaDepth, SKIP_TO_DEPTH, usableBase } from '../../src/repo/add.js'
import { encodeDelta } from '../../src/codec/delta.js'
import { cidFromDigest, Codec, type CID } from '../../src/hash/cid.js'
import { blake3 } from '../../src/hash/blake3.js'

t.test('chainDepthLimit: decode budget by chunk size, patch-coded kinds get the larger budget', async t => {
  t.equal(chainDepthLimit(256 * 1024), DELTA_DECODE_BUDGET / (256 * 1024), 'a 256 KiB tensor piece: 32')
  t.equal(chainDepthLimit(256 * 1024, 'tensor'), 32)
  t.equal(chainDepthLimit(178_686, 'records'), Math.floor(PATCH_DECODE_BUDGET / 178_686), 'a 178 KB CSV version: 187')
  t.equal(chainDepthLimit(178_686), Math.floor(DELTA_DECODE_BUDGET / 178_686), '... 46 under the default budget')
  t.equal(chainDepthLimit(50_000, 'bytes'), MAX_DELTA_DEPTH, 'small chunks: capped at MAX_DELTA_DEPTH')
  t.equal(chainDepthLimit(0), MAX_DELTA_DEPTH)
  t.equal(chainDepthLimit(64 << 20, 'records'), MIN_CHAIN_DEPTH, 'huge chunks: at least MIN_CHAIN_DEPTH')
})

t.test('usableBase keeps a chain within its limit and then falls back to the ancestor at SKIP_TO_DEPTH; the tip reads back', async t => {
  const { repo } = await freshRepo(t)
  const length = 300_000
  const tensorLimit = chainDepthLimit(length) // 27
  const textLimit = chainDepthLimit(length, 'records') // 111
  t.ok(tensorLimit < textLimit && textLimit < MAX_DELTA_DEPTH)
  // version 0: text rows; version i: one more row edited — each stored as a patch of the one before
  const rows = Array.from({ length: 12_000 }, (_, i) => `${i},${(i * 7919) % 10007},row ${i}`)
  const text = (): Uint8Array => new TextEncoder().encode(rows.join('\n').slice(0, length).padEnd(length, '\n'))
  const versions: Uint8Array[] = []
  const cids: CID[] = []
  const w = repo.blocks.writer()
  for (let i = 0; i <= textLimit + 1; i++) {
    if (i > 0) rows[(i * 97) % rows.length] = `${i},edited,${i}`
    const bytes = text()
    const cid = cidFromDigest(Codec.RAW, blake3(bytes))
    const enc = i === 0 ? undefined : encodeDelta(bytes, versions[i - 1], { kind: 'records' }, { patchLevel: 1 })
    w.put(cid, bytes, enc == null ? { hint: { kind: 'records' } } : { encoded: { ...enc, base: cids[i - 1] } })
    versions.push(bytes)
    cids.push(cid)
  }
  await w.flush()
  t.equal(deltaDepth(repo.blocks, cids[textLimit + 1]), textLimit + 1)
  // default budget: the block at depth limit-1 may take one more; the one at depth limit may not
  t.equal(usableBase(repo.blocks, cids[tensorLimit - 1], length).toString(), cids[tensorLimit - 1].toString())
  t.equal(usableBase(repo.blocks, cids[tensorLimit], length).toString(), cids[SKIP_TO_DEPTH].toString(), 'full: falls back to its chain\'s ancestor at depth SKIP_TO_DEPTH')
  // records: the chain may grow to the patch budget's limit
  t.equal(usableBase(repo.blocks, cids[tensorLimit], length, 'records').toString(), cids[tensorLimit].toString())
  t.equal(usableBase(repo.blocks, cids[textLimit - 1], length, 'records').toString(), cids[textLimit - 1].toString())
  const back = usableBase(repo.blocks, cids[textLimit], length, 'records')
  t.equal(back.toString(), cids[SKIP_TO_DEPTH].toString(), 'full: the ancestor at depth SKIP_TO_DEPTH')
  t.equal(deltaDepth(repo.blocks, back), SKIP_TO_DEPTH)
  // the deepest block still reads back, hash-checked, through its whole chain
  t.ok(Buffer.from(await repo.blocks.get(cids[textLimit + 1])).equals(versions[textLimit + 1]))
  // its direct base is now cached decoded: reading it again, or the next version up, starts there
  const before = repo.blocks.baseCacheStats()
  t.ok(Buffer.from(await repo.blocks.get(cids[textLimit + 1])).equals(versions[textLimit + 1]), 'again, from the cached base')
  const after = repo.blocks.baseCacheStats()
  t.equal(after.hits, before.hits + 1, 'one hit: the direct base')
  t.equal(after.misses, before.misses, 'and no chain walked')
  t.ok(after.bytes <= length * 2, `only direct bases kept (${after.bytes} bytes)`)
  // every version, oldest first, reads back (each one's base was the previous read's target)
  for (let i = 0; i < versions.length; i += 7) t.ok(Buffer.from(repo.blocks.getSync(cids[i])).equals(versions[i]), `version ${i}`)
})
