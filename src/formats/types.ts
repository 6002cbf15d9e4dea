/**
 * What format parsers produce: a file's tensor table and its segments, the
 * byte ranges that chunking treats alike. Structure only: no I/O here.
 */

/** One tensor of a model file. `start`/`end` are absolute file offsets. */
export interface TensorInfo {
  name: string
  /** dtype as the format spells it, e.g. 'F32', 'BF16', 'F16', 'I64' (safetensors) */
  dtype: string
  shape: number[]
  start: number
  end: number
}

/** How a segment's bytes are cut into chunks. */
export type SegmentKind =
  | 'header' // one chunk (container header / metadata), possibly several if huge
  | 'tensor' // fixed-size, element-aligned pieces, piece i pairs with piece i of the same tensor elsewhere
  | 'bytes' // generic content-defined chunking
  | 'records' // content-defined chunking with cuts snapped to record ends ('\n', or see Segment.recordSyntax)

/** A contiguous byte range of a file and how to chunk it. Segments tile the file. */
export interface Segment {
  start: number
  end: number
  kind: SegmentKind
  /** tensor name (kind 'tensor') */
  name?: string
  /** dtype (kind 'tensor'), as in TensorInfo */
  dtype?: string
  /** bytes per element (kind 'tensor'); pieces are multiples of it */
  elementSize?: number
  /**
   * elements per `elementSize` bytes (kind 'tensor'), for block-quantised
   * dtypes (GGUF Q4_0: 32 elements in an 18-byte block); omitted means 1.
   * Pieces then hold whole blocks and the same number of elements as any
   * other dtype's pieces, so they stay small and pair with the unquantised
   * tensor's pieces.
   */
  blockElements?: number
  /**
   * What ends a record (kind 'records'): 'lines' (default) a '\n';
   * 'json-array' a top-level ',' between the elements of a JSON array, the
   * segment starting just after its '['.
   */
  recordSyntax?: 'lines' | 'json-array'
}

/** A parsed file layout. */
export interface FileLayout {
  /** 'safetensors' | 'gguf' | 'onnx' | 'onnx-data' | 'tflite' | 'jsonl' | 'csv' | 'tsv' | 'json-array' | 'parquet' | 'arrow' | 'bytes' */
  format: string
  segments: Segment[]
  tensors?: TensorInfo[]
  /** format metadata worth keeping (safetensors `__metadata__`) */
  metadata?: Record<string, string>
}
