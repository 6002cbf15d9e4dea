import t from 'tap'
import { cidOf, Codec, verifyBlock } from '../../src/hash/cid.js'

t.test('a raw block CID names its BLAKE3 and verifies', async t => {
  const bytes = new TextEncoder().encode('hello tenpak')
  const cid = cidOf(Codec.RAW, bytes)
  t.equal(cid.version, 1)
  t.equal(cid.code, 0x55)
  t.equal(cid.multihash.code, 0x1e)
  t.equal(cid.multihash.digest.length, 32)
  verifyBlock(cid, bytes)
  const bad = bytes.slice(); bad[0] ^= 1
  t.throws(() => verifyBlock(cid, bad), { code: 'ERR_HASH_MISMATCH' })
})
