import { randomBytes } from 'node:crypto'
import t from 'tap'
import { joinPlanes, planeLength, splitPlanes } from '../../src/codec/bytegroup.js'
import { equals } from '../../src/util/bytes.js'

/** The definition, one byte at a time, to check the word-at-a-time paths against. */
function referenceSplit (src: Uint8Array, w: number): Uint8Array {
  const n = Math.floor(src.length / w)
  const out = new Uint8Array(src.length)
  for (let k = 0; k < w; k++) for (let i = 0; i < n; i++) out[k * n + i] = src[i * w + k]
  out.set(src.subarray(n * w), n * w)
  return out
}

t.test('plane k holds byte k of every little-endian word, tail kept at the end', async t => {
  // Two BF16 words 0x3f80 (1.0) and 0xc000 (-2.0), then one trailing byte.
  t.same(splitPlanes(Uint8Array.of(0x80, 0x3f, 0x00, 0xc0, 0x99), 2), Uint8Array.of(0x80, 0x00, 0x3f, 0xc0, 0x99))
  const words = Uint8Array.of(0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 7, 8)
  t.same(splitPlanes(words, 4), Uint8Array.of(0, 10, 20, 30, 1, 11, 21, 31, 2, 12, 22, 32, 3, 13, 23, 33, 7, 8))
  t.equal(planeLength(18, 4), 4)
})

t.test('split and join round-trip for every word size, length and alignment', async t => {
  // Multiples of 16 (and of 8 or 16 plus a tail) take the word-at-a-time path.
  const lengths = [0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 32, 33, 1023, 1024, 1027, 4097, 4099, 65_536, 262_144 + 6]
  for (const w of [1, 2, 4, 8]) {
    for (const len of lengths) {
      const backing = randomBytes(len + 3)
      for (const offset of [0, 1]) {
        // offset 1 misaligns the input, which must not change the result.
        const src = new Uint8Array(backing.buffer, backing.byteOffset + offset, len)
        const grouped = splitPlanes(src, w)
        t.ok(equals(grouped, referenceSplit(src, w)), `split w=${w} len=${len} offset=${offset}`)
        t.ok(equals(joinPlanes(grouped, w), src), `join w=${w} len=${len} offset=${offset}`)
      }
    }
  }
})

t.test('writes into a caller buffer, aligned or not', async t => {
  const src = randomBytes(4096)
  for (const w of [2, 4]) {
    const unaligned = new Uint8Array(4097).subarray(1)
    t.equal(splitPlanes(src, w, unaligned), unaligned)
    t.ok(equals(unaligned, referenceSplit(src, w)), `split into unaligned w=${w}`)
    const back = new Uint8Array(4099).subarray(3)
    t.ok(equals(joinPlanes(unaligned, w, back), src), `join into unaligned w=${w}`)
  }
})

t.test('rejects bad word sizes and output lengths', async t => {
  t.throws(() => splitPlanes(new Uint8Array(8), 0), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => splitPlanes(new Uint8Array(8), 9), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => joinPlanes(new Uint8Array(8), 2.5), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => splitPlanes(new Uint8Array(8), 2, new Uint8Array(7)), { code: 'ERR_BAD_ARGUMENT' })
})
