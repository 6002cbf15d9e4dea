/**
 * Chunks as the chunker emits them: logical bytes plus the hint the codec
 * layer uses to pick an encoding and the pairing key delta codecs use.
 */

/** What the codec layer may know about a chunk. */
export interface ChunkHint {
  kind: 'header' | 'tensor' | 'bytes' | 'records'
  /** tensor dtype ('BF16', 'F16', 'F32', ...) for kind 'tensor' */
  dtype?: string
  /** bytes per element for kind 'tensor' */
  elementSize?: number
  /** tensor name for kind 'tensor' */
  tensor?: string
  /** index of this piece within its tensor */
  piece?: number
}

/** One chunk of a file. */
export interface Chunk {
  /** absolute offset in the file */
  offset: number
  bytes: Uint8Array
  hint: ChunkHint
  /** set when the chunk ends where base chunk `anchor` ended (anchored chunking; see chunkFile) */
  anchor?: number
}

/** Chunk size parameters (bytes). */
export interface ChunkParams {
  /** content-defined chunking: min / average (target) / max chunk size */
  cdcMin: number
  cdcAvg: number
  cdcMax: number
  /** size of fixed tensor pieces (rounded down to a multiple of the element size) */
  tensorPiece: number
  /**
   * A file with no tensors and at most this many bytes keeps each of its
   * segments (a CSV header, the records) as one chunk instead of cutting it
   * by content: a small file's next version is then one delta against the
   * whole previous one, as git and `zstd --patch-from` see it. Unset: off.
   */
  wholeMax?: number
}
