/**
 * The generic "patch" delta: one zstd frame compressed with the base chunk as
 * a raw-content dictionary (what `zstd --patch-from` does for whole files),
 * for headers, DAG nodes, text, records and unparsed bytes — anything where
 * dtypes do not apply or the lengths differ.
 *
 * `ZSTD_compress_usingDict` / `ZSTD_decompress_usingDict` come from the
 * zstd-napi binding directly: src/codec/zstd.ts wraps plain frames only. A
 * buffer that starts with zstd's dictionary magic would be parsed as a
 * *formatted* dictionary rather than raw content, so such a base is used
 * from its second byte on (byte 1 of the magic, 0xA4, cannot start it
 * again); bases under 8 bytes, which libzstd ignores as dictionaries, are not
 * used at all. Encoder and decoder apply the same rule.
 */

import { createRequire } from 'node:module'
import { ErrorCode, TenpakError } from '../errors.js'
import { checkZstdLevel, zstdBound } from './zstd.js'

type Binding = typeof import('zstd-napi/binding.js')
const binding: Binding = createRequire(import.meta.url)('zstd-napi/binding.js')

/**
 * Default zstd levels of patch frames, by chunk size. Patched bytes are
 * mostly *edited* content with short, scattered changes (container structure
 * whose offsets moved, edited text), where zstd's stronger match finders find
 * more of the base, at a price. Measured on the corpus (tenpak's CDC chunks
 * of the TFLite structure region, each patched against its base chunk;
 * compressed bytes, and MB/s of input on one loaded core):
 *  - pose-detection repack (1.1 MB): level 3 → 50,331 (240 MB/s),
 *    4 → 49,292 (400), 5 → 46,781 (200), 6 → 45,942 (190), 9 → 45,735 (160);
 *  - pose-detection retrain (1.1 MB of changed float-like data): level 3 →
 *    713,261 (66 MB/s), 4 → 670,527 (77), 5 → 628,207 (47), 6 → 624,092 (33);
 *  - palm-detection repack, one 75 KB region: level 3 → 9,320, 9 → 6,842,
 *    19 → 5,048 at < 1 MB/s (loading a large dictionary at the btultra
 *    levels is what costs).
 * Small chunks (DAG nodes, small headers) are cheap in absolute terms and
 * get level 9; larger ones level 4.
 */
export const PATCH_LEVEL_SMALL = 9
/** See {@link PATCH_LEVEL_SMALL}. */
export const PATCH_LEVEL_LARGE = 4
/**
 * Chunks up to this many bytes get {@link PATCH_LEVEL_SMALL}: DAG nodes and
 * small headers, not the CDC chunks (~32 KiB) of container structure or
 * text, which at level 9 would cap ingest near 80 MB/s.
 */
export const PATCH_SMALL_MAX = 16 * 1024

/** The default patch level for a chunk of `length` bytes. */
export function defaultPatchLevel (length: number): number {
  return length <= PATCH_SMALL_MAX ? PATCH_LEVEL_SMALL : PATCH_LEVEL_LARGE
}

const MAGIC = [0x37, 0xa4, 0x30, 0xec]

/** The dictionary actually loaded for `base` (see the module header). */
export function patchDictionary (base: Uint8Array): Uint8Array {
  if (base.length < 8) return base.subarray(0, 0)
  if (base[0] === MAGIC[0] && base[1] === MAGIC[1] && base[2] === MAGIC[2] && base[3] === MAGIC[3]) return base.subarray(1)
  return base
}

/** Reusable contexts for patch frames (not re-entrant; one per codec instance). */
export interface PatchContext {
  /** Compress `src` against `base` into `dst` from 0; returns the frame length. */
  compressInto: (dst: Uint8Array, src: Uint8Array, base: Uint8Array, level: number) => number
  /** Decompress a frame against `base` into `dst`, which must end up exactly full. */
  decompressInto: (dst: Uint8Array, frame: Uint8Array, base: Uint8Array) => void
}

/** Worst-case patch frame size for `n` input bytes. */
export function patchBound (n: number): number {
  return zstdBound(n)
}

/** Create a pair of contexts for patch frames. */
export function createPatchContext (): PatchContext {
  const cctx = new binding.CCtx()
  const dctx = new binding.DCtx()

  function compressInto (dst: Uint8Array, src: Uint8Array, base: Uint8Array, level: number): number {
    checkZstdLevel(level)
    const dict = patchDictionary(base)
    try {
      return dict.length === 0 ? cctx.compress(dst, src, level) : cctx.compressUsingDict(dst, src, dict, level)
    } catch (err) {
      throw new TenpakError(ErrorCode.CODEC, `zstd patch compression failed: ${(err as Error).message}`, { cause: err })
    }
  }

  function decompressInto (dst: Uint8Array, frame: Uint8Array, base: Uint8Array): void {
    if (frame.length === 0) throw new TenpakError(ErrorCode.CODEC, 'empty zstd patch frame')
    const dict = patchDictionary(base)
    let n: number
    try {
      n = dict.length === 0 ? dctx.decompress(dst, frame) : dctx.decompressUsingDict(dst, frame, dict)
    } catch (err) {
      throw new TenpakError(ErrorCode.CODEC, `malformed zstd patch frame: ${(err as Error).message}`, { cause: err })
    }
    if (n !== dst.length) throw new TenpakError(ErrorCode.CODEC, `zstd patch decodes to ${n} bytes, expected ${dst.length}`)
  }

  return { compressInto, decompressInto }
}
