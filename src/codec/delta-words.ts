/**
 * Word-level transforms behind the delta codecs: the XOR and the zigzag
 * integer difference of little-endian words against a base (and their
 * inverses), and the dtype casts whose rounding the cast codec predicts
 * (f32 → f16 / bf16, round-to-nearest-even or toward zero; f16 / bf16 → f32).
 * Pure functions over caller-provided, suitably aligned arrays; no I/O.
 */

import { ErrorCode, TenpakError } from '../errors.js'

/** Residual transforms of the XOR / SUB codecs. */
export const Transform = {
  XOR: 0,
  SUB: 1
} as const

/** One of the values of {@link Transform}. */
export type TransformValue = typeof Transform[keyof typeof Transform]

/** Typed-array views below use host byte order; pack formats are little-endian. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Throw `ERR_UNSUPPORTED` on big-endian hosts, where these word views would be wrong. */
export function requireLittleEndian (): void {
  if (!LITTLE_ENDIAN) throw new TenpakError(ErrorCode.UNSUPPORTED, 'delta codecs need a little-endian host')
}

/** `src`, or a 4-byte-aligned copy of it. */
export function aligned4 (src: Uint8Array): Uint8Array {
  return (src.byteOffset & 3) !== 0 ? new Uint8Array(src) : src
}

function u16 (a: Uint8Array, n: number): Uint16Array {
  return new Uint16Array(a.buffer, a.byteOffset, n)
}

function u32 (a: Uint8Array, n: number): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, n)
}

/**
 * out = residual of `d` against `s`: `n` words of `w` bytes each (arrays of
 * n·w bytes, 4-byte aligned). XOR is bitwise; SUB is (d − s) mod 2^(8w) read
 * as signed, zigzag-mapped so small differences of either sign are small.
 */
export function forwardWords (t: TransformValue, w: number, d: Uint8Array, s: Uint8Array, out: Uint8Array, n: number): void {
  if (t === Transform.XOR) return xorBytes(d, s, out, n * w)
  switch (w) {
    case 1:
      for (let i = 0; i < n; i++) {
        const v = ((d[i] - s[i]) << 24) >> 24
        out[i] = (v << 1) ^ (v >> 7)
      }
      return
    case 2: {
      const D = u16(d, n)
      const S = u16(s, n)
      const O = u16(out, n)
      for (let i = 0; i < n; i++) {
        const v = ((D[i] - S[i]) << 16) >> 16
        O[i] = (v << 1) ^ (v >> 15)
      }
      return
    }
    case 4: {
      const D = u32(d, n)
      const S = u32(s, n)
      const O = u32(out, n)
      for (let i = 0; i < n; i++) {
        const v = (D[i] - S[i]) | 0
        O[i] = (v << 1) ^ (v >> 31)
      }
      return
    }
    case 8: {
      const D = u32(d, 2 * n)
      const S = u32(s, 2 * n)
      const O = u32(out, 2 * n)
      for (let i = 0; i < 2 * n; i += 2) {
        const dl = D[i]
        const sl = S[i]
        const lo = (dl - sl) >>> 0
        const hi = (D[i + 1] - S[i + 1] - (dl < sl ? 1 : 0)) | 0
        // 64-bit zigzag: (v << 1) ^ (v >> 63)
        O[i] = (lo << 1) ^ (hi >> 31)
        O[i + 1] = ((hi << 1) | (lo >>> 31)) ^ (hi >> 31)
      }
      return
    }
    default:
      throw new TenpakError(ErrorCode.BAD_ARGUMENT, `word size ${w}`)
  }
}

/** Inverse of {@link forwardWords}: out = `s` combined with residual `r`. */
export function inverseWords (t: TransformValue, w: number, r: Uint8Array, s: Uint8Array, out: Uint8Array, n: number): void {
  if (t === Transform.XOR) return xorBytes(r, s, out, n * w)
  switch (w) {
    case 1:
      for (let i = 0; i < n; i++) {
        const z = r[i]
        out[i] = s[i] + ((z >>> 1) ^ -(z & 1))
      }
      return
    case 2: {
      const R = u16(r, n)
      const S = u16(s, n)
      const O = u16(out, n)
      for (let i = 0; i < n; i++) {
        const z = R[i]
        O[i] = S[i] + ((z >>> 1) ^ -(z & 1))
      }
      return
    }
    case 4: {
      const R = u32(r, n)
      const S = u32(s, n)
      const O = u32(out, n)
      for (let i = 0; i < n; i++) {
        const z = R[i]
        O[i] = S[i] + ((z >>> 1) ^ -(z & 1))
      }
      return
    }
    case 8: {
      const R = u32(r, 2 * n)
      const S = u32(s, 2 * n)
      const O = u32(out, 2 * n)
      for (let i = 0; i < 2 * n; i += 2) {
        const zl = R[i]
        const zh = R[i + 1]
        const m = -(zl & 1)
        const vl = (((zl >>> 1) | (zh << 31)) ^ m) >>> 0
        const vh = ((zh >>> 1) ^ m) >>> 0
        const lo = S[i] + vl
        O[i] = lo
        O[i + 1] = S[i + 1] + vh + (lo > 0xffffffff ? 1 : 0)
      }
      return
    }
    default:
      throw new TenpakError(ErrorCode.BAD_ARGUMENT, `word size ${w}`)
  }
}

/** out[i] = a[i] ^ b[i] for `len` bytes, 32 bits at a time where aligned. */
export function xorBytes (a: Uint8Array, b: Uint8Array, out: Uint8Array, len: number): void {
  let i = 0
  if (((a.byteOffset | b.byteOffset | out.byteOffset) & 3) === 0) {
    const q = len >>> 2
    const A = u32(a, q)
    const B = u32(b, q)
    const O = u32(out, q)
    for (let j = 0; j < q; j++) O[j] = A[j] ^ B[j]
    i = q * 4
  }
  for (; i < len; i++) out[i] = a[i] ^ b[i]
}

/** How the cast codec predicts a derived element from its base element. */
export const CastKind = {
  /** F32 base → F16 derived */
  F32_TO_F16: 1,
  /** F32 base → BF16 derived */
  F32_TO_BF16: 2,
  /** F16 base → F32 derived (exact widening) */
  F16_TO_F32: 3,
  /** BF16 base → F32 derived (exact widening) */
  BF16_TO_F32: 4
} as const

/** One of the values of {@link CastKind}. */
export type CastKindValue = typeof CastKind[keyof typeof CastKind]

/** Rounding of a narrowing cast: what converters do (measured: TFLite fp16 = RNE). */
export const Rounding = {
  NEAREST_EVEN: 0,
  TOWARD_ZERO: 1
} as const

/** One of the values of {@link Rounding}. */
export type RoundingValue = typeof Rounding[keyof typeof Rounding]

/** Word sizes of a cast: [base, derived]. */
export function castWordSizes (kind: CastKindValue): [number, number] {
  return kind === CastKind.F32_TO_F16 || kind === CastKind.F32_TO_BF16 ? [4, 2] : [2, 4]
}

/**
 * f32 bit pattern → f16, round to nearest even (IEEE 754 / numpy / TFLite):
 * overflow → ±Inf, underflow → subnormals or ±0, NaN → quiet NaN keeping the
 * top payload bits.
 */
export function f32ToF16 (x: number): number {
  const e = (x >>> 23) & 0xff
  if (e >= 113 && e <= 142) {
    // f16 normal range: rebias, then round the 13 dropped bits to nearest
    // even; a carry out of the mantissa bumps the exponent (up to Inf).
    const h = (x & 0x7fffffff) - (112 << 23)
    return ((x >>> 16) & 0x8000) | ((h + 0xfff + ((h >>> 13) & 1)) >>> 13)
  }
  const sign = (x >>> 16) & 0x8000
  const m = x & 0x7fffff
  if (e === 0xff) return sign | 0x7c00 | (m !== 0 ? 0x200 | (m >>> 13) : 0)
  if (e > 142) return sign | 0x7c00
  const E = e - 112 // ≤ 0: subnormal or zero in f16
  if (E < -10) return sign
  const mm = m | 0x800000
  const shift = 14 - E
  const half = 1 << (shift - 1)
  const rem = mm & ((half << 1) - 1)
  let r = mm >>> shift
  if (rem > half || (rem === half && (r & 1) !== 0)) r++
  return sign | r
}

/** f32 bit pattern → f16, truncating (round toward zero); NaN stays NaN. */
export function f32ToF16Trunc (x: number): number {
  const sign = (x >>> 16) & 0x8000
  const e = (x >>> 23) & 0xff
  const m = x & 0x7fffff
  if (e === 0xff) return sign | 0x7c00 | (m !== 0 ? 0x200 | (m >>> 13) : 0)
  const E = e - 112
  if (E >= 31) return sign | 0x7bff
  if (E <= 0) return E < -10 ? sign : sign | ((m | 0x800000) >>> (14 - E))
  return sign | (E << 10) | (m >>> 13)
}

/** f32 bit pattern → bf16, round to nearest even (PyTorch); NaN → quiet NaN. */
export function f32ToBf16 (x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

/** f16 bit pattern → f32 bit pattern (exact). */
export function f16ToF32 (h: number): number {
  return F16_TO_F32()[h & 0xffff]
}

let f16Table: Uint32Array | undefined
/** All 65536 widenings, computed once on first use (256 KiB): a lookup beats the branches. */
function F16_TO_F32 (): Uint32Array {
  if (f16Table != null) return f16Table
  const t = new Uint32Array(65536)
  for (let h = 0; h < 65536; h++) t[h] = widenF16(h)
  f16Table = t
  return t
}

function widenF16 (h: number): number {
  const sign = (h & 0x8000) << 16
  const e = (h >>> 10) & 0x1f
  let m = h & 0x3ff
  if (e === 0x1f) return (sign | 0x7f800000 | (m << 13)) >>> 0
  if (e !== 0) return (sign | ((e + 112) << 23) | (m << 13)) >>> 0
  if (m === 0) return sign >>> 0
  // subnormal: normalise
  let E = 113
  while ((m & 0x400) === 0) {
    m <<= 1
    E--
  }
  return (sign | (E << 23) | ((m & 0x3ff) << 13)) >>> 0
}

function i32 (a: Uint8Array, n: number): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, n)
}

/**
 * Fill `pred` (derived-sized words) with the cast of every base element.
 * `base` and `pred` are 4-byte aligned; `n` is the element count.
 */
export function predictCast (kind: CastKindValue, rounding: RoundingValue, base: Uint8Array, pred: Uint8Array, n: number): void {
  switch (kind) {
    case CastKind.F32_TO_F16: {
      // Int32 view: small integers stay unboxed in V8 (u32 above 2^31 would not)
      const B = i32(base, n)
      const P = u16(pred, n)
      if (rounding === Rounding.NEAREST_EVEN) for (let i = 0; i < n; i++) P[i] = f32ToF16(B[i])
      else for (let i = 0; i < n; i++) P[i] = f32ToF16Trunc(B[i])
      return
    }
    case CastKind.F32_TO_BF16: {
      const B = i32(base, n)
      const P = u16(pred, n)
      if (rounding === Rounding.NEAREST_EVEN) for (let i = 0; i < n; i++) P[i] = f32ToBf16(B[i])
      else for (let i = 0; i < n; i++) P[i] = B[i] >>> 16
      return
    }
    case CastKind.F16_TO_F32: {
      const B = u16(base, n)
      const P = u32(pred, n)
      const T = F16_TO_F32()
      for (let i = 0; i < n; i++) P[i] = T[B[i]]
      return
    }
    case CastKind.BF16_TO_F32: {
      const B = u16(base, n)
      const P = u32(pred, n)
      for (let i = 0; i < n; i++) P[i] = B[i] << 16
      return
    }
    default:
      throw new TenpakError(ErrorCode.BAD_ARGUMENT, `cast kind ${kind as number}`)
  }
}
