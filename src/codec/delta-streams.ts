/**
 * Residual coding for the delta codecs: how an array of residual words (the
 * XOR or zigzag difference of a chunk against its base, or a cast's rounding
 * error) is laid out inside a pack entry, plus the byte reader/writer and the
 * "stream" (raw | zstd | constant) every part of a delta payload is kept in.
 *
 * Two layouts, chosen per chunk by an order-0 entropy estimate on a sample:
 *  - PLANES: byte k of every word in plane k, each plane a stream (the
 *    bytegroup-zstd idea applied to the residual).
 *  - BITS: per word its bit length L (one byte, a zstd'd stream) and the L−1
 *    bits below the leading one packed LSB-first, kept raw. Residuals of
 *    drifting floats are "a length, then noise": the noise bits cannot be
 *    compressed, and coding the length on its own stops the entropy coder from
 *    mixing the skewed and the uniform parts of a byte plane. On the peft
 *    checkpoints this is up to 13% smaller than planes on small-drift tensors.
 *
 * Byte layouts are written down in docs/formats.md (delta codecs section).
 * This module does no I/O; everything runs on caller-provided buffers.
 */

import { ErrorCode, TenpakError } from '../errors.js'
import { joinPlanes, splitPlanes } from './bytegroup.js'
import { inverseWords, Transform } from './delta-words.js'
import type { TransformValue } from './delta-words.js'
import type { ZstdContext, ZstdParams } from './zstd.js'
import { zstdBound } from './zstd.js'

/** How one stream of a delta payload is kept (same ids as bytegroup-zstd's plane modes). */
export const StreamMode = {
  /** the bytes as they are */
  RAW: 0,
  /** u32 LE frame length, then one zstd frame */
  ZSTD: 1,
  /** one byte repeated over the whole stream */
  CONST: 2
} as const

/** How residual words are laid out (first byte of a residual block). */
export const ResidualLayout = {
  /** one stream per byte plane */
  PLANES: 0,
  /** bit-length stream + raw packed low bits (word sizes 1, 2, 4) */
  BITS: 1,
  /** every residual word is zero (an exact cast, an unchanged piece): nothing follows */
  ZERO: 2
} as const

/** One of the values of {@link ResidualLayout}. */
export type ResidualLayoutValue = typeof ResidualLayout[keyof typeof ResidualLayout]

/**
 * zstd settings for residual planes and the bit-length stream: the same as
 * codecs.ts's DEFAULT_PLANE_PARAMS (level 1, long min match, tiny hash table),
 * measured there on weight planes and here on residual streams (as small as
 * level 19 within 1%, several times faster). Duplicated rather than imported
 * so codecs.ts, which dispatches to this layer, has no import cycle.
 */
export const RESIDUAL_PARAMS: Readonly<ZstdParams> = Object.freeze({ level: 1, minMatch: 7, hashLog: 8 })

/** A stream is zstd'd only if that saves this fraction (as in codecs.ts). */
export const MIN_SAVING = 1 / 64

/** Estimated entropy (bits per byte) above which a stream is stored raw without trying zstd. */
const RAW_ENTROPY_BITS = 7.95

/** Fail with `ERR_CODEC` naming the payload kind. */
export function malformed (what: string, why: string): never {
  throw new TenpakError(ErrorCode.CODEC, `malformed ${what} payload: ${why}`)
}

/** Zigzag: a signed integer as an unsigned one (0, -1, 1, -2 … → 0, 1, 2, 3 …), for varints. */
export const zigzag = (v: number): number => v >= 0 ? 2 * v : -2 * v - 1
/** Inverse of {@link zigzag}. */
export const unzigzag = (v: number): number => v % 2 === 0 ? v / 2 : -(v + 1) / 2

/** Growable output buffer; one per codec instance, reused between chunks. */
export class ByteWriter {
  buf: Uint8Array
  pos = 0

  constructor (size = 1 << 16) {
    this.buf = new Uint8Array(size)
  }

  /** Start a new payload. */
  reset (): void {
    this.pos = 0
  }

  /** Make room for `n` more bytes. */
  ensure (n: number): void {
    const need = this.pos + n
    if (need <= this.buf.length) return
    const next = new Uint8Array(Math.max(need, this.buf.length * 2))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  u8 (v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  u32 (v: number): void {
    this.ensure(4)
    const b = this.buf
    const p = this.pos
    b[p] = v & 0xff
    b[p + 1] = (v >>> 8) & 0xff
    b[p + 2] = (v >>> 16) & 0xff
    b[p + 3] = (v >>> 24) & 0xff
    this.pos += 4
  }

  bytes (src: Uint8Array): void {
    this.ensure(src.length)
    this.buf.set(src, this.pos)
    this.pos += src.length
  }

  /** An unsigned LEB128 varint (a safe integer ≥ 0). */
  varint (v: number): void {
    this.ensure(10)
    while (v >= 0x80) { this.buf[this.pos++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80) }
    this.buf[this.pos++] = v
  }

  /** A fresh copy of what was written. */
  result (): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

/** Bounds-checked reader over a payload; every overrun is `ERR_CODEC`. */
export class ByteReader {
  pos = 0

  constructor (readonly data: Uint8Array, readonly what: string) {}

  fail (why: string): never {
    return malformed(this.what, why)
  }

  u8 (): number {
    if (this.pos + 1 > this.data.length) this.fail('truncated')
    return this.data[this.pos++]
  }

  u32 (): number {
    if (this.pos + 4 > this.data.length) this.fail('truncated')
    const d = this.data
    const p = this.pos
    this.pos += 4
    return (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0
  }

  /** An unsigned LEB128 varint of at most 8 bytes that is a safe integer. */
  varint (): number {
    let v = 0
    let mul = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8()
      v += (b & 0x7f) * mul
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) this.fail('varint out of range')
        return v
      }
      mul *= 0x80
    }
    return this.fail('varint too long')
  }

  take (n: number): Uint8Array {
    if (n > this.data.length - this.pos) this.fail(`needs ${n} more bytes, has ${this.data.length - this.pos}`)
    const out = this.data.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** Throw unless every byte was consumed. */
  end (): void {
    if (this.pos !== this.data.length) this.fail(`${this.data.length - this.pos} trailing bytes`)
  }
}

function isConstant (a: Uint8Array): boolean {
  const b = a[0]
  for (let i = 1; i < a.length; i++) if (a[i] !== b) return false
  return true
}

/**
 * Append `src` as one stream: CONST when it is one repeated byte, ZSTD when
 * that saves {@link MIN_SAVING}, else RAW. `entropyBits` (bits per byte, from
 * an estimate) lets the caller skip a zstd attempt that cannot pay.
 */
export function writeStream (w: ByteWriter, src: Uint8Array, zstd: ZstdContext, params: number | ZstdParams = RESIDUAL_PARAMS, entropyBits = 0): void {
  const n = src.length
  if (n > 0 && isConstant(src)) {
    w.u8(StreamMode.CONST)
    w.u8(src[0])
    return
  }
  if (n >= 16 && entropyBits < RAW_ENTROPY_BITS) {
    w.ensure(5 + zstdBound(n))
    const c = zstd.compressInto(w.buf.subarray(w.pos + 5), src, params)
    if (c <= n - n * MIN_SAVING) {
      w.u8(StreamMode.ZSTD)
      w.u32(c)
      w.pos += c
      return
    }
  }
  w.u8(StreamMode.RAW)
  w.bytes(src)
}

/** Read one stream written by {@link writeStream} into `dst` (whose length is the stream's). */
export function readStream (r: ByteReader, dst: Uint8Array, zstd: ZstdContext): void {
  const mode = r.u8()
  if (mode === StreamMode.RAW) {
    dst.set(r.take(dst.length))
  } else if (mode === StreamMode.ZSTD) {
    const c = r.u32()
    zstd.decompressInto(dst, r.take(c))
  } else if (mode === StreamMode.CONST) {
    const b = r.u8()
    if (dst.length === 0) r.fail('constant stream of length 0')
    dst.fill(b)
  } else {
    r.fail(`unknown stream mode ${mode}`)
  }
}

/** Estimated bytes per word of the two layouts, from a sample of residual words. */
export interface LayoutEstimate {
  planes: number
  /** estimated bits per byte of each plane */
  planeBits: number[]
  /** Infinity when BITS does not apply (word size 8) */
  bits: number
}

/** Largest sample {@link estimateLayouts} sees without falling back to Math.log2. */
export const MAX_SAMPLE_WORDS = 8192

/** c·log2(c) for every count a sample can reach: entropy from a histogram without a log per bin. */
const C_LOG_C = new Float64Array(MAX_SAMPLE_WORDS + 1).map((_, c) => c === 0 ? 0 : c * Math.log2(c))

/** Order-0 entropy in bits per symbol of `hist[off .. off+len)`, which sums to `n`. */
function entropy (hist: Uint32Array, off: number, len: number, n: number): number {
  if (n === 0) return 0
  let s = 0
  if (n <= MAX_SAMPLE_WORDS) {
    for (let i = off; i < off + len; i++) s += C_LOG_C[hist[i]]
  } else {
    for (let i = off; i < off + len; i++) if (hist[i] !== 0) s += hist[i] * Math.log2(hist[i])
  }
  return Math.max(0, Math.log2(n) - s / n)
}

/**
 * Estimate both layouts' sizes (bytes per word) from `sample`, residual words
 * of `w` bytes (little-endian, 4-byte aligned), for a chunk of `total` words.
 * Order-0 entropy is what zstd's Huffman literals reach within a few percent
 * on these streams; {@link streamCost} adds what they lose.
 */
export function estimateLayouts (sample: Uint8Array, w: number, total = Math.floor(sample.length / w)): LayoutEstimate {
  const n = Math.floor(sample.length / w)
  if (n === 0) return { planes: 0, planeBits: [], bits: 0 }
  // w plane histograms of 256 bins, then 33 bins of bit lengths
  const hist = new Uint32Array(256 * w + 33)
  const L = 256 * w
  let raw = 0
  if (w === 4) {
    const v32 = new Uint32Array(sample.buffer, sample.byteOffset, n)
    for (let i = 0; i < n; i++) {
      const v = v32[i]
      hist[v & 255]++
      hist[256 + ((v >>> 8) & 255)]++
      hist[512 + ((v >>> 16) & 255)]++
      hist[768 + (v >>> 24)]++
      const l = 32 - Math.clz32(v)
      hist[L + l]++
      raw += l > 1 ? l - 1 : 0
    }
  } else if (w === 2) {
    const v16 = new Uint16Array(sample.buffer, sample.byteOffset, n)
    for (let i = 0; i < n; i++) {
      const v = v16[i]
      hist[v & 255]++
      hist[256 + (v >>> 8)]++
      const l = 32 - Math.clz32(v)
      hist[L + l]++
      raw += l > 1 ? l - 1 : 0
    }
  } else if (w === 1) {
    for (let i = 0; i < n; i++) {
      const v = sample[i]
      hist[v]++
      const l = 32 - Math.clz32(v)
      hist[L + l]++
      raw += l > 1 ? l - 1 : 0
    }
  } else {
    for (let i = 0; i < n * w; i++) hist[((i % w) << 8) + sample[i]]++
  }
  let planes = 0
  const planeBits: number[] = []
  for (let k = 0; k < w; k++) {
    const e = Math.min(entropy(hist, 256 * k, 256, n), 8)
    planeBits.push(e)
    planes += streamCost(e, total)
  }
  if (w > 4) return { planes: planes / total, planeBits, bits: Infinity }
  const bits = streamCost(entropy(hist, L, 33, n), total) + total * raw / n / 8
  return { planes: planes / total, planeBits, bits: bits / total }
}

/**
 * Expected size in bytes of a `count`-byte stream of order-0 entropy `e`
 * bits/byte: stored raw above RAW_ENTROPY_BITS, else a zstd frame whose
 * Huffman coding loses ~3% to the entropy plus ~60 bytes of headers and
 * tables (fitted on residual streams of the peft checkpoints).
 */
function streamCost (e: number, count: number): number {
  if (e === 0) return 2
  if (e >= RAW_ENTROPY_BITS) return count + 1
  return Math.min(count + 1, count * e / 8 * 1.03 + 60)
}

/** Scratch buffers a residual coder keeps between chunks. */
export interface ResidualScratch {
  /** planes / symbols */
  a: Uint8Array
  /** packed bits (4-byte aligned) */
  b: Uint8Array
}

function grow (s: ResidualScratch, key: 'a' | 'b', n: number): Uint8Array {
  if (s[key].length < n) s[key] = new Uint8Array(n)
  return s[key].subarray(0, n)
}

/**
 * Append a residual block: layout byte, then the `n = floor(len/w)` words of
 * `residual` (4-byte aligned, length n·w) in that layout — or just ZERO when
 * they are all zero. Trailing bytes are the caller's business.
 */
export function writeResidual (wr: ByteWriter, residual: Uint8Array, w: number, layout: ResidualLayoutValue, zstd: ZstdContext, scratch: ResidualScratch, est?: LayoutEstimate): void {
  const n = Math.floor(residual.length / w)
  if (isZero(residual, n * w)) {
    wr.u8(ResidualLayout.ZERO)
    return
  }
  if (layout === ResidualLayout.BITS && w <= 4) {
    wr.u8(ResidualLayout.BITS)
    writeBits(wr, residual, n, w, zstd, scratch)
    return
  }
  wr.u8(ResidualLayout.PLANES)
  const planes = w === 1 ? residual : splitPlanes(residual, w, grow(scratch, 'a', n * w))
  // A plane estimated at ≥ 7.95 bits/byte goes raw without a zstd attempt
  // (low mantissa bytes); with no estimate, zstd is tried on every plane.
  for (let k = 0; k < w; k++) writeStream(wr, planes.subarray(k * n, (k + 1) * n), zstd, RESIDUAL_PARAMS, est?.planeBits[k] ?? 0)
}

/**
 * How decoded residual words combine with a base into the output: the
 * inverse transform, applied in the same pass as the bit layout's unpacking.
 */
export interface ResidualCombine {
  transform: TransformValue
  /** base words (4-byte aligned, at least n·w bytes) */
  base: Uint8Array
}

/**
 * Read a residual block of `n = floor(out.length / w)` words and write into
 * `out` (4-byte aligned) either the residual words themselves or, with
 * `combine`, the words they encode against `combine.base`. Throws `ERR_CODEC`
 * on any inconsistency; never writes past `out`.
 */
export function readResidual (r: ByteReader, out: Uint8Array, w: number, zstd: ZstdContext, scratch: ResidualScratch, combine?: ResidualCombine): void {
  const n = Math.floor(out.length / w)
  const layout = r.u8()
  if (layout === ResidualLayout.ZERO) {
    // a zero residual encodes the base itself, under either transform
    if (combine == null) out.fill(0)
    else out.set(combine.base.subarray(0, n * w))
  } else if (layout === ResidualLayout.PLANES) {
    const res = combine == null ? out : grow(scratch, 'b', n * w)
    if (w === 1) {
      readStream(r, res, zstd)
    } else {
      const planes = grow(scratch, 'a', n * w)
      for (let k = 0; k < w; k++) readStream(r, planes.subarray(k * n, (k + 1) * n), zstd)
      joinPlanes(planes, w, res)
    }
    if (combine != null) inverseWords(combine.transform, w, res, combine.base, out, n)
  } else if (layout === ResidualLayout.BITS) {
    if (w > 4) r.fail(`bit layout with word size ${w}`)
    readBits(r, out, n, w, zstd, scratch, combine)
  } else {
    r.fail(`unknown residual layout ${layout}`)
  }
}

/** Whether the first `len` bytes of `a` (4-byte aligned) are all zero; stops at the first that is not. */
function isZero (a: Uint8Array, len: number): boolean {
  const q = len >>> 2
  const a32 = new Uint32Array(a.buffer, a.byteOffset, q)
  for (let i = 0; i < q; i++) if (a32[i] !== 0) return false
  for (let i = q * 4; i < len; i++) if (a[i] !== 0) return false
  return true
}

function wordView (buf: Uint8Array, n: number, w: number): Uint8Array | Uint16Array | Uint32Array {
  if (w === 4) return new Uint32Array(buf.buffer, buf.byteOffset, n)
  if (w === 2) return new Uint16Array(buf.buffer, buf.byteOffset, n)
  return buf.subarray(0, n)
}

function writeBits (wr: ByteWriter, residual: Uint8Array, n: number, w: number, zstd: ZstdContext, scratch: ResidualScratch): void {
  const words = wordView(residual, n, w)
  const sym = grow(scratch, 'a', n)
  // Upper bound: (8w−1) bits per word, plus one spare word.
  const bitsBuf = grow(scratch, 'b', ((n * (8 * w - 1) + 63) >>> 5) * 4)
  const bits = new Uint32Array(bitsBuf.buffer, bitsBuf.byteOffset, bitsBuf.length >>> 2)
  let acc = 0
  let nb = 0
  let out = 0
  for (let j = 0; j < n; j++) {
    const z = words[j]
    const l = 32 - Math.clz32(z)
    sym[j] = l
    // table-driven: zeros and ones (L ≤ 1) store no bits, without a branch
    const k = ADVANCE[l]
    const v = z & LOW_MASK[l]
    acc = (acc | (v << nb)) >>> 0
    nb += k
    if (nb >= 32) {
      bits[out++] = acc
      nb -= 32
      // v's bits that did not fit (k − (32 − old nb) = nb of them)
      acc = nb === 0 ? 0 : v >>> (k - nb)
    }
  }
  const totalBits = out * 32 + nb
  if (nb > 0) bits[out] = acc
  const nbytes = (totalBits + 7) >>> 3
  writeStream(wr, sym, zstd)
  wr.u32(nbytes)
  wr.bytes(bitsBuf.subarray(0, nbytes))
}

function readBits (r: ByteReader, out: Uint8Array, n: number, w: number, zstd: ZstdContext, scratch: ResidualScratch, combine?: ResidualCombine): void {
  const sym = grow(scratch, 'a', n)
  readStream(r, sym, zstd)
  const nbytes = r.u32()
  const packed = r.take(nbytes)
  // Aligned, zero-padded copy so the two-word window below never reads junk.
  const words = (nbytes + 3) >>> 2
  const bitsBuf = grow(scratch, 'b', (words + 2) * 4)
  bitsBuf.set(packed)
  bitsBuf.fill(0, nbytes)
  const bits = new Uint32Array(bitsBuf.buffer, bitsBuf.byteOffset, words + 2)
  // Validate first (symbols in range, bits enough), so the hot loop below
  // needs no checks; it cannot read past `bits` either way.
  const cost = w === 4 ? COST_32 : w === 2 ? COST_16 : COST_8
  let total = 0
  for (let j = 0; j < n; j++) total += cost[sym[j]]
  if (total >= INVALID) r.fail(`bit length above ${8 * w} for ${w}-byte words`)
  if (Math.ceil(total / 8) !== nbytes) r.fail(`bit stream has ${nbytes} bytes, symbols use ${total} bits`)
  const dst = wordView(out, n, w)
  // 0: residual words; 1: base XOR residual; 2: base + unzigzag(residual).
  // Stores into the typed views wrap to the word size.
  const mode = combine == null ? 0 : combine.transform === Transform.XOR ? 1 : 2
  const base = wordView(combine?.base ?? out, n, w)
  let p = 0
  for (let j = 0; j < n; j++) {
    const l = sym[j]
    const i = p >>> 5
    const sh = p & 31
    // (x << 1) << (31 − sh) is x << (32 − sh), and 0 when sh = 0
    const win = (bits[i] >>> sh) | ((bits[i + 1] << 1) << (31 - sh))
    // table-driven, so runs of zeros and ones cost no mispredicted branch
    const z = (win & LOW_MASK[l]) | LEADING[l]
    p += ADVANCE[l]
    if (mode === 2) dst[j] = base[j] + ((z >>> 1) ^ -(z & 1))
    else if (mode === 1) dst[j] = base[j] ^ z
    else dst[j] = z
  }
}

/** Per bit length L (0..255, only 0..32 valid): the implicit leading one, the mask of the L−1 stored bits, their count. */
const LEADING = new Int32Array(256)
const LOW_MASK = new Int32Array(256)
const ADVANCE = new Int32Array(256)
for (let l = 1; l <= 32; l++) {
  LEADING[l] = 1 << (l - 1)
  LOW_MASK[l] = l === 1 ? 0 : (1 << (l - 1)) - 1
  ADVANCE[l] = l - 1
}

/** What a symbol invalid for the word size adds to the validation total: more than any stream holds. */
const INVALID = 2 ** 40

/** Stored bits per symbol for 1-, 2- and 4-byte words; INVALID above 8w. */
function costTable (maxL: number): Float64Array {
  const t = new Float64Array(256).fill(INVALID)
  for (let l = 0; l <= maxL; l++) t[l] = ADVANCE[l]
  return t
}
const COST_8 = costTable(8)
const COST_16 = costTable(16)
const COST_32 = costTable(32)
