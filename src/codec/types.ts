/**
 * Pack-entry codecs: how a chunk's logical bytes are kept on disk. The id is
 * written in every pack entry (docs/formats.md); never renumber.
 */

/** Codec ids as stored in pack entries. 0–15 standalone, 16+ need a base chunk. */
export const CodecId = {
  RAW: 0,
  ZSTD: 1,
  /** bf16/fp16/fp32 words split into byte planes, then zstd */
  BYTEGROUP_ZSTD: 2,
  /** XOR of the words against the base's, residual in planes or bit-length layout (delta.ts) */
  DELTA_XOR: 16,
  /** zigzag integer difference of the words against the base's (delta.ts) */
  DELTA_SUB: 17,
  /** zstd frame with the base chunk as raw-content dictionary (delta-patch.ts) */
  DELTA_PATCH: 18,
  /** F16/BF16 ↔ F32 cast of the base predicts the chunk; residual stored (delta.ts) */
  DELTA_CAST: 19,
  /** lossy: base + int8 per-block absmax-scaled delta (lossy.ts) */
  LOSSY_INT8: 20,
  /** lossy: base + int4 per-block absmax-scaled delta (lossy.ts) */
  LOSSY_INT4: 21,
  /** lossy: base ± one scale per chunk, BitDelta-style sign bits (lossy.ts) */
  LOSSY_1BIT: 22,
  /** a UnixFS file node as the edit of its base node's link list (delta-node.ts) */
  DELTA_NODE: 23,
  /**
   * a dag-cbor object that links to its base (a commit to its parent): a zstd
   * frame whose dictionary is the base's own CID, then the base (delta.ts)
   */
  DELTA_CHILD: 24
} as const

/** Hint given to the encoder; `wordSize` 2 or 4 enables byte grouping. */
export interface EncodeHint {
  dtype?: string
  wordSize?: number
  /** 'tensor' | 'header' | 'node' (a UnixFS file node) | 'child' (a commit against its parent) | 'bytes' | 'records' */
  kind?: string
  /** zstd level for a chunk compressed whole that is not a tensor (overrides the codec's text level) */
  level?: number
}

/** An encoded pack entry payload. */
export interface Encoded {
  codec: number
  data: Uint8Array
}

/** Delta codecs (ids 16 and up) decode against a base chunk. */
export function isDeltaCodec (codec: number): boolean {
  return codec >= 16
}

/** Lossy delta codecs: decode exactly to the *quantised* revision they were made for. */
export function isLossyCodec (codec: number): boolean {
  return codec >= CodecId.LOSSY_INT8 && codec <= CodecId.LOSSY_1BIT
}
