/**
 * Lossless delta codecs: a chunk stored against a *base chunk* (its paired
 * piece in the base model, the base revision's header or DAG node). The store
 * decides which base a chunk pairs with; this layer only turns (chunk, base)
 * into the smallest payload it can, and back, bit-exactly.
 *
 *  - `delta-xor` (16) / `delta-sub` (17): same-length tensor pieces. The XOR,
 *    or the zigzag integer difference, of the little-endian words, then laid
 *    out as byte planes or as bit lengths + raw low bits (delta-streams.ts).
 *    For drifting floats SUB is usually smallest: a small change of value is a
 *    small difference of bit patterns, even across an exponent boundary.
 *  - `delta-patch` (18): a zstd frame with the base as raw-content dictionary,
 *    for everything else (headers, nodes, text, different lengths).
 *  - `delta-cast` (19): F16/BF16 derived from an F32 base (or widened back):
 *    the base rounded to the derived dtype predicts every element, and only
 *    the residual is stored; a faithful cast costs a few bytes per chunk.
 *
 * The encoder does not try every codec: it estimates both transforms and
 * both layouts from a sample of the words (order-0 entropy), then encodes
 * once. The caller compares the result with the standalone encoding and keeps
 * the smaller. Lossy codecs (20–22) are decoded here too but produced only by
 * lossy.ts. Payload layouts: docs/formats.md, "Delta codecs".
 */

import { ErrorCode, TenpakError } from '../errors.js'
import { createPatchContext, defaultPatchLevel, patchBound } from './delta-patch.js'
import type { PatchContext } from './delta-patch.js'
import { encodeNodeDelta, decodeNodeDelta, type DictFrames } from './delta-node.js'
import { ByteReader, ByteWriter, estimateLayouts, readResidual, ResidualLayout, writeResidual } from './delta-streams.js'
import type { LayoutEstimate, ResidualLayoutValue, ResidualScratch } from './delta-streams.js'
import { aligned4, CastKind, castWordSizes, forwardWords, predictCast, requireLittleEndian, Rounding, Transform } from './delta-words.js'
import type { CastKindValue, RoundingValue, TransformValue } from './delta-words.js'
import { decodeLossy } from './lossy.js'
import { CodecId, isLossyCodec } from './types.js'
import { Codec, cidOf } from '../hash/cid.js'
import type { Encoded } from './types.js'
import { checkZstdLevel, createZstd } from './zstd.js'
import type { ZstdContext } from './zstd.js'

/** What the encoder knows about a chunk and its base. */
export interface DeltaHint {
  /** dtype of the chunk's elements (safetensors/GGUF names: F32, BF16, F16, I8, …) */
  dtype?: string
  /** element size in bytes when there is no dtype (1, 2, 4 or 8) */
  wordSize?: number
  /** dtype of the base chunk's elements, when it differs (casts) */
  baseDtype?: string
  /** 'tensor' | 'header' | 'bytes' | 'records' | 'node' | 'child' (a dag-cbor object linking to its base: DELTA_CHILD) … (anything but 'tensor' is patched) */
  kind?: string
}

/** Per-call tuning of {@link encodeDelta}, mainly for tests and benchmarks. */
export interface DeltaEncodeOptions {
  /** Consider only these codec ids (default: all that apply). */
  codecs?: readonly number[]
  /** Force the residual layout instead of estimating it. */
  layout?: 'planes' | 'bits'
  /** zstd level of patch frames (default by size: delta-patch.ts defaultPatchLevel). */
  patchLevel?: number
}

/** Delta encoder/decoder sharing one set of zstd contexts and scratch buffers. */
export interface DeltaCodec {
  /** See the module-level {@link encodeDelta}. */
  encodeDelta: (bytes: Uint8Array, base: Uint8Array, hint: DeltaHint, options?: DeltaEncodeOptions) => Encoded | undefined
  /** See the module-level {@link decodeDelta}. */
  decodeDelta: (codec: number, data: Uint8Array, logicalLength: number, base: Uint8Array | undefined) => Uint8Array
  /** See the module-level {@link estimateStandalone}. */
  estimateStandalone: (bytes: Uint8Array, hint: DeltaHint) => number | undefined
}

/**
 * Patch level of records (CSV/TSV/JSON lines) and unparsed bytes (text
 * without a known extension, container structure): such data is edited in
 * place, and level 9 finds those edits' surroundings in the base far better
 * than the fast levels (debian word lists american → british, anchored
 * chunks: 8.5 KB at level 9 against 11.6 KB at level 4).
 */
export const PATCH_LEVEL_RECORDS = 9
/** Level of the second attempt at a records or bytes patch that kept more than {@link PATCH_RETRY_FRACTION} of its chunk. */
export const PATCH_LEVEL_RETRY = 16

/** See {@link PATCH_LEVEL_RETRY}. */
export const PATCH_RETRY_FRACTION = 1 / 25

/**
 * The patch level a chunk's encode hint asks for: a records, bytes or header
 * chunk (DAG nodes and tensor tables too) of an add small enough for a strong
 * text level (add.ts textLevelFor: up to 4 MiB, level 19) is patched at that
 * level, as `zstd -19 --patch-from` would; otherwise undefined (the
 * size-based default with its retry).
 */
export function patchLevelOf (hint: { kind?: string, level?: number }): number | undefined {
  if (hint.kind !== 'records' && hint.kind !== 'bytes' && hint.kind !== 'header' && hint.kind !== 'node') return undefined
  return hint.level != null && hint.level > PATCH_LEVEL_RETRY ? hint.level : undefined
}

/** Element sizes of the dtypes tensor deltas understand (safetensors and GGUF spellings). */
const DTYPE_WORD_SIZE: Readonly<Record<string, number>> = {
  F64: 8,
  I64: 8,
  U64: 8,
  F32: 4,
  I32: 4,
  U32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1
}

const WORD_SIZES: ReadonlySet<number> = new Set([1, 2, 4, 8])

/**
 * Words sampled to estimate transforms and layouts; bigger chunks are sampled
 * with a stride. 2048 words bias a 256-bin entropy by < 0.1 bit, far below
 * the differences the choice is made on, and keep small pieces cheap.
 */
const SAMPLE_WORDS = 2048 // ≤ MAX_SAMPLE_WORDS of delta-streams.ts

/** The bit layout is chosen unless planes are estimated this much smaller (see layoutOf). */
const PLANES_MARGIN = 1.03

/** Scratch buffers above this size are not kept between calls. */
const SCRATCH_KEEP_MAX = 16 << 20

/** Element size for a delta hint: `wordSize` if valid, else by dtype, else 0 (not a tensor). */
export function deltaWordSize (hint: DeltaHint): number {
  if (hint.wordSize != null && WORD_SIZES.has(hint.wordSize)) return hint.wordSize
  if (hint.dtype != null) return DTYPE_WORD_SIZE[hint.dtype.toUpperCase()] ?? 0
  return 0
}

/** The cast that maps a `baseLength`-byte base of `hint.baseDtype` to this chunk, if any. */
export function castKindFor (hint: DeltaHint, length: number, baseLength: number): CastKindValue | undefined {
  const d = hint.dtype?.toUpperCase()
  const b = hint.baseDtype?.toUpperCase()
  if (d == null || b == null || d === b) return undefined
  let kind: CastKindValue | undefined
  if (b === 'F32' && d === 'F16') kind = CastKind.F32_TO_F16
  else if (b === 'F32' && d === 'BF16') kind = CastKind.F32_TO_BF16
  else if (b === 'F16' && d === 'F32') kind = CastKind.F16_TO_F32
  else if (b === 'BF16' && d === 'F32') kind = CastKind.BF16_TO_F32
  if (kind == null) return undefined
  const [wb, wd] = castWordSizes(kind)
  if (length % wd !== 0 || baseLength % wb !== 0 || length / wd !== baseLength / wb) return undefined
  return kind
}

const CODEC_NAMES: Readonly<Record<number, string>> = {
  [CodecId.DELTA_XOR]: 'delta-xor',
  [CodecId.DELTA_SUB]: 'delta-sub',
  [CodecId.DELTA_PATCH]: 'delta-patch',
  [CodecId.DELTA_CAST]: 'delta-cast',
  [CodecId.DELTA_NODE]: 'delta-node',
  [CodecId.DELTA_CHILD]: 'delta-child'
}

/**
 * The dictionary of a DELTA_CHILD frame: the base's CID (dag-cbor, BLAKE3,
 * binary CIDv1), then the base. A commit names its parent by that CID, so
 * with the parent as base the 36 bytes of the link are one match instead
 * of literals. The decoder computes the same CID from the base it is given.
 */
function childDictionary (base: Uint8Array): Uint8Array {
  const cid = cidOf(Codec.DAG_CBOR, base).bytes
  const dict = new Uint8Array(cid.length + base.length)
  dict.set(cid)
  dict.set(base, cid.length)
  return dict
}

/** Create a delta encoder/decoder with its own contexts (one per worker thread); `zstd` may be shared with a chunk codec. */
export function createDeltaCodec (init: { zstd?: ZstdContext } = {}): DeltaCodec {
  const zstd = init.zstd ?? createZstd()
  let patch: PatchContext | undefined
  const writer = new ByteWriter()
  const streams: ResidualScratch = { a: new Uint8Array(0), b: new Uint8Array(0) }
  let residual = new Uint8Array(0)
  let predicted = new Uint8Array(0)
  let sampleD = new Uint8Array(0)
  let sampleS = new Uint8Array(0)
  let sampleR = new Uint8Array(0)

  const dictFrames: DictFrames = {
    compress (src, dict, level) {
      const dst = new Uint8Array(patchBound(src.length))
      return dst.slice(0, patchContext().compressInto(dst, src, dict, level))
    },
    decompress (frame, length, dict) {
      const out = new Uint8Array(length)
      patchContext().decompressInto(out, frame, dict)
      return out
    }
  }

  function patchContext (): PatchContext {
    patch ??= createPatchContext()
    return patch
  }

  function scratch (which: 'residual' | 'predicted', n: number): Uint8Array {
    // +8 so that a 4-byte view of n rounded up always fits
    if (which === 'residual') {
      if (residual.length < n) residual = new Uint8Array(n + 8)
      return residual.subarray(0, n)
    }
    if (predicted.length < n) predicted = new Uint8Array(n + 8)
    return predicted.subarray(0, n)
  }

  function trim (): void {
    if (residual.length > SCRATCH_KEEP_MAX) residual = new Uint8Array(0)
    if (predicted.length > SCRATCH_KEEP_MAX) predicted = new Uint8Array(0)
    if (streams.a.length > SCRATCH_KEEP_MAX) streams.a = new Uint8Array(0)
    if (streams.b.length > SCRATCH_KEEP_MAX) streams.b = new Uint8Array(0)
    if (writer.buf.length > SCRATCH_KEEP_MAX) writer.buf = new Uint8Array(1 << 16)
  }

  /** Gather up to SAMPLE_WORDS evenly spaced words of `a` (and `b`) into sample buffers. */
  function gather (a: Uint8Array, b: Uint8Array, n: number, w: number): number {
    const m = Math.min(n, SAMPLE_WORDS)
    const bytes = m * w
    if (sampleD.length < bytes) {
      sampleD = new Uint8Array(SAMPLE_WORDS * 8)
      sampleS = new Uint8Array(SAMPLE_WORDS * 8)
      sampleR = new Uint8Array(SAMPLE_WORDS * 8)
    }
    if (m === n) {
      sampleD.set(a.subarray(0, bytes))
      sampleS.set(b.subarray(0, bytes))
      return m
    }
    const stride = n / m
    for (let i = 0; i < m; i++) {
      const src = Math.floor(i * stride) * w
      const dst = i * w
      for (let k = 0; k < w; k++) {
        sampleD[dst + k] = a[src + k]
        sampleS[dst + k] = b[src + k]
      }
    }
    return m
  }

  function layoutOf (est: LayoutEstimate, options: DeltaEncodeOptions): ResidualLayoutValue {
    if (options.layout === 'planes') return ResidualLayout.PLANES
    if (options.layout === 'bits') return ResidualLayout.BITS
    // Planes win only with clear structure (runs, repeats zstd can match):
    // on float drift the estimate favours them by up to ~2% while the bit
    // layout comes out smaller (measured on the peft chain), hence the margin.
    return est.bits <= est.planes * PLANES_MARGIN ? ResidualLayout.BITS : ResidualLayout.PLANES
  }

  function allowed (options: DeltaEncodeOptions, codec: number): boolean {
    return options.codecs == null || options.codecs.includes(codec)
  }

  /** XOR / SUB of a same-length tensor piece; undefined if neither is allowed. */
  function encodeWords (bytes: Uint8Array, base: Uint8Array, w: number, options: DeltaEncodeOptions): Encoded | undefined {
    // SUB last: it usually wins, and when the sample is the whole chunk its
    // residual is then already computed.
    const transforms: TransformValue[] = []
    if (allowed(options, CodecId.DELTA_XOR)) transforms.push(Transform.XOR)
    if (allowed(options, CodecId.DELTA_SUB)) transforms.push(Transform.SUB)
    if (transforms.length === 0) return undefined
    const d = aligned4(bytes)
    const s = aligned4(base)
    const n = Math.floor(bytes.length / w)
    const body = n * w
    let best = { t: transforms[0], est: undefined as LayoutEstimate | undefined, cost: Infinity }
    let m = 0
    if (n > 0) {
      m = gather(d, s, n, w)
      for (const t of transforms) {
        forwardWords(t, w, sampleD, sampleS, sampleR, m)
        const est = estimateLayouts(sampleR.subarray(0, m * w), w, n)
        const cost = Math.min(est.planes, est.bits)
        if (cost < best.cost) best = { t, est, cost }
      }
    }
    let res: Uint8Array
    if (m === n && best.t === transforms[transforms.length - 1]) {
      res = sampleR.subarray(0, body)
    } else {
      res = scratch('residual', body)
      forwardWords(best.t, w, d, s, res, n)
    }
    writer.reset()
    writer.u8(w)
    const layout = best.est != null ? layoutOf(best.est, options) : ResidualLayout.PLANES
    writeResidual(writer, res, w, w > 4 ? ResidualLayout.PLANES : layout, zstd, streams, best.est)
    // Trailing bytes of a piece that is not a whole number of words: XOR, raw.
    for (let i = body; i < bytes.length; i++) writer.u8(bytes[i] ^ base[i])
    return { codec: best.t === Transform.SUB ? CodecId.DELTA_SUB : CodecId.DELTA_XOR, data: writer.result() }
  }

  function encodeCast (bytes: Uint8Array, base: Uint8Array, kind: CastKindValue, options: DeltaEncodeOptions): Encoded {
    const [wb, wd] = castWordSizes(kind)
    const n = bytes.length / wd
    const d = aligned4(bytes)
    const b = aligned4(base)
    const pred = scratch('predicted', bytes.length)
    const res = scratch('residual', bytes.length)
    let rounding: RoundingValue = Rounding.NEAREST_EVEN
    predictCast(kind, rounding, b, pred, n)
    forwardWords(Transform.SUB, wd, d, pred, res, n)
    if (wb > wd) {
      // Narrowing: if rounding to nearest even misses, see whether the
      // converter truncated instead, and keep whichever predicts more words.
      const missNearest = countNonZero(res)
      if (missNearest > 0) {
        predictCast(kind, Rounding.TOWARD_ZERO, b, pred, n)
        forwardWords(Transform.SUB, wd, d, pred, res, n)
        if (countNonZero(res) < missNearest) {
          rounding = Rounding.TOWARD_ZERO
        } else {
          predictCast(kind, rounding, b, pred, n)
          forwardWords(Transform.SUB, wd, d, pred, res, n)
        }
      }
    }
    const m = gather(res, res, n, wd)
    const est = estimateLayouts(sampleD.subarray(0, m * wd), wd, n)
    writer.reset()
    writer.u8(kind)
    writer.u8(rounding)
    writeResidual(writer, res, wd, layoutOf(est, options), zstd, streams, est)
    return { codec: CodecId.DELTA_CAST, data: writer.result() }
  }

  function encodePatch (bytes: Uint8Array, base: Uint8Array, options: DeltaEncodeOptions, kind?: string): Encoded {
    const level = options.patchLevel ?? (kind === 'records' || kind === 'bytes' ? Math.max(PATCH_LEVEL_RECORDS, defaultPatchLevel(bytes.length)) : defaultPatchLevel(bytes.length))
    checkZstdLevel(level)
    writer.reset()
    writer.ensure(1 + patchBound(bytes.length))
    writer.u8(0) // version of the patch payload
    let c = patchContext().compressInto(writer.buf.subarray(1), bytes, base, level)
    // Records whose every line changed a little (CRLF → LF, a re-rounded
    // column) and re-serialised container structure defeat the lazy match
    // finders: on the oil-price series' CRLF rewrite, level 9 keeps 7.3% of a
    // chunk, level 16 (optimal parsing) 2.4%; on the palm-detection repack's
    // flatbuffer tables 6,097 → 4,910 bytes; at a quarter of the speed, so
    // only chunks whose first patch kept over 4% pay for it.
    if (options.patchLevel == null && (kind === 'records' || kind === 'bytes' || kind === 'header') && level < PATCH_LEVEL_RETRY && c > bytes.length * PATCH_RETRY_FRACTION) {
      const again = patchContext().compressInto(writer.buf.subarray(1), bytes, base, PATCH_LEVEL_RETRY)
      if (again < c) c = again
      else c = patchContext().compressInto(writer.buf.subarray(1), bytes, base, level)
    }
    writer.pos += c
    return { codec: CodecId.DELTA_PATCH, data: writer.result() }
  }

  function encode (bytes: Uint8Array, base: Uint8Array, hint: DeltaHint, options: DeltaEncodeOptions): Encoded | undefined {
    requireLittleEndian()
    if (bytes.length === 0 || base.length === 0) return undefined
    const cast = castKindFor(hint, bytes.length, base.length)
    if (cast != null && allowed(options, CodecId.DELTA_CAST)) return encodeCast(bytes, base, cast, options)
    const w = deltaWordSize(hint)
    if (w !== 0 && bytes.length === base.length && (hint.kind == null || hint.kind === 'tensor')) {
      const enc = encodeWords(bytes, base, w, options)
      if (enc != null) return enc
    }
    if (hint.kind === 'child' && allowed(options, CodecId.DELTA_CHILD)) {
      const enc = encodePatch(bytes, childDictionary(base), options, 'header')
      return { codec: CodecId.DELTA_CHILD, data: enc.data }
    }
    if (hint.kind === 'node') {
      // a file node: its link-list edit, or a patch like any other header, whichever is smaller
      const node = allowed(options, CodecId.DELTA_NODE) ? encodeNodeDelta(bytes, base, dictFrames) : undefined
      const patch = allowed(options, CodecId.DELTA_PATCH) ? encodePatch(bytes, base, options, 'header') : undefined
      if (node != null && (patch == null || node.length < patch.data.length)) return { codec: CodecId.DELTA_NODE, data: node }
      return patch
    }
    return allowed(options, CodecId.DELTA_PATCH) ? encodePatch(bytes, base, options, hint.kind) : undefined
  }

  function encodeDelta (bytes: Uint8Array, base: Uint8Array, hint: DeltaHint, options: DeltaEncodeOptions = {}): Encoded | undefined {
    try {
      return encode(bytes, base, hint, options)
    } finally {
      trim()
    }
  }

  function decodeWords (t: TransformValue, data: Uint8Array, length: number, base: Uint8Array): Uint8Array {
    const r = new ByteReader(data, CODEC_NAMES[t === Transform.SUB ? CodecId.DELTA_SUB : CodecId.DELTA_XOR])
    if (base.length !== length) r.fail(`base has ${base.length} bytes, chunk ${length}`)
    const w = r.u8()
    if (!WORD_SIZES.has(w)) r.fail(`word size ${w}`)
    const n = Math.floor(length / w)
    const body = n * w
    const out = new Uint8Array(length)
    readResidual(r, out.subarray(0, body), w, zstd, streams, { transform: t, base: aligned4(base) })
    const tail = r.take(length - body)
    for (let i = 0; i < tail.length; i++) out[body + i] = tail[i] ^ base[body + i]
    r.end()
    return out
  }

  function decodeCast (data: Uint8Array, length: number, base: Uint8Array): Uint8Array {
    const r = new ByteReader(data, 'delta-cast')
    const kind = r.u8() as CastKindValue
    if (kind < CastKind.F32_TO_F16 || kind > CastKind.BF16_TO_F32) r.fail(`cast kind ${kind}`)
    const rounding = r.u8() as RoundingValue
    if (rounding !== Rounding.NEAREST_EVEN && rounding !== Rounding.TOWARD_ZERO) r.fail(`rounding ${rounding}`)
    const [wb, wd] = castWordSizes(kind)
    if (length % wd !== 0 || base.length !== (length / wd) * wb) r.fail(`base has ${base.length} bytes, a ${length}-byte chunk needs ${(length / wd) * wb}`)
    const n = length / wd
    const pred = scratch('predicted', length)
    predictCast(kind, rounding, aligned4(base), pred, n)
    const out = new Uint8Array(length)
    readResidual(r, out, wd, zstd, streams, { transform: Transform.SUB, base: pred })
    r.end()
    return out
  }

  function decodePatch (data: Uint8Array, length: number, base: Uint8Array): Uint8Array {
    if (data.length < 2 || data[0] !== 0) throw new TenpakError(ErrorCode.CODEC, 'malformed delta-patch payload: bad version or empty')
    const out = new Uint8Array(length)
    patchContext().decompressInto(out, data.subarray(1), base)
    return out
  }

  function decodeDelta (codec: number, data: Uint8Array, logicalLength: number, base: Uint8Array | undefined): Uint8Array {
    if (!Number.isSafeInteger(logicalLength) || logicalLength < 0) {
      throw new TenpakError(ErrorCode.CODEC, `invalid logical length ${logicalLength}`)
    }
    if (base == null) throw new TenpakError(ErrorCode.CODEC, `codec ${codec} needs its base chunk, none given`)
    requireLittleEndian()
    try {
      switch (codec) {
        case CodecId.DELTA_XOR:
          return decodeWords(Transform.XOR, data, logicalLength, base)
        case CodecId.DELTA_SUB:
          return decodeWords(Transform.SUB, data, logicalLength, base)
        case CodecId.DELTA_PATCH:
          return decodePatch(data, logicalLength, base)
        case CodecId.DELTA_CAST:
          return decodeCast(data, logicalLength, base)
        case CodecId.DELTA_NODE:
          return decodeNodeDelta(data, logicalLength, base, dictFrames)
        case CodecId.DELTA_CHILD:
          return decodePatch(data, logicalLength, childDictionary(base))
        default:
          if (isLossyCodec(codec)) return decodeLossy(codec, data, logicalLength, base, zstd)
          throw new TenpakError(ErrorCode.CODEC, `unknown delta codec ${codec}`)
      }
    } finally {
      trim()
    }
  }

  function estimateStandalone (bytes: Uint8Array, hint: DeltaHint): number | undefined {
    const w = hint.wordSize != null ? hint.wordSize : DTYPE_WORD_SIZE[hint.dtype?.toUpperCase() ?? '']
    if ((w !== 2 && w !== 4 && w !== 8) || (hint.wordSize == null && !FLOAT_DTYPES.has(hint.dtype?.toUpperCase() ?? ''))) return undefined
    const n = Math.floor(bytes.length / w)
    if (n < 64) return undefined
    const m = gather(bytes, bytes, n, w)
    return Math.round(estimateLayouts(sampleD.subarray(0, m * w), w, n).planes * n) + (bytes.length - n * w)
  }

  return { encodeDelta, decodeDelta, estimateStandalone }
}

/** dtypes encodeChunk byte-groups (codecs.ts): the ones {@link estimateStandalone} can predict. */
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['BF16', 'F16', 'F32', 'F64'])

/** Non-zero 32-bit words of `a` (4-byte aligned) plus non-zero tail bytes: a cheap measure of a residual's misses. */
function countNonZero (a: Uint8Array): number {
  const q = a.length >>> 2
  const a32 = new Uint32Array(a.buffer, a.byteOffset, q)
  let c = 0
  for (let i = 0; i < q; i++) if (a32[i] !== 0) c++
  for (let i = q * 4; i < a.length; i++) if (a[i] !== 0) c++
  return c
}

// One lazily created codec for the module-level functions (contexts and
// scratch only, no observable state; worker threads get their own).
let shared: DeltaCodec | undefined
function defaultCodec (): DeltaCodec {
  shared ??= createDeltaCodec()
  return shared
}

/**
 * Smallest lossless delta of `bytes` against `base`, or undefined when no
 * delta codec applies (empty chunk or base, or `options.codecs` excludes all
 * that would). Same-length tensor pieces (a dtype or word size in `hint`, kind
 * 'tensor' or unset) get XOR/SUB; F16/BF16 ↔ F32 pairs with `hint.baseDtype`
 * get the cast codec; everything else the zstd patch. The result is not
 * compared with a standalone encoding: the caller does that and keeps the
 * smaller. `data` never aliases the inputs.
 */
export function encodeDelta (bytes: Uint8Array, base: Uint8Array, hint: DeltaHint, options: DeltaEncodeOptions = {}): Encoded | undefined {
  return defaultCodec().encodeDelta(bytes, base, hint, options)
}

/**
 * Estimated size of the standalone (bytegroup-zstd) encoding of a float
 * tensor chunk, from the order-0 entropy of its byte planes on a sample of
 * 2048 words; undefined for chunks encodeChunk does not byte-group (no float
 * dtype, fewer than 64 words), where no cheap estimate is reliable. Within a
 * few percent on the corpus; costs ~1% of encoding. It lets a caller skip
 * the standalone encoding when a delta is clearly smaller, e.g.
 * `delta.data.length < 0.9 * estimateStandalone(bytes, hint)` — on float
 * drift, standalone compression is what halves ingest speed.
 */
export function estimateStandalone (bytes: Uint8Array, hint: DeltaHint): number | undefined {
  return defaultCodec().estimateStandalone(bytes, hint)
}

/**
 * Decode a delta (or lossy) payload against `base` to exactly `logicalLength`
 * bytes. Throws `ERR_CODEC` when the base is missing or of the wrong size for
 * the codec, or the payload is malformed. A *different* base of the right size
 * decodes without error to wrong bytes: the store's hash check catches that.
 */
export function decodeDelta (codec: number, data: Uint8Array, logicalLength: number, base: Uint8Array | undefined): Uint8Array {
  return defaultCodec().decodeDelta(codec, data, logicalLength, base)
}
