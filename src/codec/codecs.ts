/**
 * The standalone pack-entry codecs (raw, zstd, bytegroup-zstd) behind one
 * pair of calls: `encodeChunk` picks the smallest sensible encoding for a
 * chunk from its hint, and `decodeChunk` turns a stored payload back into the
 * chunk's logical bytes, refusing anything malformed with `ERR_CODEC`.
 *
 * The bytegroup-zstd payload describes itself (word size and how each byte
 * plane is kept) so decoding needs only (codec, data, logicalLength); its
 * byte layout is written down in docs/formats.md.
 *
 * Levels were chosen by measurement (scripts/bench/codec-levels.mjs). On byte
 * planes of f32/bf16 weights, level 1 is both faster and smaller than levels
 * 2–9: the exponent plane is almost all literals, and higher fast levels spend
 * bits on short, useless matches. Level 1 with a long minimum match and a tiny
 * hash table (DEFAULT_PLANE_PARAMS) matches level 19's size at above level 1's
 * speed. On text, level 3 is ~5% smaller than level 1 but ~25% slower; since
 * ingest must keep up with `zstd -1`, the default is level 1 and callers who
 * archive can raise it.
 */

import { ErrorCode, TenpakError } from '../errors.js'
import { joinPlanes, planeLength, splitPlanes } from './bytegroup.js'
import { createDeltaCodec, encodeDelta, estimateStandalone, patchLevelOf } from './delta.js'
import type { DeltaCodec } from './delta.js'
import { CodecId, isDeltaCodec } from './types.js'
import type { EncodeHint, Encoded } from './types.js'
import { checkZstdLevel, checkZstdParams, createZstd, zstdBound } from './zstd.js'
import type { ZstdContext, ZstdParams } from './zstd.js'

/**
 * zstd settings for the byte planes of tensors: level 1 with a 7-byte minimum
 * match and a 256-entry hash table. Planes are nearly match-free, so this is
 * as small as level 19 and faster than plain level 1 (see the module header).
 */
export const DEFAULT_PLANE_PARAMS: Readonly<ZstdParams> = Object.freeze({ level: 1, minMatch: 7, hashLog: 8 })

/** zstd level for tensor chunks kept whole (no word size, or strongly structured data). */
export const DEFAULT_TENSOR_LEVEL = 1

/** zstd level for headers, text, records and generic bytes (fast; see the module header). */
export const DEFAULT_TEXT_LEVEL = 1

/**
 * A codec (or a byte plane's zstd frame) is used only if it saves at least
 * this fraction of the raw size; otherwise the bytes are kept raw, because a
 * memcpy decodes far faster than zstd and a ~1% saving is not worth that.
 */
export const DEFAULT_MIN_SAVING = 1 / 64

/** Per-call tuning of {@link encodeChunk}; defaults come from measurement. */
export interface EncodeOptions {
  /** zstd settings for byte planes. Default {@link DEFAULT_PLANE_PARAMS}. */
  planes?: number | ZstdParams
  /** zstd level for tensor chunks compressed whole. Default {@link DEFAULT_TENSOR_LEVEL}. */
  tensorLevel?: number
  /** zstd level for everything else. Default {@link DEFAULT_TEXT_LEVEL}. */
  textLevel?: number
  /** Minimum fraction of bytes an encoding must save over raw. Default {@link DEFAULT_MIN_SAVING}. */
  minSaving?: number
}

/** Encoder and decoder sharing one set of zstd contexts and scratch buffers. */
export interface ChunkCodec {
  /** See the module-level {@link encodeChunk}. */
  encodeChunk: (bytes: Uint8Array, hint: EncodeHint, options?: EncodeOptions) => Encoded
  /** See the module-level {@link decodeChunk}. */
  decodeChunk: (codec: number, data: Uint8Array, logicalLength: number, base?: Uint8Array) => Uint8Array
}

/** How one byte plane is kept inside a bytegroup-zstd payload. */
const PlaneMode = {
  /** the plane's bytes as they are */
  RAW: 0,
  /** u32 LE frame length, then one zstd frame decoding to the plane */
  ZSTD: 1,
  /** one byte repeated over the whole plane */
  CONST: 2
} as const

/** Word sizes a bytegroup-zstd payload may declare. */
const WORD_SIZES: ReadonlySet<number> = new Set([2, 4, 8])

/** Bytes per element of safetensors/GGUF float dtypes worth byte-grouping. */
const DTYPE_WORD_SIZE: Readonly<Record<string, number>> = {
  BF16: 2,
  F16: 2,
  F32: 4,
  F64: 8
}

/**
 * If grouping a chunk gets below this fraction of raw size, the data has real
 * structure (repeats, runs), which whole-word LZ matches may capture better
 * than plane-wise ones, so plain zstd is tried too. Above it the planes are
 * dominated by entropy coding and plain zstd never won in measurement, so the
 * second compression is skipped to keep ingest fast.
 */
const PLAIN_RETRY_RATIO = 0.5

/** Scratch buffers above this size are not kept between calls. */
const SCRATCH_KEEP_MAX = 16 << 20

/** Byte-group word size for a hint: an explicit valid `wordSize`, else by dtype, else 0. */
export function wordSizeForHint (hint: EncodeHint): number {
  if (hint.wordSize != null && WORD_SIZES.has(hint.wordSize)) return hint.wordSize
  if (hint.dtype != null) return DTYPE_WORD_SIZE[hint.dtype.toUpperCase()] ?? 0
  return 0
}

/** Create an encoder/decoder with its own zstd contexts (one per worker thread). */
export function createChunkCodec (): ChunkCodec {
  const zstd: ZstdContext = createZstd()
  // Created on the first delta entry decoded.
  let delta: DeltaCodec | undefined
  // Scratch buffers grow to the largest chunk seen and are reused, so steady
  // state encoding allocates only the returned payload.
  let grouped = new Uint8Array(0)
  let out = new Uint8Array(0)

  function scratchGrouped (n: number): Uint8Array {
    if (grouped.length < n) grouped = new Uint8Array(n)
    return grouped.subarray(0, n)
  }

  /** Drop scratch grown by an unusually large chunk instead of pinning it for the codec's life. */
  function trimScratch (): void {
    if (grouped.length > SCRATCH_KEEP_MAX) grouped = new Uint8Array(0)
    if (out.length > SCRATCH_KEEP_MAX) out = new Uint8Array(0)
  }

  /** Plain zstd of `bytes` into the `out` scratch; returns its length. */
  function plainZstd (bytes: Uint8Array, level: number): number {
    const bound = zstdBound(bytes.length)
    if (out.length < bound) out = new Uint8Array(bound)
    return zstd.compressInto(out, bytes, level)
  }

  /**
   * bytegroup-zstd payload of `bytes` into the `out` scratch; returns its
   * length. Callers guarantee at least one whole word (so planes are non-empty).
   */
  function byteGroup (bytes: Uint8Array, w: number, params: number | ZstdParams, minSaving: number): number {
    const n = planeLength(bytes.length, w)
    const body = n * w
    const planes = splitPlanes(bytes, w, scratchGrouped(bytes.length))
    const bound = 1 + w * 5 + w * zstdBound(n) + (bytes.length - body)
    if (out.length < bound) out = new Uint8Array(bound)
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
    out[0] = w
    let pos = 1
    for (let k = 0; k < w; k++) {
      const plane = planes.subarray(k * n, (k + 1) * n)
      if (isConstant(plane)) {
        out[pos] = PlaneMode.CONST
        out[pos + 1] = plane[0]
        pos += 2
        continue
      }
      const c = zstd.compressInto(out.subarray(pos + 5), plane, params)
      if (c <= n - n * minSaving) {
        out[pos] = PlaneMode.ZSTD
        view.setUint32(pos + 1, c, true)
        pos += 5 + c
      } else {
        // Incompressible plane (typically low mantissa bytes): keep it raw so
        // decoding it is a copy.
        out[pos] = PlaneMode.RAW
        out.set(plane, pos + 1)
        pos += 1 + n
      }
    }
    out.set(bytes.subarray(body), pos)
    return pos + (bytes.length - body)
  }

  function encodeChunk (bytes: Uint8Array, hint: EncodeHint, options: EncodeOptions = {}): Encoded {
    try {
      return encode(bytes, hint, options)
    } finally {
      trimScratch()
    }
  }

  function encode (bytes: Uint8Array, hint: EncodeHint, options: EncodeOptions): Encoded {
    const minSaving = options.minSaving ?? DEFAULT_MIN_SAVING
    if (!(minSaving >= 0 && minSaving < 1)) {
      throw new TenpakError(ErrorCode.BAD_ARGUMENT, `minSaving must be in [0, 1), got ${minSaving}`)
    }
    const len = bytes.length
    const limit = len - len * minSaving
    const w = wordSizeForHint(hint)
    const isTensor = w !== 0 || hint.kind === 'tensor'
    const level = isTensor ? options.tensorLevel ?? DEFAULT_TENSOR_LEVEL : hint.level ?? options.textLevel ?? DEFAULT_TEXT_LEVEL
    const planeParams = options.planes ?? DEFAULT_PLANE_PARAMS
    checkZstdLevel(level)
    checkZstdParams(planeParams)
    // A zstd frame costs ≥ 9 bytes of header, so chunks this small cannot
    // shrink; this also guarantees byteGroup at least one whole word.
    if (len < 16) return { codec: CodecId.RAW, data: copy(bytes) }

    let best: Encoded | undefined
    let bestSize = limit
    if (w !== 0) {
      const size = byteGroup(bytes, w, planeParams, minSaving)
      if (size <= bestSize) {
        best = { codec: CodecId.BYTEGROUP_ZSTD, data: out.slice(0, size) }
        bestSize = size
      }
      if (size < len * PLAIN_RETRY_RATIO) {
        // The bytegroup candidate was copied out above, so `out` is free.
        const c = plainZstd(bytes, level)
        if (c < bestSize) best = { codec: CodecId.ZSTD, data: out.slice(0, c) }
      }
    } else {
      const c = plainZstd(bytes, level)
      if (c <= bestSize) best = { codec: CodecId.ZSTD, data: out.slice(0, c) }
    }
    return best ?? { codec: CodecId.RAW, data: copy(bytes) }
  }

  function decodeByteGroup (data: Uint8Array, logicalLength: number): Uint8Array {
    const fail = (why: string): never => { throw new TenpakError(ErrorCode.CODEC, `malformed bytegroup-zstd payload: ${why}`) }
    if (data.length < 1) fail('empty')
    const w = data[0]
    if (!WORD_SIZES.has(w)) fail(`word size ${w}`)
    const n = planeLength(logicalLength, w)
    const body = n * w
    const planes = scratchGrouped(logicalLength)
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    let pos = 1
    for (let k = 0; k < w; k++) {
      if (pos >= data.length) fail(`truncated before plane ${k}`)
      const plane = planes.subarray(k * n, (k + 1) * n)
      const mode = data[pos]
      if (mode === PlaneMode.RAW) {
        if (pos + 1 + n > data.length) fail(`raw plane ${k} truncated`)
        plane.set(data.subarray(pos + 1, pos + 1 + n))
        pos += 1 + n
      } else if (mode === PlaneMode.ZSTD) {
        if (pos + 5 > data.length) fail(`plane ${k} length truncated`)
        const c = view.getUint32(pos + 1, true)
        if (pos + 5 + c > data.length) fail(`zstd plane ${k} truncated`)
        zstd.decompressInto(plane, data.subarray(pos + 5, pos + 5 + c))
        pos += 5 + c
      } else if (mode === PlaneMode.CONST) {
        if (pos + 2 > data.length) fail(`constant plane ${k} truncated`)
        plane.fill(data[pos + 1])
        pos += 2
      } else {
        fail(`plane ${k} has unknown mode ${mode}`)
      }
    }
    const tail = logicalLength - body
    if (data.length - pos !== tail) fail(`${data.length - pos} trailing bytes, expected ${tail}`)
    planes.set(data.subarray(pos), body)
    return joinPlanes(planes, w)
  }

  function decodeChunk (codec: number, data: Uint8Array, logicalLength: number, base?: Uint8Array): Uint8Array {
    if (!Number.isSafeInteger(logicalLength) || logicalLength < 0) {
      throw new TenpakError(ErrorCode.CODEC, `invalid logical length ${logicalLength}`)
    }
    switch (codec) {
      case CodecId.RAW:
        if (data.length !== logicalLength) {
          throw new TenpakError(ErrorCode.CODEC, `raw entry has ${data.length} bytes, expected ${logicalLength}`)
        }
        return data
      case CodecId.ZSTD:
        return zstd.decompress(data, logicalLength)
      case CodecId.BYTEGROUP_ZSTD:
        try {
          return decodeByteGroup(data, logicalLength)
        } finally {
          trimScratch()
        }
      default:
        if (!isDeltaCodec(codec)) throw new TenpakError(ErrorCode.CODEC, `unknown codec ${codec}`)
        // Delta and lossy codecs (ids ≥ 16) decode against their base chunk
        // (delta.ts), sharing this codec's zstd contexts.
        delta ??= createDeltaCodec({ zstd })
        return delta.decodeDelta(codec, data, logicalLength, base)
    }
  }

  return { encodeChunk, decodeChunk }
}

/** A fresh copy; `Buffer#slice` would return a view, and callers may reuse their buffers. */
function copy (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

function isConstant (plane: Uint8Array): boolean {
  const b = plane[0]
  // Exits at the first differing byte, so non-constant planes cost ~nothing.
  for (let i = 1; i < plane.length; i++) if (plane[i] !== b) return false
  return true
}

// The module-level functions share one lazily created codec. It holds only
// zstd contexts and scratch buffers (caches with no observable state), and JS
// runs one call at a time per thread; worker threads get their own module
// instance and thus their own contexts.
let shared: ChunkCodec | undefined
function defaultCodec (): ChunkCodec {
  shared ??= createChunkCodec()
  return shared
}

/**
 * Encode one chunk for a pack entry, choosing the smallest of the encodings
 * that make sense for `hint`: tensors with a float dtype (or an explicit
 * `wordSize` of 2, 4 or 8) are byte-grouped then zstd'd, with plain zstd tried
 * too when the data looks highly structured; everything else gets plain zstd.
 * Falls back to raw when nothing saves at least `minSaving` of the size.
 * The returned `data` never aliases `bytes`.
 */
export function encodeChunk (bytes: Uint8Array, hint: EncodeHint, options: EncodeOptions = {}): Encoded {
  return defaultCodec().encodeChunk(bytes, hint, options)
}

/**
 * Decode a pack entry to exactly `logicalLength` bytes: the standalone codecs
 * (`raw`, `zstd`, `bytegroup-zstd`) and every delta or lossy codec (ids ≥ 16,
 * decoded against `base`; see delta.ts). Throws `ERR_CODEC` for an unknown
 * codec, malformed data, a length mismatch, or a delta entry without its
 * base; never allocates more than `logicalLength` plus scratch. For `raw` the
 * returned array may be `data` itself. Standalone codecs ignore `base`.
 */
export function decodeChunk (codec: number, data: Uint8Array, logicalLength: number, base?: Uint8Array): Uint8Array {
  return defaultCodec().decodeChunk(codec, data, logicalLength, base)
}

/**
 * A delta below this fraction of the chunk's estimated standalone size is kept
 * without encoding the chunk standalone as well (delta.ts estimateStandalone
 * is within a few percent on float tensors). On float drift the standalone
 * byte-grouped encoding costs as much as the delta itself, so this is what
 * keeps fine-tune ingest near the delta codec's speed.
 */
export const DELTA_CLEAR_WIN = 0.9

/**
 * How the store keeps a chunk that has a paired base: the smaller of its
 * delta against `base` and its standalone encoding, the latter skipped when
 * the delta is clearly smaller than the standalone estimate
 * ({@link DELTA_CLEAR_WIN}). Without a base, the standalone encoding.
 * `delta` says whether the result decodes against the base. Used by add (on
 * the main thread and in the encode pool's workers) and by the delta bench,
 * so both measure the same policy. `data` never aliases the inputs.
 */
export function encodeSmallest (bytes: Uint8Array, hint: EncodeHint, base?: { bytes: Uint8Array, dtype?: string }): Encoded & { delta: boolean } {
  if (base == null) return { ...encodeChunk(bytes, hint), delta: false }
  const d = encodeDelta(bytes, base.bytes, { dtype: hint.dtype, wordSize: hint.wordSize, baseDtype: base.dtype, kind: hint.kind }, { patchLevel: patchLevelOf(hint) })
  if (d != null) {
    const est = estimateStandalone(bytes, hint)
    if (est != null && d.data.length < DELTA_CLEAR_WIN * est) return { ...d, delta: true }
  }
  const alone = encodeChunk(bytes, hint)
  return d != null && d.data.length < alone.data.length ? { ...d, delta: true } : { ...alone, delta: false }
}

export { decodeDelta, deltaWordSize, encodeDelta, estimateStandalone, patchLevelOf } from './delta.js'
export type { DeltaEncodeOptions, DeltaHint } from './delta.js'
