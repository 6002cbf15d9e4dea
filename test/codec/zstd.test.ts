import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createZstd, zstdBound } from '../../src/codec/zstd.js'
import { equals } from '../../src/util/bytes.js'

const text = new TextEncoder().encode('{"question": "how many apples", "answer": 42}\n'.repeat(500))

t.test('round-trips random, zeros, text, odd and empty inputs at several levels', async t => {
  const z = createZstd()
  const inputs: Record<string, Uint8Array> = {
    random: randomBytes(10_007),
    zeros: new Uint8Array(65_536),
    text,
    odd: randomBytes(3),
    empty: new Uint8Array(0)
  }
  for (const [name, src] of Object.entries(inputs)) {
    for (const params of [1, 3, 19, -1, { level: 1, minMatch: 7, hashLog: 8 }]) {
      const c = z.compress(src, params)
      t.ok(c.length <= zstdBound(src.length), `${name} ${JSON.stringify(params)} within bound`)
      t.ok(equals(z.decompress(c, src.length), src), `${name} ${JSON.stringify(params)}`)
    }
  }
})

t.test('compressInto writes into the given buffer and returns the frame length', async t => {
  const z = createZstd()
  const dst = new Uint8Array(zstdBound(text.length))
  const n = z.compressInto(dst, text, 1)
  t.ok(n > 0 && n < text.length / 10)
  t.ok(equals(z.decompress(dst.subarray(0, n), text.length), text))
})

t.test('decompression is bounded by the known length', async t => {
  const z = createZstd()
  const c = z.compress(text, 1)
  t.throws(() => z.decompress(c, text.length - 1), { code: 'ERR_CODEC' }, 'longer than expected')
  t.throws(() => z.decompress(c, text.length + 1), { code: 'ERR_CODEC' }, 'shorter than expected')
  const into = new Uint8Array(100)
  t.throws(() => z.decompressInto(into, c), { code: 'ERR_CODEC' }, 'never writes past dst')
})

t.test('malformed frames are ERR_CODEC', async t => {
  const z = createZstd()
  const c = z.compress(text, 3)
  t.throws(() => z.decompress(c.subarray(0, c.length - 3), text.length), { code: 'ERR_CODEC' }, 'truncated')
  const badMagic = c.slice()
  badMagic[0] ^= 0xff
  t.throws(() => z.decompress(badMagic, text.length), { code: 'ERR_CODEC' }, 'bad magic')
  t.throws(() => z.decompress(randomBytes(200), 1000), { code: 'ERR_CODEC' }, 'garbage')
  t.throws(() => z.decompress(new Uint8Array(0), 0), { code: 'ERR_CODEC' }, 'empty input is not a frame')
  t.throws(() => z.decompress(c, -1), { code: 'ERR_CODEC' }, 'negative length')
  const trailing = new Uint8Array(c.length + 4)
  trailing.set(c)
  t.throws(() => z.decompress(trailing, text.length), { code: 'ERR_CODEC' }, 'trailing junk')
})

t.test('rejects levels and parameters zstd would not honour', async t => {
  const z = createZstd()
  for (const params of [0, 1.5, 23, -1_000_000, { level: 1, minMatch: 9 }, { level: 1, hashLog: 2 }]) {
    t.throws(() => z.compress(text, params), { code: 'ERR_BAD_ARGUMENT' }, JSON.stringify(params))
  }
})
