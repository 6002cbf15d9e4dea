import t from 'tap'
import type { Test } from 'tap'
import { decodeChunk, encodeChunk } from '../../src/codec/codecs.js'
import { castKindFor, createDeltaCodec, decodeDelta, deltaWordSize, encodeDelta } from '../../src/codec/delta.js'
import type { DeltaEncodeOptions, DeltaHint } from '../../src/codec/delta.js'
import { patchDictionary } from '../../src/codec/delta-patch.js'
import { CastKind, f16ToF32, f32ToBf16, f32ToF16, f32ToF16Trunc } from '../../src/codec/delta-words.js'
import { CodecId, isDeltaCodec } from '../../src/codec/types.js'
import type { Encoded } from '../../src/codec/types.js'
import { isTenpakError } from '../../src/errors.js'
import { equals } from '../../src/util/bytes.js'
import { f32BitsToBf16 } from '../helpers/bf16.js'
import { encodeCommit } from '../../src/objects/commit.js'
import { Codec, cidOf } from '../../src/hash/cid.js'

/** Deterministic PRNG (LCG), uniform in (0, 1). */
function rng (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s + 1) / 4294967297
  }
}

function gauss (r: () => number): number {
  return Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r())
}

/** f32 weights N(0, σ) and a "fine-tuned" copy drifted by `drift` (relative). */
function weightsPair (n: number, drift: number, seed = 1): { base: Uint8Array, derived: Uint8Array } {
  const r = rng(seed)
  const b = new Float32Array(n)
  const d = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    b[i] = 0.02 * gauss(r)
    d[i] = b[i] + drift * 0.02 * gauss(r)
  }
  return { base: new Uint8Array(b.buffer), derived: new Uint8Array(d.buffer) }
}

function randomBytes (n: number, seed: number): Uint8Array {
  const r = rng(seed)
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256)
  return out
}

/** bf16 halves of f32 bytes (round to nearest even). */
function toBf16 (f32: Uint8Array): Uint8Array {
  const src = new Uint32Array(new Uint8Array(f32).buffer)
  const out = new Uint16Array(src.length)
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16(src[i])
  return new Uint8Array(out.buffer)
}

/** A copy of `a` starting at an odd byte offset, to exercise unaligned inputs. */
function unaligned (a: Uint8Array): Uint8Array {
  const buf = new Uint8Array(a.length + 1)
  buf.set(a, 1)
  return buf.subarray(1)
}

const codec = createDeltaCodec()

/** Encode with `options`, check codec/size sanity, decode through codecs.ts and compare. */
function roundTrip (t: Test, derived: Uint8Array, base: Uint8Array, hint: DeltaHint, options: DeltaEncodeOptions = {}, msg = ''): Encoded | undefined {
  const enc = codec.encodeDelta(derived, base, hint, options)
  if (enc == null) return undefined
  t.ok(isDeltaCodec(enc.codec), `${msg} codec ${enc.codec} is a delta codec`)
  const back = decodeChunk(enc.codec, enc.data, derived.length, base)
  t.ok(equals(back, derived), `${msg} round trip (codec ${enc.codec}, ${enc.data.length} bytes)`)
  return enc
}

t.test('XOR and SUB round-trip in both layouts at every word size, odd lengths included', async t => {
  const { base, derived } = weightsPair(5000, 0.01)
  const cases: Array<[string, DeltaHint, number]> = [
    ['F32', { kind: 'tensor', dtype: 'F32' }, 4],
    ['BF16', { kind: 'tensor', dtype: 'BF16' }, 2],
    ['I8', { kind: 'tensor', dtype: 'I8' }, 1],
    ['F64', { kind: 'tensor', dtype: 'F64' }, 8],
    ['wordSize 4', { wordSize: 4 }, 4]
  ]
  for (const [name, hint, w] of cases) {
    for (const len of [1, w - 1, w, w + 1, 64 * w + 3, 4096, derived.length - 1, derived.length]) {
      if (len <= 0) continue
      const d = derived.subarray(0, len)
      const b = base.subarray(0, len)
      for (const c of [CodecId.DELTA_XOR, CodecId.DELTA_SUB]) {
        for (const layout of ['planes', 'bits'] as const) {
          const enc = roundTrip(t, d, b, hint, { codecs: [c], layout }, `${name} len ${len} codec ${c} ${layout}`)
          t.equal(enc?.codec, c, `${name} len ${len} honours the codec restriction`)
        }
      }
    }
  }
})

t.test('random bytes, unaligned inputs and identical chunks round-trip', async t => {
  for (const w of [1, 2, 4, 8]) {
    const hint = { wordSize: w }
    const a = randomBytes(10_007, w)
    const b = randomBytes(10_007, w + 100)
    roundTrip(t, a, b, hint, {}, `random w=${w}`)
    roundTrip(t, unaligned(a), unaligned(b), hint, {}, `unaligned w=${w}`)
    const same = roundTrip(t, a, new Uint8Array(a), hint, {}, `identical w=${w}`)
    t.ok(same != null && same.data.length < 32, `identical chunk costs ${same?.data.length} bytes`)
  }
})

t.test('SUB wraps around at every word size (extreme differences)', async t => {
  for (const w of [1, 2, 4, 8]) {
    const n = 64
    const d = new Uint8Array(n * w).fill(0xff)
    const b = new Uint8Array(n * w)
    for (let i = 0; i < n * w; i += w) b[i] = i & 1 ? 1 : 0x80
    for (const layout of ['planes', 'bits'] as const) {
      roundTrip(t, d, b, { wordSize: w }, { codecs: [CodecId.DELTA_SUB], layout }, `w=${w} ${layout} 0xff.. vs small`)
      roundTrip(t, b, d, { wordSize: w }, { codecs: [CodecId.DELTA_SUB], layout }, `w=${w} ${layout} small vs 0xff..`)
    }
  }
})

t.test('NaN, ±Inf, −0 and subnormals survive every tensor codec bit-exactly', async t => {
  const specials = [NaN, Infinity, -Infinity, -0, 0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1]
  const f = new Float32Array(specials.length * 4)
  const g = new Float32Array(specials.length * 4)
  for (let i = 0; i < f.length; i++) {
    f[i] = specials[i % specials.length]
    g[i] = specials[(i * 7 + 3) % specials.length]
  }
  const u = new Uint32Array(f.buffer)
  u[0] = 0x7fc00001 // NaN with a payload
  u[1] = 0xffbfffff // negative signalling-pattern NaN
  const d = new Uint8Array(f.buffer)
  const b = new Uint8Array(g.buffer)
  for (const c of [CodecId.DELTA_XOR, CodecId.DELTA_SUB]) {
    for (const layout of ['planes', 'bits'] as const) roundTrip(t, d, b, { dtype: 'F32' }, { codecs: [c], layout }, `specials ${c} ${layout}`)
  }
  // cast: derived f16 that is NOT the rounding of the base (residual everywhere)
  const h = new Uint16Array(d.length / 4)
  for (let i = 0; i < h.length; i++) h[i] = [0x7e01, 0xfc00, 0x7c00, 0x8000, 0x0001, 0x3c00][i % 6]
  roundTrip(t, new Uint8Array(h.buffer), d, { dtype: 'F16', baseDtype: 'F32' }, {}, 'cast specials')
})

t.test('encodeDelta picks the codec family from the hint and lengths', async t => {
  const { base, derived } = weightsPair(4096, 0.01)
  t.equal(encodeDelta(new Uint8Array(0), base, { dtype: 'F32' }), undefined, 'empty chunk: no delta')
  t.equal(encodeDelta(derived, new Uint8Array(0), { dtype: 'F32' }), undefined, 'empty base: no delta')
  t.equal(encodeDelta(derived, base, { dtype: 'F32' }, { codecs: [] }), undefined, 'no codec allowed: undefined')
  t.equal(encodeDelta(derived, base, { kind: 'tensor', dtype: 'F32' })?.codec, CodecId.DELTA_SUB, 'drifting f32: SUB')
  t.equal(encodeDelta(derived, base, { kind: 'header' })?.codec, CodecId.DELTA_PATCH, 'header: patch')
  t.equal(encodeDelta(derived, base.subarray(8), { kind: 'tensor', dtype: 'F32' })?.codec, CodecId.DELTA_PATCH, 'different lengths: patch')
  t.equal(encodeDelta(derived, base, {})?.codec, CodecId.DELTA_PATCH, 'no dtype: patch')
  t.equal(encodeDelta(toBf16(derived), derived, { dtype: 'BF16', baseDtype: 'F32' })?.codec, CodecId.DELTA_CAST, 'bf16 of f32: cast')
  t.equal(deltaWordSize({ dtype: 'bf16' }), 2)
  t.equal(deltaWordSize({ dtype: 'Q4_K' }), 0)
  t.equal(deltaWordSize({ wordSize: 3, dtype: 'F32' }), 4, 'invalid wordSize falls back to dtype')
  t.equal(castKindFor({ dtype: 'F16', baseDtype: 'F32' }, 10, 20), CastKind.F32_TO_F16)
  t.equal(castKindFor({ dtype: 'F16', baseDtype: 'F32' }, 10, 24), undefined, 'element counts differ: no cast')
  t.equal(castKindFor({ dtype: 'F32', baseDtype: 'BF16' }, 40, 20), CastKind.BF16_TO_F32)
  t.equal(castKindFor({ dtype: 'F32', baseDtype: 'F32' }, 40, 40), undefined)
})

t.test('a delta of drifting weights is far smaller than the standalone encoding', async t => {
  const { base, derived } = weightsPair(131_072, 0.001)
  const hint = { kind: 'tensor', dtype: 'F32' }
  const delta = roundTrip(t, derived, base, hint, {}, 'drift 0.1%')
  const alone = encodeChunk(derived, hint)
  t.ok(delta != null && delta.data.length < alone.data.length * 0.75, `delta ${delta?.data.length} < 0.75 × standalone ${alone.data.length}`)
  // sparse fine-tune: 1% of the weights changed
  const sparse = new Uint8Array(base)
  for (let i = 0; i < sparse.length; i += 400) sparse[i] ^= 0x5a
  const s = roundTrip(t, sparse, base, hint, {}, 'sparse')
  t.ok(s != null && s.data.length < sparse.length / 50, `sparse change costs ${s?.data.length} bytes`)
})

t.test('patch codec: any lengths, text, dictionary-magic bases, tiny bases', async t => {
  const text = new TextEncoder().encode(Array.from({ length: 800 }, (_, i) => `{"id":${i},"name":"row ${i % 17}"}`).join('\n'))
  const edited = new TextEncoder().encode(new TextDecoder().decode(text).replace('row 3"', 'row three"').slice(5) + '\n{"id":9999}')
  const enc = roundTrip(t, edited, text, { kind: 'records' }, {}, 'edited text')
  t.ok(enc != null && enc.data.length < 200, `edited text patch is ${enc?.data.length} bytes`)
  for (const level of [1, 3, 9, 19]) roundTrip(t, edited, text, { kind: 'records' }, { patchLevel: level }, `level ${level}`)
  // a base starting with zstd's dictionary magic is still raw content
  const magic = new Uint8Array([0x37, 0xa4, 0x30, 0xec, ...text.subarray(0, 2000)])
  t.equal(patchDictionary(magic).length, magic.length - 1, 'magic base used from byte 1')
  roundTrip(t, text.subarray(0, 2100), magic, { kind: 'bytes' }, {}, 'magic base')
  for (const n of [1, 7, 8]) roundTrip(t, text.subarray(0, 500), text.subarray(0, n), { kind: 'bytes' }, {}, `base of ${n} bytes`)
  roundTrip(t, text.subarray(0, 3), text, { kind: 'bytes' }, {}, 'tiny chunk')
  t.throws(() => encodeDelta(text, text, { kind: 'bytes' }, { patchLevel: 0 }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('child codec: a commit against its parent gets the parent\'s CID from the dictionary', async t => {
  const parent = encodeCommit({ tree: cidOf(Codec.DAG_PB, new Uint8Array([1])), manifest: cidOf(Codec.DAG_CBOR, new Uint8Array([2])), parents: [], message: 'version 1', author: 'ci', time: 1_700_000_000_000 })
  const child = encodeCommit({ tree: cidOf(Codec.DAG_PB, new Uint8Array([3])), manifest: cidOf(Codec.DAG_CBOR, new Uint8Array([4])), parents: [parent.cid], message: 'version 2', author: 'ci', time: 1_700_000_086_400 })
  const asChild = roundTrip(t, child.bytes, parent.bytes, { kind: 'child' }, { patchLevel: 19 }, 'commit against its parent')
  t.equal(asChild?.codec, CodecId.DELTA_CHILD)
  const asPatch = encodeDelta(child.bytes, parent.bytes, { kind: 'header' }, { patchLevel: 19 })
  t.ok(asChild != null && asPatch != null && asChild.data.length + 25 < asPatch.data.length, `child ${asChild?.data.length} B, plain patch ${asPatch?.data.length} B: the parent link is a match`)
  // against another base: ERR_CODEC or other bytes (which the store's hash check refuses), never the child
  let other: Uint8Array | undefined
  try {
    other = decodeDelta(CodecId.DELTA_CHILD, asChild?.data ?? new Uint8Array(0), child.bytes.length, child.bytes.slice(0, 40))
  } catch (err) {
    t.equal((err as { code?: string }).code, 'ERR_CODEC', 'another base: ERR_CODEC')
  }
  if (other != null) t.notOk(equals(other, child.bytes), 'another base, other bytes')
  for (const bad of [new Uint8Array(0), new Uint8Array([1, 2, 3]), asChild?.data.subarray(0, 6) ?? new Uint8Array(0)]) {
    t.throws(() => decodeDelta(CodecId.DELTA_CHILD, bad, child.bytes.length, parent.bytes), { code: 'ERR_CODEC' })
  }
  t.equal(encodeDelta(child.bytes, parent.bytes, { kind: 'child' }, { codecs: [CodecId.DELTA_PATCH] })?.codec, CodecId.DELTA_PATCH, 'not allowed: a plain patch')
})

t.test('cast codec: exact casts cost a few bytes; other roundings and residuals round-trip', async t => {
  const { derived: f32 } = weightsPair(70_000, 0.01, 7)
  const src = new Uint32Array(f32.buffer)
  const rne16 = new Uint16Array(src.length)
  const trunc16 = new Uint16Array(src.length)
  const bf16 = new Uint16Array(src.length)
  const bfTrunc = new Uint16Array(src.length)
  for (let i = 0; i < src.length; i++) {
    rne16[i] = f32ToF16(src[i])
    trunc16[i] = f32ToF16Trunc(src[i])
    bf16[i] = f32ToBf16(src[i])
    bfTrunc[i] = src[i] >>> 16
  }
  const b = (a: Uint16Array): Uint8Array => new Uint8Array(a.buffer)
  for (const [name, d, dtype] of [['f16 rne', rne16, 'F16'], ['f16 trunc', trunc16, 'F16'], ['bf16 rne', bf16, 'BF16'], ['bf16 trunc', bfTrunc, 'BF16']] as const) {
    const enc = roundTrip(t, b(d), f32, { dtype, baseDtype: 'F32' }, {}, name)
    t.equal(enc?.codec, CodecId.DELTA_CAST, `${name} uses the cast codec`)
    t.ok(enc != null && enc.data.length < 16, `${name} costs ${enc?.data.length} bytes`)
  }
  // a cast of a *different* tensor: residual everywhere, still exact
  const { derived: other } = weightsPair(70_000, 0.01, 8)
  roundTrip(t, b(rne16), other, { dtype: 'F16', baseDtype: 'F32' }, {}, 'unrelated base')
  // widening: f16 → f32 and bf16 → f32 are exact, so f32 copies cost nothing
  const up = new Uint32Array(rne16.length)
  for (let i = 0; i < up.length; i++) up[i] = f16ToF32(rne16[i])
  const wide = roundTrip(t, new Uint8Array(up.buffer), b(rne16), { dtype: 'F32', baseDtype: 'F16' }, {}, 'f16 → f32')
  t.ok(wide != null && wide.data.length < 16, `widened f16 costs ${wide?.data.length} bytes`)
  const upBf = new Uint32Array(bf16.length)
  for (let i = 0; i < upBf.length; i++) upBf[i] = bf16[i] << 16
  roundTrip(t, new Uint8Array(upBf.buffer), b(bf16), { dtype: 'F32', baseDtype: 'BF16' }, {}, 'bf16 → f32')
})

/** Independent f32 → f16 rounding: pick the nearest finite f16 value in float64, ties to even. */
function referenceF16 (x: number): number {
  const f = new Float32Array(new Uint32Array([x]).buffer)[0]
  if (Number.isNaN(f)) return -1
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0
  const a = Math.abs(f)
  if (a >= 65520) return sign | 0x7c00 // ≥ max + half ulp rounds to Inf
  let best = 0
  let bestErr = Infinity
  // f16 magnitudes are monotonic in their bit patterns: binary search the neighbours
  let lo = 0
  let hi = 0x7bff
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (f16Value(mid) <= a) lo = mid
    else hi = mid - 1
  }
  for (const c of [lo, Math.min(lo + 1, 0x7c00)]) {
    const e = Math.abs(f16Value(c) - a)
    if (e < bestErr || (e === bestErr && (c & 1) === 0)) {
      best = c
      bestErr = e
    }
  }
  return sign | best
}

function f16Value (h: number): number {
  const e = (h >> 10) & 31
  const m = h & 1023
  if (e === 31) return Infinity
  return e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15)
}

t.test('f32 → f16 rounding matches an independent nearest-even reference', async t => {
  const r = rng(3)
  const xs: number[] = [0, 0x80000000, 0x7f800000, 0xff800000, 0x477fefff, 0x477ff000, 0x477fe000, 0x33800000, 0x33000000, 0x33000001, 0x387fc000, 0x38800000, 0x3f800000]
  for (let i = 0; i < 200_000; i++) {
    // exponents concentrated on the f16 range and its edges
    const e = 100 + Math.floor(r() * 50)
    xs.push(((r() < 0.5 ? 0x80000000 : 0) | (e << 23) | Math.floor(r() * 0x800000)) >>> 0)
  }
  let bad = 0
  for (const x of xs) {
    const ref = referenceF16(x)
    if (ref >= 0 && f32ToF16(x) !== ref) {
      if (bad++ < 5) t.fail(`f32 ${x.toString(16)}: got ${f32ToF16(x).toString(16)}, reference ${ref.toString(16)}`)
    }
  }
  t.equal(bad, 0, `${xs.length} values agree`)
  t.equal(f32ToF16(0x7fc00000) & 0x7e00, 0x7e00, 'NaN stays a quiet NaN')
  t.equal(f16ToF32(0x0001), 0x33800000, 'smallest subnormal widens exactly')
  t.equal(f16ToF32(0xfbff), 0xc77fe000, '−65504 widens exactly')
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue // NaNs
    if (f32ToF16(f16ToF32(h)) !== h) { t.fail(`f16 ${h.toString(16)} does not survive widening and narrowing`); break }
  }
})

t.test('decoding refuses a missing or mis-sized base and malformed payloads with ERR_CODEC', async t => {
  const { base, derived } = weightsPair(3000, 0.01)
  const hint = { kind: 'tensor', dtype: 'F32' }
  const payloads: Encoded[] = [
    codec.encodeDelta(derived, base, hint, { codecs: [CodecId.DELTA_SUB], layout: 'bits' }) as Encoded,
    codec.encodeDelta(derived, base, hint, { codecs: [CodecId.DELTA_SUB], layout: 'planes' }) as Encoded,
    codec.encodeDelta(derived, base, hint, { codecs: [CodecId.DELTA_XOR], layout: 'bits' }) as Encoded,
    codec.encodeDelta(derived, base, { kind: 'header' }) as Encoded,
    codec.encodeDelta(toBf16(derived), base, { dtype: 'BF16', baseDtype: 'F32' }) as Encoded
  ]
  const lengths = [derived.length, derived.length, derived.length, derived.length, derived.length / 2]
  for (const [i, e] of payloads.entries()) {
    t.throws(() => decodeChunk(e.codec, e.data, lengths[i]), { code: 'ERR_CODEC' }, `codec ${e.codec} without base`)
    t.throws(() => decodeDelta(e.codec, e.data, lengths[i], undefined), { code: 'ERR_CODEC' })
    t.throws(() => decodeChunk(e.codec, e.data, -1, base), { code: 'ERR_CODEC' }, 'negative length')
    if (e.codec !== CodecId.DELTA_PATCH) {
      t.throws(() => decodeChunk(e.codec, e.data, lengths[i], base.subarray(4)), { code: 'ERR_CODEC' }, `codec ${e.codec} with a shorter base`)
    }
    t.throws(() => decodeChunk(e.codec, e.data, lengths[i] + 4, base), { code: 'ERR_CODEC' }, `codec ${e.codec} with a wrong logical length`)
    // every truncation, and trailing garbage
    let odd = 0
    for (let n = 0; n < e.data.length; n += Math.max(1, Math.floor(e.data.length / 97))) {
      try {
        decodeChunk(e.codec, e.data.subarray(0, n), lengths[i], base)
        odd++
      } catch (err) {
        if (!isTenpakError(err, 'ERR_CODEC')) { t.fail(`truncation to ${n} threw ${String(err)}`); break }
      }
    }
    t.equal(odd, 0, `codec ${e.codec}: every truncation is refused`)
    const longer = new Uint8Array(e.data.length + 3)
    longer.set(e.data)
    t.throws(() => decodeChunk(e.codec, longer, lengths[i], base), { code: 'ERR_CODEC' }, `codec ${e.codec} with trailing bytes`)
    // random corruption: ERR_CODEC or bytes of the right length, never anything else
    const r = rng(i + 11)
    for (let k = 0; k < 200; k++) {
      const bad = new Uint8Array(e.data)
      for (let j = 0; j < 3; j++) bad[Math.floor(r() * bad.length)] ^= 1 << Math.floor(r() * 8)
      try {
        const out = decodeChunk(e.codec, bad, lengths[i], base)
        if (out.length !== lengths[i]) t.fail('corrupt payload decoded to a wrong length')
      } catch (err) {
        if (!isTenpakError(err, 'ERR_CODEC')) { t.fail(`corruption threw ${String(err)}`); break }
      }
    }
  }
  t.throws(() => decodeChunk(31, new Uint8Array(4), 4, base), { code: 'ERR_CODEC' }, 'unknown delta id')
  t.throws(() => decodeChunk(CodecId.DELTA_SUB, Uint8Array.of(3, 0), 8, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'word size 3')
  t.throws(() => decodeChunk(CodecId.DELTA_SUB, Uint8Array.of(4, 7), 8, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'unknown layout')
  t.throws(() => decodeChunk(CodecId.DELTA_SUB, Uint8Array.of(4, 0, 9, 0), 8, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'unknown stream mode')
  // bit layout: symbol 33 for 4-byte words, then a bit stream too short for the symbols
  t.throws(() => decodeChunk(CodecId.DELTA_SUB, Uint8Array.of(4, 1, 2, 33, 0, 0, 0, 0), 8, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'bit length 33')
  t.throws(() => decodeChunk(CodecId.DELTA_SUB, Uint8Array.of(4, 1, 2, 20, 1, 0, 0, 0, 0xff), 8, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'bit stream short')
  t.throws(() => decodeChunk(CodecId.DELTA_CAST, Uint8Array.of(9, 0), 4, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'unknown cast kind')
  t.throws(() => decodeChunk(CodecId.DELTA_CAST, Uint8Array.of(1, 5), 4, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'unknown rounding')
  t.throws(() => decodeChunk(CodecId.DELTA_PATCH, Uint8Array.of(1, 0x28, 0xb5), 4, new Uint8Array(8)), { code: 'ERR_CODEC' }, 'patch version')
})

t.test('decoding against the wrong base gives wrong bytes without crashing', async t => {
  const { base, derived } = weightsPair(3000, 0.01, 5)
  const { base: other } = weightsPair(3000, 0.01, 6)
  // text whose patch copies from its base, so a different base changes the output
  const text = new TextEncoder().encode(Array.from({ length: 300 }, (_, i) => `line ${i * 7919 % 1000}`).join('\n'))
  const otherText = new TextEncoder().encode(Array.from({ length: 300 }, (_, i) => `LINE ${i * 7919 % 1000}`).join('\n'))
  const edited = new Uint8Array([...text.subarray(100), ...text.subarray(0, 100)])
  const cases = [
    [derived, base, other, { dtype: 'F32' }, { layout: 'bits' }],
    [derived, base, other, { dtype: 'F32' }, { layout: 'planes', codecs: [CodecId.DELTA_XOR] }],
    [edited, text, otherText, { kind: 'bytes' }, {}],
    [edited, text, otherText.subarray(0, 100), { kind: 'bytes' }, {}]
  ] as const
  for (const [d, b, wrong, hint, opts] of cases) {
    const e = codec.encodeDelta(d, b, hint, opts) as Encoded
    try {
      const out = decodeChunk(e.codec, e.data, d.length, wrong)
      t.equal(out.length, d.length, `codec ${e.codec}: right length`)
      t.notOk(equals(out, d), `codec ${e.codec}: wrong content (the hash check catches it)`)
    } catch (err) {
      t.ok(isTenpakError(err, 'ERR_CODEC'), `codec ${e.codec}: refused with ERR_CODEC`)
    }
  }
  const c = codec.encodeDelta(toBf16(derived), base, { dtype: 'BF16', baseDtype: 'F32' }) as Encoded
  t.notOk(equals(decodeChunk(c.codec, c.data, derived.length / 2, other), toBf16(derived)), 'cast against the wrong base')
})

t.test('the module-level and per-instance codecs agree and leave inputs untouched', async t => {
  const { base, derived } = weightsPair(9000, 0.02, 9)
  const b0 = new Uint8Array(base)
  const d0 = new Uint8Array(derived)
  const a = encodeDelta(derived, base, { dtype: 'F32' }) as Encoded
  const b = createDeltaCodec().encodeDelta(derived, base, { dtype: 'F32' }) as Encoded
  t.equal(a.codec, b.codec)
  t.ok(equals(a.data, b.data), 'deterministic payload')
  t.ok(equals(base, b0) && equals(derived, d0), 'inputs unchanged')
  // the payload is a copy: reusing the codec does not change it
  const copy = new Uint8Array(a.data)
  encodeDelta(base, derived, { dtype: 'F32' })
  t.ok(equals(a.data, copy), 'payload not aliased to scratch')
})
