/**
 * Scalar float formats the quantizers read and write: IEEE fp16, bfloat16,
 * fp32 (little-endian byte decoding) and OCP FP8 E4M3 ("E4M3FN": no
 * infinities, one NaN pattern per sign, max ±448). Bit-exact, round to nearest
 * even, no dependency on Float16Array (Node 20 has none).
 */

import { BadInputError, ErrorCode } from '../errors.js'

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/**
 * fp32 → IEEE binary16 bits, round to nearest even, overflow to ±inf, NaN kept
 * quiet. Matches ggml's GGML_FP32_TO_FP16 (F16C `vcvtps2ph` with RNE).
 */
export function f32ToF16Bits (value: number): number {
  f32[0] = value
  const x = u32[0]
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    // subnormal half: value = m * 2^-24 with m = (1.mant * 2^23) >> (14 - e)
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    const half = 2 ** (shift - 1)
    let m = Math.floor(mant / 2 ** shift)
    const rem = mant - m * 2 ** shift
    if (rem > half || (rem === half && (m & 1) === 1)) m++
    return sign | m
  }
  const m = mant >>> 13
  const rem = mant & 0x1fff
  let h = sign | (e << 10) | m
  // a carry out of the mantissa correctly bumps the exponent (and can reach inf)
  if (rem > 0x1000 || (rem === 0x1000 && (m & 1) === 1)) h++
  return h
}

/** IEEE binary16 bits → number (exact). */
export function f16BitsToF32 (h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** fp32 rounded to the nearest fp16 value, as a number. */
export function roundToF16 (value: number): number {
  return f16BitsToF32(f32ToF16Bits(value))
}

/** bfloat16 bits → number (exact: bf16 is the top half of an fp32). */
export function bf16BitsToF32 (b: number): number {
  u32[0] = (b & 0xffff) << 16
  return f32[0]
}

/** Largest finite E4M3FN magnitude. */
export const E4M3_MAX = 448

/** E4M3FN byte → number. 0x7f/0xff are NaN; there are no infinities. */
export function e4m3ToF32 (byte: number): number {
  const sign = (byte & 0x80) !== 0 ? -1 : 1
  const exp = (byte >>> 3) & 0x0f
  const mant = byte & 0x07
  if (exp === 0x0f && mant === 0x07) return NaN
  if (exp === 0) return sign * mant * 2 ** -9
  return sign * (1 + mant / 8) * 2 ** (exp - 7)
}

/**
 * number (taken as fp32) → E4M3FN byte, round to nearest even, saturating to
 * ±448 (what `clamp(-448, 448)` followed by a cast does in vLLM's FP8 path).
 * NaN maps to 0x7f.
 */
export function f32ToE4M3 (value: number): number {
  if (Number.isNaN(value)) return 0x7f
  f32[0] = value
  const x = u32[0]
  const sign = (x >>> 24) & 0x80
  const exp32 = (x >>> 23) & 0xff
  const a = Math.abs(f32[0])
  if (exp32 === 0xff || a >= E4M3_MAX) return sign | 0x7e
  const unbiased = exp32 - 127
  if (unbiased < -6) {
    // subnormal range: multiples of 2^-9; a * 512 is exact in a double
    const q = roundHalfEven(a * 512)
    return sign | q // q === 8 is the smallest normal (exp 1, mant 0): same bits
  }
  const mant23 = x & 0x7fffff
  let code = ((unbiased + 7) << 3) | (mant23 >>> 20)
  const rem = mant23 & 0xfffff
  if (rem > 0x80000 || (rem === 0x80000 && (code & 1) === 1)) code++
  if (code > 0x7e) code = 0x7e
  return sign | code
}

/** Round half to even, as torch.round and IEEE default rounding do. */
export function roundHalfEven (v: number): number {
  const r = Math.round(v) // half up
  if (Math.abs(v % 1) === 0.5 && r % 2 !== 0) return r - 1
  return r
}

/** Round half away from zero, as C `roundf` does (ggml's Q8_0 uses it). */
export function roundHalfAway (v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v)
}

/** Floating dtypes the quantizers accept, as safetensors spells them. */
export const FloatDtype = {
  F32: 'F32',
  F16: 'F16',
  BF16: 'BF16'
} as const

/** One of {@link FloatDtype}. */
export type FloatDtypeName = typeof FloatDtype[keyof typeof FloatDtype]

/** Bytes per element of a float dtype. */
export function floatDtypeSize (dtype: FloatDtypeName): number {
  return dtype === 'F32' ? 4 : 2
}

/** True for the dtypes {@link decodeFloats} understands. */
export function isFloatDtype (dtype: string): dtype is FloatDtypeName {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16'
}

/**
 * Decode little-endian F32/F16/BF16 bytes into a new Float32Array. The bytes
 * may sit at any offset (safetensors data is not aligned for us).
 */
export function decodeFloats (dtype: string, bytes: Uint8Array): Float32Array {
  if (!isFloatDtype(dtype)) throw new BadInputError(ErrorCode.UNSUPPORTED, `cannot decode dtype ${dtype} as floats`)
  const size = floatDtypeSize(dtype)
  if (bytes.length % size !== 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${bytes.length} bytes is not a whole number of ${dtype} elements`)
  const n = bytes.length / size
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out = new Float32Array(n)
  if (dtype === 'F32') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true)
  } else if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = f16BitsToF32(view.getUint16(i * 2, true))
  } else {
    for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(view.getUint16(i * 2, true))
  }
  return out
}
