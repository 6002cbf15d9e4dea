import t from 'tap'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { importPackFile, openPackFile, packFileSize, verifyPackFile, writePackFile, type EncodedEntry } from '../../src/store/pack-file.js'
import { decodePackFooter, PACK_FOOTER_SIZE, PACK_VERSION } from '../../src/store/pack-format.js'
import { decodeChunk } from '../../src/codec/codecs.js'
import { cidFromDigest, cidOf, Codec, inlineCid } from '../../src/hash/cid.js'
import { blake3 } from '../../src/hash/blake3.js'
import { freshRepo, tempDir } from '../helpers/store.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/packs/', import.meta.url))

/** The logical bytes of the three entries of test/fixtures/packs/v1.pack (as it was written). */
function fixtureBlocks (): Uint8Array[] {
  const enc = new TextEncoder()
  const a = enc.encode('date,price\n' + Array.from({ length: 400 }, (_, i) => `2020-01-${String(i % 28 + 1).padStart(2, '0')},${(50 + i / 7).toFixed(2)}`).join('\n') + '\n')
  const b = enc.encode(new TextDecoder().decode(a) + '2021-02-01,99.99\n')
  const c = enc.encode('tenpak v1 pack fixture: a raw entry')
  return [a, b, c]
}

// v1: 55-byte records before the compact index; v2: compact records, every base by its digest
for (const version of [1, 2]) {
t.test(`a v${version} pack (written by an earlier tenpak) is still read, verified and imported`, async t => {
  const file = join(FIXTURES, `v${version}.pack`)
  const meta = JSON.parse(readFileSync(join(FIXTURES, `v${version}.json`), 'utf8')) as { entries: Array<{ cid: string, codec: number, base?: string }> }
  const bytes = readFileSync(file)
  t.equal(decodePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_SIZE), bytes.length).version, version)
  const pack = openPackFile(file)
  t.same(pack.entries.map(e => ({ cid: e.cid.toString(), codec: e.codec, base: e.base?.toString() })), meta.entries.map(e => ({ cid: e.cid, codec: e.codec, base: e.base })))
  const blocks = fixtureBlocks()
  const [a, b, c] = pack.entries
  t.ok(Buffer.from(decodeChunk(a.codec, pack.read(a), a.logicalLength)).equals(blocks[0]))
  t.ok(Buffer.from(decodeChunk(b.codec, pack.read(b), b.logicalLength, blocks[0])).equals(blocks[1]), 'the delta entry against its base in the same pack')
  t.ok(Buffer.from(decodeChunk(c.codec, pack.read(c), c.logicalLength)).equals(blocks[2]))
  verifyPackFile(pack, { has: () => false, getSync: () => { throw new Error('no store') } })
  pack.close()
  // imported into a store as it is: every block reads back
  const { repo, dir } = await freshRepo(t)
  const copy = join(dir, `v${version}.pack`)
  copyFileSync(file, copy)
  await importPackFile(copy, repo.blocks, tempDir(t))
  for (const [i, blk] of blocks.entries()) t.ok(Buffer.from(await repo.blocks.get(cidFromDigest(Codec.RAW, blake3(blk)))).equals(blk), `block ${i} from the imported v${version} pack`)
})
}

t.test('packs are written as v3: compact records that round-trip every kind of CID, offset and base', async t => {
  t.equal(PACK_VERSION, 3)
  const raw = new Uint8Array(3000).fill(7)
  const node = new Uint8Array([0x0a, 0x02, 0x08, 0x02])
  const entries: EncodedEntry[] = [
    { cid: cidFromDigest(Codec.RAW, blake3(raw)), codec: 0, data: raw, logicalLength: raw.length },
    { cid: cidOf(Codec.DAG_PB, node), codec: 0, data: node, logicalLength: node.length, base: cidFromDigest(Codec.RAW, blake3(raw)) },
    // a CID that is not BLAKE3-256 of a known codec is kept whole (here an identity CID, as a base)
    { cid: cidOf(Codec.DAG_CBOR, new Uint8Array([0xa0])), codec: 0, data: new Uint8Array([0xa0]), logicalLength: 1, base: inlineCid(new Uint8Array([1, 2, 3])) }
  ]
  const file = join(tempDir(t), 'v3.pack')
  const w = writePackFile(file, entries)
  t.equal(w.size, packFileSize(entries), 'packFileSize is what writePackFile writes')
  const bytes = readFileSync(file)
  t.equal(decodePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_SIZE), bytes.length).version, 3)
  const pack = openPackFile(file)
  t.same(pack.entries.map(e => [e.cid.toString(), e.codec, e.storedLength, e.logicalLength, e.base?.toString()]), entries.map(e => [e.cid.toString(), e.codec, e.data.length, e.logicalLength, e.base?.toString()]))
  t.ok(Buffer.from(pack.read(pack.entries[1])).equals(node))
  pack.close()
  // v1 took 55 bytes a record (91 with a base); v3 about 40 (42 with a base in the same pack)
  const indexLength = bytes.readUInt32LE(bytes.length - PACK_FOOTER_SIZE + 8)
  t.ok(indexLength < 40 + 45 + 80, `index trailer of ${indexLength} bytes for 3 records`)
  // the same base outside the pack costs its 32-byte digest
  const outside = join(tempDir(t), 'outside.pack')
  writePackFile(outside, entries.slice(1))
  const ob = readFileSync(outside)
  t.ok(ob.readUInt32LE(ob.length - PACK_FOOTER_SIZE + 8) > indexLength - 40 + 30, 'a base elsewhere is named by digest')
  t.equal(openPackFile(outside).entries[0].base?.toString(), entries[1].base?.toString())
  // a damaged index is refused, never misread
  const bad = Buffer.from(bytes)
  const indexOffset = Number(bad.readBigUInt64LE(bad.length - PACK_FOOTER_SIZE))
  bad[indexOffset + 1] = 9 // an unknown CID tag
  const badFile = join(tempDir(t), 'bad.pack')
  writeFileSync(badFile, bad)
  t.throws(() => openPackFile(badFile), { code: 'ERR_BAD_PACK' })
})

t.test('a v3 base position outside the pack, or naming the entry itself, is refused', async t => {
  const raw = new Uint8Array(3000).fill(7)
  const other = new Uint8Array(3000).fill(8)
  const entries: EncodedEntry[] = [
    { cid: cidFromDigest(Codec.RAW, blake3(raw)), codec: 0, data: raw, logicalLength: raw.length },
    { cid: cidFromDigest(Codec.RAW, blake3(other)), codec: 0, data: other, logicalLength: other.length, base: cidFromDigest(Codec.RAW, blake3(raw)) }
  ]
  const file = join(tempDir(t), 'ok.pack')
  writePackFile(file, entries)
  const bytes = readFileSync(file)
  const indexOffset = Number(bytes.readBigUInt64LE(bytes.length - PACK_FOOTER_SIZE))
  const indexLength = bytes.readUInt32LE(bytes.length - PACK_FOOTER_SIZE + 8)
  // the last two bytes of the trailer are the second record's base: tag 5, position 0
  t.same([...bytes.subarray(indexOffset + indexLength - 2, indexOffset + indexLength)], [5, 0])
  for (const k of [1, 2, 9]) {
    const bad = Buffer.from(bytes)
    bad[indexOffset + indexLength - 1] = k
    // re-seal the footer's index hash, so the record itself is what is judged
    bad.set(blake3(bad.subarray(indexOffset, indexOffset + indexLength)), bad.length - PACK_FOOTER_SIZE + 16)
    const badFile = join(tempDir(t), `bad-${k}.pack`)
    writeFileSync(badFile, bad)
    t.throws(() => openPackFile(badFile), { code: 'ERR_BAD_PACK' }, `base position ${k}`)
  }
})
