/**
 * Pack-entry codecs: how a chunk's logical bytes are kept on disk. The id is
 * written in every pack entry (docs/formats.md); never renumber.
 */

/** Codec ids as stored in pack entries. 0–15 standalone, 16+ need a base chunk. */
export const CodecId = {
  RAW: 0,
  ZSTD: 1,
  /** bf16/fp16/fp32 words split into byte planes, then zstd */
  BYTEGROUP_ZSTD: 2
} as const

/** Hint given to the encoder; `wordSize` 2 or 4 enables byte grouping. */
export interface EncodeHint {
  dtype?: string
  wordSize?: number
  /** 'tensor' | 'header' | 'bytes' | 'records' */
  kind?: string
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
