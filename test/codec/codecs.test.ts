import { randomBytes } from 'node:crypto'
import t from 'tap'
import { createChunkCodec, decodeChunk, encodeChunk, wordSizeForHint } from '../../src/codec/codecs.js'
import { CodecId } from '../../src/codec/types.js'
import type { EncodeHint } from '../../src/codec/types.js'
import { equals } from '../../src/util/bytes.js'

/** Deterministic pseudo-normal weights (σ≈0.02) as f32 bytes: compressible only after grouping. */
function weightsF32 (count: number, seed = 1): Uint8Array {
  const f = new Float32Array(count)
  let s = seed
  const rnd = (): number => { s = (s * 1103515245 + 12345) >>> 0; return (s + 1) / 4294967297 }
  for (let i = 0; i < count; i++) f[i] = 0.02 * Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd())
  return new Uint8Array(f.buffer)
}

/** Truncate f32 bytes to bf16 (upper halves), enough for codec tests. */
function toBf16 (f32: Uint8Array): Uint8Array {
  const out = new Uint8Array(f32.length / 2)
  for (let i = 0, j = 0; j < f32.length; i += 2, j += 4) { out[i] = f32[j + 2]; out[i + 1] = f32[j + 3] }
  return out
}

const text = new TextEncoder().encode(Array.from({ length: 2000 }, (_, i) => `{"id":${i},"text":"row ${i % 37}"}`).join('\n'))

const hints: Record<string, EncodeHint> = {
  f32: { kind: 'tensor', dtype: 'F32' },
  bf16: { kind: 'tensor', dtype: 'BF16' },
  f16: { kind: 'tensor', dtype: 'F16' },
  f64: { kind: 'tensor', dtype: 'F64' },
  wordSize4: { wordSize: 4 },
  tensorNoDtype: { kind: 'tensor' },
  header: { kind: 'header' },
  records: { kind: 'records' },
  none: {}
}

const inputs: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  tiny: Uint8Array.of(1, 2, 3),
  random: randomBytes(65_536 + 3),
  zeros: new Uint8Array(262_144),
  zerosOdd: new Uint8Array(4099),
  weights: weightsF32(65_536),
  weightsOdd: weightsF32(10_000).subarray(0, 39_999),
  bf16Weights: toBf16(weightsF32(65_536)),
  bf16Odd: toBf16(weightsF32(1001)).subarray(0, 2001),
  text
}

t.test('every input round-trips under every hint', async t => {
  const seen = new Set<number>()
  for (const [hn, hint] of Object.entries(hints)) {
    for (const [name, bytes] of Object.entries(inputs)) {
      const enc = encodeChunk(bytes, hint)
      seen.add(enc.codec)
      t.ok(enc.data.length <= bytes.length, `${name}/${hn} never grows`)
      t.ok(equals(decodeChunk(enc.codec, enc.data, bytes.length), bytes), `${name}/${hn} codec ${enc.codec}`)
    }
  }
  t.same([...seen].sort(), [CodecId.RAW, CodecId.ZSTD, CodecId.BYTEGROUP_ZSTD], 'all three codecs exercised')
})

t.test('each codec round-trips random, zeros, odd-length and empty data when forced', async t => {
  // minSaving 0 keeps compressed forms even when they save nothing, so every
  // codec sees every kind of data.
  const c = createChunkCodec()
  const cases: Array<[string, EncodeHint]> = [['zstd', { kind: 'records' }], ['bytegroup w=2', { wordSize: 2 }], ['bytegroup w=4', { wordSize: 4 }], ['bytegroup w=8', { wordSize: 8 }]]
  for (const [label, hint] of cases) {
    for (const len of [16, 17, 18, 19, 23, 1000, 1001, 1002, 1003, 65_539]) {
      for (const [kind, bytes] of [['random', randomBytes(len)], ['zeros', new Uint8Array(len)], ['weights', weightsF32(Math.ceil(len / 4)).subarray(0, len)]] as const) {
        const enc = c.encodeChunk(bytes, hint, { minSaving: 0 })
        t.ok(equals(c.decodeChunk(enc.codec, enc.data, len), bytes), `${label} ${kind} len=${len} codec ${enc.codec}`)
      }
    }
  }
  t.same(c.decodeChunk(CodecId.RAW, new Uint8Array(0), 0), new Uint8Array(0), 'raw empty')
  const z = c.encodeChunk(new Uint8Array(64), { kind: 'records' })
  t.equal(z.codec, CodecId.ZSTD)
})

t.test('float tensors are byte-grouped and the payload names its word size', async t => {
  const f32 = encodeChunk(inputs.weights, hints.f32)
  t.equal(f32.codec, CodecId.BYTEGROUP_ZSTD)
  t.equal(f32.data[0], 4)
  t.ok(f32.data.length < 0.9 * inputs.weights.length, 'f32 weights shrink by >10%')
  const bf16 = encodeChunk(inputs.bf16Weights, hints.bf16)
  t.equal(bf16.codec, CodecId.BYTEGROUP_ZSTD)
  t.equal(bf16.data[0], 2)
  t.ok(bf16.data.length < 0.75 * inputs.bf16Weights.length, 'bf16 weights shrink by >25%')
  // Decoding needs nothing but (codec, data, logicalLength).
  t.ok(equals(createChunkCodec().decodeChunk(bf16.codec, bf16.data, inputs.bf16Weights.length), inputs.bf16Weights))
})

t.test('keeps incompressible data raw and never aliases the input', async t => {
  const bytes = randomBytes(10_000)
  const enc = encodeChunk(bytes, hints.f32)
  t.equal(enc.codec, CodecId.RAW)
  bytes[0] ^= 1
  t.not(enc.data[0], bytes[0], 'encoded data is a copy')
})

t.test('tries plain zstd on structured tensors, where whole-word matches win', async t => {
  // 1% non-zero weights: grouping leaves four planes of mostly-zero runs,
  // which one plain zstd frame codes more tightly.
  const f = new Float32Array(65_536)
  const w = new Float32Array(weightsF32(f.length).buffer)
  for (let i = 0; i < f.length; i += 97) f[i] = w[i]
  const enc = encodeChunk(new Uint8Array(f.buffer), hints.f32)
  t.equal(enc.codec, CodecId.ZSTD)
  t.ok(equals(decodeChunk(enc.codec, enc.data, f.byteLength), new Uint8Array(f.buffer)))
})

t.test('word size comes from an explicit hint or the dtype', async t => {
  t.equal(wordSizeForHint({ dtype: 'bf16' }), 2)
  t.equal(wordSizeForHint({ dtype: 'F16' }), 2)
  t.equal(wordSizeForHint({ dtype: 'F32' }), 4)
  t.equal(wordSizeForHint({ dtype: 'I8' }), 0)
  t.equal(wordSizeForHint({ dtype: 'F32', wordSize: 2 }), 2)
  t.equal(wordSizeForHint({ wordSize: 3 }), 0)
  t.equal(wordSizeForHint({ kind: 'records' }), 0)
})

t.test('corrupt payloads are ERR_CODEC', async t => {
  const bytes = inputs.weightsOdd
  const len = bytes.length
  const bg = encodeChunk(bytes, hints.f32)
  t.equal(bg.codec, CodecId.BYTEGROUP_ZSTD)
  const withByte = (data: Uint8Array, at: number, value: number): Uint8Array => { const d = data.slice(); d[at] = value; return d }

  const bad: Array<[string, number, Uint8Array, number]> = [
    ['bytegroup: empty', CodecId.BYTEGROUP_ZSTD, new Uint8Array(0), len],
    ['bytegroup: word size 3', CodecId.BYTEGROUP_ZSTD, withByte(bg.data, 0, 3), len],
    ['bytegroup: unknown plane mode', CodecId.BYTEGROUP_ZSTD, withByte(bg.data, 1, 9), len],
    ['bytegroup: truncated', CodecId.BYTEGROUP_ZSTD, bg.data.subarray(0, bg.data.length - 10), len],
    ['bytegroup: header only', CodecId.BYTEGROUP_ZSTD, bg.data.subarray(0, 1), len],
    ['bytegroup: trailing junk', CodecId.BYTEGROUP_ZSTD, Uint8Array.of(...bg.data, 0), len],
    ['bytegroup: wrong logical length', CodecId.BYTEGROUP_ZSTD, bg.data, len + 4],
    ['bytegroup: huge frame length', CodecId.BYTEGROUP_ZSTD, Uint8Array.of(2, 1, 0xff, 0xff, 0xff, 0x7f, 0), 32],
    ['bytegroup: empty zstd frame', CodecId.BYTEGROUP_ZSTD, Uint8Array.of(2, 1, 0, 0, 0, 0, 2, 0), 32],
    ['bytegroup: random garbage', CodecId.BYTEGROUP_ZSTD, Uint8Array.of(4, ...randomBytes(500)), 2000],
    ['zstd: garbage', CodecId.ZSTD, randomBytes(300), 1000],
    ['zstd: truncated', CodecId.ZSTD, encodeChunk(text, hints.records).data.subarray(0, 40), text.length],
    ['zstd: wrong length', CodecId.ZSTD, encodeChunk(text, hints.records).data, text.length - 1],
    ['zstd: empty', CodecId.ZSTD, new Uint8Array(0), 0],
    ['raw: wrong length', CodecId.RAW, new Uint8Array(10), 11],
    ['unknown codec', 9, new Uint8Array(10), 10],
    ['negative length', CodecId.RAW, new Uint8Array(0), -1]
  ]
  for (const [label, codec, data, logical] of bad) {
    t.throws(() => decodeChunk(codec, data, logical), { code: 'ERR_CODEC' }, label)
  }
  // A corrupt byte plane inside a valid envelope: zstd frame magic broken.
  const zstdPlane = bg.data.findIndex((b, i) => i > 0 && b === 1 && bg.data[i + 5] === 0x28 && bg.data[i + 6] === 0xb5)
  t.ok(zstdPlane > 0, 'found a zstd plane')
  t.throws(() => decodeChunk(CodecId.BYTEGROUP_ZSTD, withByte(bg.data, zstdPlane + 5, 0), len), { code: 'ERR_CODEC' }, 'bytegroup: broken plane frame')
})

t.test('rejects bad options', async t => {
  t.throws(() => encodeChunk(text, {}, { minSaving: 1 }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => encodeChunk(text, {}, { textLevel: 0 }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => encodeChunk(inputs.weights, hints.f32, { planes: { level: 1, minMatch: 2 } }), { code: 'ERR_BAD_ARGUMENT' })
})
