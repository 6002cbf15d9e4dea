/**
 * Lossy deltas, produced only on explicit request: the difference of a float
 * tensor piece from its base is quantised, and the *reconstruction* — base
 * plus dequantised difference, rounded to the dtype — becomes a new revision
 * with its own CIDs. The payload (codec 20–22) decodes against the base to
 * exactly those reconstructed bytes, so below the logical layer a lossy
 * revision is as bit-exact as any other.
 *
 *  - int8 / int4: blocks of 128 / 64 elements, one f32 scale per block
 *    (absmax / 127 or / 7), q = round(δ / scale) clamped.
 *  - 1bit (BitDelta): sign(δ) times one scale per piece, the mean |δ|.
 *
 * Reconstruction, shared by encoder and decoder so both give the same bits:
 * x̂ = RNE_f32(b + q·scale) evaluated in float64 (JS numbers; no fused ops),
 * then for F16/BF16 the f32 result is rounded to nearest even once more.
 * Elements whose base or derived value is not finite, or whose reconstruction
 * overflows, are stored exactly as exceptions, so NaN/Inf survive.
 * Error statistics are over finite derived values; exceptions have no error.
 */

import { ErrorCode, TenpakError } from '../errors.js'
import type { DeltaHint } from './delta.js'
import { ByteReader, ByteWriter, readStream, writeStream } from './delta-streams.js'
import { aligned4, f16ToF32, f32ToBf16, f32ToF16, requireLittleEndian } from './delta-words.js'
import { CodecId } from './types.js'
import type { Encoded } from './types.js'
import { createZstd } from './zstd.js'
import type { ZstdContext } from './zstd.js'

/** The lossy modes `--lossy` accepts. */
export type LossyMode = 'int8' | 'int4' | '1bit'

/** Error of one quantised piece; sum over pieces, then relative RMS = sqrt(sumSqErr / sumSqRef). */
export interface LossyStats {
  /** Σ (x − x̂)² over finite derived values x (float64) */
  sumSqErr: number
  /** Σ x² over the same values */
  sumSqRef: number
  /** max |x − x̂| */
  maxAbsErr: number
  /** elements in the piece */
  count: number
}

/** Result of {@link quantizeDelta}. */
export interface QuantizedDelta {
  /** the new (lossy) derived bytes; what `encoded` decodes to against the base */
  reconstructed: Uint8Array
  /** lossy pack-entry payload (codec 20–22) */
  encoded: Encoded
  stats: LossyStats
}

/** Tuning of {@link quantizeDelta}. */
export interface QuantizeOptions {
  /** elements per scale for int8/int4: a power of two, 16..65536 (default 128 / 64) */
  blockSize?: number
}

const MODES = {
  int8: { codec: CodecId.LOSSY_INT8, qmax: 127, block: 128 },
  int4: { codec: CodecId.LOSSY_INT4, qmax: 7, block: 64 },
  '1bit': { codec: CodecId.LOSSY_1BIT, qmax: 1, block: 0 }
} as const

/** dtype codes in the payload and their element sizes. */
const DType = { F32: 1, F16: 2, BF16: 3 } as const
type DTypeCode = typeof DType[keyof typeof DType]
const ELEMENT_SIZE: Readonly<Record<number, number>> = { 1: 4, 2: 2, 3: 2 }

function dtypeCode (dtype: string | undefined): DTypeCode | undefined {
  switch (dtype?.toUpperCase()) {
    case 'F32': return DType.F32
    case 'F16': return DType.F16
    case 'BF16': return DType.BF16
    default: return undefined
  }
}

/** Element values of `bytes` as f32 bit patterns (a Uint32Array, aliasable as Float32Array). */
function toF32Bits (bytes: Uint8Array, code: DTypeCode, n: number): Uint32Array {
  if (code === DType.F32) {
    const a = aligned4(bytes)
    return new Uint32Array(a.buffer, a.byteOffset, n)
  }
  const a = (bytes.byteOffset & 1) !== 0 ? new Uint8Array(bytes) : bytes
  const h = new Uint16Array(a.buffer, a.byteOffset, n)
  const out = new Uint32Array(n)
  if (code === DType.F16) for (let i = 0; i < n; i++) out[i] = f16ToF32(h[i])
  else for (let i = 0; i < n; i++) out[i] = h[i] << 16
  return out
}

function asFloat (bits: Uint32Array): Float32Array {
  return new Float32Array(bits.buffer, bits.byteOffset, bits.length)
}

/**
 * x̂ = base + q·scale for every element, rounded as the module header says,
 * written as `code` elements into `out`. `q` holds one int per element
 * (int8/int4) or is a packed sign bitmap (1bit, `bitmap` true).
 */
function reconstruct (code: DTypeCode, base: Float32Array, q: Int8Array | Uint8Array, bitmap: boolean, scales: Float32Array, blockLog: number, n: number, out: Uint8Array): void {
  const tmp = new Float32Array(n)
  if (bitmap) {
    const s = scales[0]
    for (let i = 0; i < n; i++) tmp[i] = base[i] + (((q[i >>> 3] >>> (i & 7)) & 1) !== 0 ? s : -s)
  } else {
    for (let k = 0, i = 0; i < n; k++) {
      const s = scales[k]
      const end = Math.min(n, i + (1 << blockLog))
      for (; i < end; i++) tmp[i] = base[i] + q[i] * s
    }
  }
  const bits = new Uint32Array(tmp.buffer)
  if (code === DType.F32) {
    out.set(new Uint8Array(tmp.buffer))
    return
  }
  const o = new Uint16Array(out.buffer, out.byteOffset, n)
  if (code === DType.F16) for (let i = 0; i < n; i++) o[i] = f32ToF16(bits[i])
  else for (let i = 0; i < n; i++) o[i] = f32ToBf16(bits[i])
}

/**
 * Quantise the delta of a float tensor piece (`hint.dtype` F32, F16 or BF16)
 * from its same-dtype, same-length `base`. Returns the reconstructed bytes,
 * their lossy payload and the error against `bytes`; undefined when the piece
 * is not such a tensor (the caller then keeps it lossless).
 */
export function quantizeDelta (bytes: Uint8Array, base: Uint8Array, hint: DeltaHint, mode: LossyMode, options: QuantizeOptions = {}): QuantizedDelta | undefined {
  requireLittleEndian()
  const spec = MODES[mode]
  const code = dtypeCode(hint.dtype)
  if (code == null || (hint.baseDtype != null && dtypeCode(hint.baseDtype) !== code)) return undefined
  const es = ELEMENT_SIZE[code]
  if (bytes.length === 0 || bytes.length !== base.length || bytes.length % es !== 0) return undefined
  const n = bytes.length / es
  const block = spec.block === 0 ? 0 : options.blockSize ?? spec.block
  const blockLog = block === 0 ? 0 : Math.log2(block)
  if (block !== 0 && (!Number.isInteger(blockLog) || blockLog < 4 || blockLog > 16)) {
    throw new TenpakError(ErrorCode.BAD_ARGUMENT, `lossy block size must be a power of two in 16..65536, got ${block}`)
  }
  const xBits = toF32Bits(bytes, code, n)
  const x = asFloat(xBits)
  const b = asFloat(toF32Bits(base, code, n))
  const exc = new Uint8Array(n)
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i]) || !Number.isFinite(b[i])) exc[i] = 1

  let q: Int8Array | Uint8Array
  let scales: Float32Array
  if (block === 0) {
    let sum = 0
    let cnt = 0
    q = new Uint8Array((n + 7) >>> 3)
    for (let i = 0; i < n; i++) {
      if (exc[i] !== 0) continue
      const d = x[i] - b[i]
      sum += Math.abs(d)
      cnt++
      if (d >= 0) q[i >>> 3] |= 1 << (i & 7)
    }
    scales = Float32Array.of(cnt === 0 ? 0 : sum / cnt)
  } else {
    const qmax = spec.qmax
    const nb = Math.ceil(n / block)
    scales = new Float32Array(nb)
    const qi = new Int8Array(n)
    for (let k = 0; k < nb; k++) {
      const start = k * block
      const end = Math.min(n, start + block)
      let absmax = 0
      for (let i = start; i < end; i++) {
        if (exc[i] === 0) {
          const a = Math.abs(x[i] - b[i])
          if (a > absmax) absmax = a
        }
      }
      scales[k] = absmax / qmax
      const s = scales[k]
      if (s === 0 || !Number.isFinite(s)) continue
      for (let i = start; i < end; i++) {
        if (exc[i] !== 0) continue
        const v = Math.round((x[i] - b[i]) / s)
        qi[i] = v > qmax ? qmax : v < -qmax ? -qmax : v
      }
    }
    q = qi
  }

  const out = new Uint8Array(bytes.length)
  reconstruct(code, b, q, block === 0, scales, blockLog, n, out)
  const xr = asFloat(toF32Bits(out, code, n))
  const excIdx: number[] = []
  for (let i = 0; i < n; i++) {
    if (exc[i] !== 0 || !Number.isFinite(xr[i])) {
      excIdx.push(i)
      out.set(bytes.subarray(i * es, (i + 1) * es), i * es)
    }
  }
  const stats: LossyStats = { sumSqErr: 0, sumSqRef: 0, maxAbsErr: 0, count: n }
  for (let i = 0, e = 0; i < n; i++) {
    const xi = x[i]
    if (!Number.isFinite(xi)) continue
    let err = 0
    if (e < excIdx.length && excIdx[e] === i) e++
    else err = xi - xr[i]
    stats.sumSqErr += err * err
    stats.sumSqRef += xi * xi
    const a = Math.abs(err)
    if (a > stats.maxAbsErr) stats.maxAbsErr = a
  }

  const zstd = sharedZstd()
  const w = new ByteWriter(1024 + bytes.length)
  w.u8(code)
  w.u8(blockLog)
  w.u32(n)
  writeStream(w, new Uint8Array(scales.buffer), zstd)
  if (block === 0) {
    writeStream(w, q as Uint8Array, zstd)
  } else if (spec.qmax === 7) {
    const packed = new Uint8Array((n + 1) >>> 1)
    for (let i = 0; i < n; i++) packed[i >>> 1] |= (q[i] & 15) << ((i & 1) << 2)
    writeStream(w, packed, zstd)
  } else {
    writeStream(w, new Uint8Array(q.buffer, q.byteOffset, n), zstd)
  }
  w.u32(excIdx.length)
  for (const i of excIdx) w.u32(i)
  for (const i of excIdx) w.bytes(bytes.subarray(i * es, (i + 1) * es))
  return { reconstructed: out, encoded: { codec: spec.codec, data: w.result() }, stats }
}

let zstdShared: ZstdContext | undefined
function sharedZstd (): ZstdContext {
  zstdShared ??= createZstd()
  return zstdShared
}

/**
 * Decode a lossy payload (codec 20–22) against `base` into exactly
 * `logicalLength` bytes; `ERR_CODEC` on any inconsistency.
 */
export function decodeLossy (codec: number, data: Uint8Array, logicalLength: number, base: Uint8Array, zstd: ZstdContext = sharedZstd()): Uint8Array {
  requireLittleEndian()
  const r = new ByteReader(data, `lossy codec ${codec}`)
  const code = r.u8()
  const es = ELEMENT_SIZE[code]
  if (es == null) r.fail(`dtype code ${code}`)
  const blockLog = r.u8()
  const n = r.u32()
  if (n * es !== logicalLength) r.fail(`${n} elements of ${es} bytes, logical length ${logicalLength}`)
  if (base.length !== logicalLength) r.fail(`base has ${base.length} bytes, chunk ${logicalLength}`)
  const bitmap = codec === CodecId.LOSSY_1BIT
  if (bitmap ? blockLog !== 0 : blockLog < 4 || blockLog > 16) r.fail(`block size 2^${blockLog}`)
  const nScales = bitmap ? 1 : Math.ceil(n / (1 << blockLog))
  const scaleBytes = new Uint8Array(nScales * 4)
  readStream(r, scaleBytes, zstd)
  const scales = new Float32Array(scaleBytes.buffer)
  let q: Int8Array | Uint8Array
  if (bitmap) {
    q = new Uint8Array((n + 7) >>> 3)
    readStream(r, q, zstd)
  } else if (codec === CodecId.LOSSY_INT4) {
    const packed = new Uint8Array((n + 1) >>> 1)
    readStream(r, packed, zstd)
    const qi = new Int8Array(n)
    for (let i = 0; i < n; i++) qi[i] = (((packed[i >>> 1] >>> ((i & 1) << 2)) & 15) << 28) >> 28
    q = qi
  } else if (codec === CodecId.LOSSY_INT8) {
    const qi = new Int8Array(n)
    readStream(r, new Uint8Array(qi.buffer), zstd)
    q = qi
  } else {
    return r.fail('not a lossy codec')
  }
  const out = new Uint8Array(logicalLength)
  reconstruct(code as DTypeCode, asFloat(toF32Bits(base, code as DTypeCode, n)), q, bitmap, scales, blockLog, n, out)
  const ne = r.u32()
  if (ne > n) r.fail(`${ne} exceptions for ${n} elements`)
  const idx = r.take(ne * 4)
  const vals = r.take(ne * es)
  let prev = -1
  for (let e = 0; e < ne; e++) {
    const i = (idx[4 * e] | (idx[4 * e + 1] << 8) | (idx[4 * e + 2] << 16) | (idx[4 * e + 3] << 24)) >>> 0
    if (i <= prev || i >= n) r.fail(`exception index ${i}`)
    prev = i
    out.set(vals.subarray(e * es, (e + 1) * es), i * es)
  }
  r.end()
  return out
}
