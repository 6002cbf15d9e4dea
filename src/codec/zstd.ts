/**
 * zstd for pack entries: single-frame compression at an explicit level and
 * decompression into a buffer of the *known* logical length, so a corrupt or
 * hostile frame can never make us allocate more than the entry says it holds.
 *
 * We talk to the `zstd-napi/binding` contexts directly instead of the
 * high-level `Compressor`/`Decompressor`: those size their output from the
 * frame header (unbounded) and allocate a fresh result per call, while here the
 * caller picks the destination (a reused scratch buffer while trying candidate
 * codecs, an exact-size buffer when decoding).
 */

import { createRequire } from 'node:module'
import { ErrorCode, TenpakError } from '../errors.js'

type Binding = typeof import('zstd-napi/binding.js')

// The binding is a CommonJS native addon whose exports Node's ESM loader cannot
// see statically, so it is loaded through require.
const binding: Binding = createRequire(import.meta.url)('zstd-napi/binding.js')

/** Lowest compression level accepted (zstd's fastest negative level). */
export const ZSTD_MIN_LEVEL: number = binding.minCLevel()

/** Highest compression level accepted (without `--ultra` window sizes). */
export const ZSTD_MAX_LEVEL: number = Math.min(binding.maxCLevel(), 19)

/**
 * A zstd level, optionally with match-finder overrides. Byte planes of float
 * weights are mostly entropy-coded literals: a long minimum match and a tiny
 * hash table stop zstd from paying for short useless matches, which makes
 * level 1 both faster and as small as level 19 there (measured in
 * scripts/bench/codec-levels.mjs).
 */
export interface ZstdParams {
  /** Compression level (negative = faster, up to {@link ZSTD_MAX_LEVEL}). */
  level: number
  /** `ZSTD_c_minMatch`, 3..7: shortest match the match finder looks for. */
  minMatch?: number
  /** `ZSTD_c_hashLog`, 6..30: log2 of the match finder's hash table size. */
  hashLog?: number
}

/** Worst-case compressed size of `n` input bytes, for sizing destinations. */
export function zstdBound (n: number): number {
  return binding.compressBound(n)
}

/**
 * One pair of reusable zstd contexts. Contexts hold large match tables, so
 * callers keep one per thread of work instead of allocating per chunk; the
 * object is not re-entrant, which single-threaded JS guarantees per instance.
 */
export interface ZstdContext {
  /**
   * Compress `src` at `params` (a level or {@link ZstdParams}) into `dst`
   * from `dst[0]`; `dst` should have room for {@link zstdBound}(src.length)
   * bytes. Returns the number of bytes written.
   */
  compressInto: (dst: Uint8Array, src: Uint8Array, params: number | ZstdParams) => number
  /** Compress `src` at `params` (a level or {@link ZstdParams}) into a new array of exactly the frame's size. */
  compress: (src: Uint8Array, params: number | ZstdParams) => Uint8Array
  /**
   * Decompress `src` (one or more whole frames) into `dst`, which must end up
   * exactly full. Throws `ERR_CODEC` on malformed input or any length mismatch.
   */
  decompressInto: (dst: Uint8Array, src: Uint8Array) => void
  /** Decompress `src` into a new array of exactly `length` bytes (see {@link ZstdContext.decompressInto}). */
  decompress: (src: Uint8Array, length: number) => Uint8Array
}

/** Throw `ERR_BAD_ARGUMENT` unless `level` is an integer zstd accepts. */
export function checkZstdLevel (level: number): void {
  if (!Number.isInteger(level) || level < ZSTD_MIN_LEVEL || level > ZSTD_MAX_LEVEL || level === 0) {
    // 0 means "zstd's default" to libzstd; we want every stored level explicit.
    throw new TenpakError(ErrorCode.BAD_ARGUMENT, `zstd level must be an integer in [${ZSTD_MIN_LEVEL}, -1] or [1, ${ZSTD_MAX_LEVEL}], got ${level}`)
  }
}

/** Throw `ERR_BAD_ARGUMENT` unless `params` is a level or parameter set zstd accepts. */
export function checkZstdParams (params: number | ZstdParams): void {
  if (typeof params === 'number') return checkZstdLevel(params)
  checkZstdLevel(params.level)
  checkRange('minMatch', params.minMatch, MIN_MATCH_BOUNDS)
  checkRange('hashLog', params.hashLog, HASH_LOG_BOUNDS)
}

const MIN_MATCH_BOUNDS = binding.cParamGetBounds(binding.CParameter.minMatch)
const HASH_LOG_BOUNDS = binding.cParamGetBounds(binding.CParameter.hashLog)

function checkRange (name: string, value: number | undefined, bounds: { lowerBound: number, upperBound: number }): void {
  if (value == null) return
  const { lowerBound, upperBound } = bounds
  if (!Number.isInteger(value) || value < lowerBound || value > upperBound) {
    throw new TenpakError(ErrorCode.BAD_ARGUMENT, `zstd ${name} must be an integer in [${lowerBound}, ${upperBound}], got ${value}`)
  }
}

/** Contexts configured with overrides are cached per parameter set, at most this many. */
const MAX_TUNED_CONTEXTS = 4

/** Create a fresh pair of compression/decompression contexts. */
export function createZstd (): ZstdContext {
  const cctx = new binding.CCtx()
  const dctx = new binding.DCtx()
  // Parameters set on a CCtx are sticky, so each distinct parameter set gets
  // its own context, configured once, instead of being re-set per call.
  const tuned = new Map<string, InstanceType<Binding['CCtx']>>()
  // Grown on demand and kept: chunks are bounded (≤ a few hundred KiB), so
  // this stays small, and it spares an allocation per compress() call.
  let scratch = new Uint8Array(0)

  function tunedContext (params: ZstdParams): InstanceType<Binding['CCtx']> {
    const key = `${params.level}/${params.minMatch ?? ''}/${params.hashLog ?? ''}`
    let ctx = tuned.get(key)
    if (ctx == null) {
      checkZstdParams(params)
      ctx = new binding.CCtx()
      ctx.setParameter(binding.CParameter.compressionLevel, params.level)
      // Explicit parameters take precedence over the level's own choices.
      if (params.minMatch != null) ctx.setParameter(binding.CParameter.minMatch, params.minMatch)
      if (params.hashLog != null) ctx.setParameter(binding.CParameter.hashLog, params.hashLog)
      if (tuned.size >= MAX_TUNED_CONTEXTS) tuned.delete(tuned.keys().next().value as string)
      tuned.set(key, ctx)
    }
    return ctx
  }

  function compressInto (dst: Uint8Array, src: Uint8Array, params: number | ZstdParams): number {
    try {
      if (typeof params === 'number') {
        checkZstdLevel(params)
        return cctx.compress(dst, src, params)
      }
      if (params.minMatch == null && params.hashLog == null) {
        checkZstdLevel(params.level)
        return cctx.compress(dst, src, params.level)
      }
      return tunedContext(params).compress2(dst, src)
    } catch (err) {
      if (err instanceof TenpakError) throw err
      // Only a too-small dst or a libzstd allocation failure lands here.
      throw new TenpakError(ErrorCode.CODEC, `zstd compression failed: ${(err as Error).message}`, { cause: err })
    }
  }

  function compress (src: Uint8Array, params: number | ZstdParams): Uint8Array {
    const bound = zstdBound(src.length)
    if (scratch.length < bound) scratch = new Uint8Array(bound)
    const n = compressInto(scratch, src, params)
    return scratch.slice(0, n)
  }

  function decompressInto (dst: Uint8Array, src: Uint8Array): void {
    // libzstd reads an empty input as "zero frames, zero bytes"; no encoder
    // of ours writes that, so it can only be a truncated entry.
    if (src.length === 0) throw new TenpakError(ErrorCode.CODEC, 'empty zstd data')
    let n: number
    try {
      // libzstd stops with "destination buffer too small" rather than writing
      // past dst, which is what bounds the output to the logical length.
      n = dctx.decompress(dst, src)
    } catch (err) {
      throw new TenpakError(ErrorCode.CODEC, `malformed zstd data: ${(err as Error).message}`, { cause: err })
    }
    if (n !== dst.length) {
      throw new TenpakError(ErrorCode.CODEC, `zstd data decodes to ${n} bytes, expected ${dst.length}`)
    }
  }

  function decompress (src: Uint8Array, length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new TenpakError(ErrorCode.CODEC, `invalid logical length ${length}`)
    }
    const out = new Uint8Array(length)
    decompressInto(out, src)
    return out
  }

  return { compressInto, compress, decompressInto, decompress }
}
