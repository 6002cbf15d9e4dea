/**
 * Turning a model file's tensor data ranges into segments that tile the file:
 * shared by the GGUF, ONNX and TFLite parsers. Tensor bytes become 'tensor'
 * segments (fixed element-aligned pieces), the metadata before the first one a
 * 'header', everything else (gaps, padding, trailing metadata) 'bytes'.
 */
import type { Segment } from './types.js'

/**
 * The leading metadata region is a 'header' segment up to this size, above it
 * 'bytes' (the chunker cuts both by CDC past 16 × cdcMax; the kind only tells
 * the codec layer what it holds).
 */
export const LEADING_HEADER_MAX = 16 * 1024 * 1024

/** A tensor's bytes in a file, as a segment will describe them. */
export interface DataRange {
  start: number
  end: number
  name: string
  dtype: string
  /** bytes per element, or per block for block-quantised dtypes */
  elementSize: number
  /** elements per `elementSize` bytes (block-quantised dtypes); omitted for 1 */
  blockElements?: number
}

/**
 * Sort non-empty ranges by offset and keep one of each distinct byte range (the
 * first given wins, so callers list tensors in file order of declaration).
 * Several tensors may share a range (TFLite buffers); a partial overlap calls
 * `overlap(a, b)` for the error to throw.
 */
export function distinctRanges<T extends DataRange> (ranges: readonly T[], overlap: (a: T, b: T) => Error): T[] {
  const sorted = ranges.filter(r => r.end > r.start).map((r, i) => ({ r, i }))
    .sort((x, y) => (x.r.start - y.r.start) || (x.r.end - y.r.end) || (x.i - y.i))
  const out: T[] = []
  for (const { r } of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined) {
      if (last.start === r.start && last.end === r.end) continue
      if (r.start < last.end) throw overlap(last, r)
    }
    out.push(r)
  }
  return out
}

/**
 * Segments tiling [0, fileSize) around `ranges` (sorted, disjoint, non-empty,
 * inside the file — see {@link distinctRanges}). The bytes before the first
 * range are a 'header' when at most {@link LEADING_HEADER_MAX} long; gaps and
 * the tail are 'bytes'.
 */
export function tileSegments (fileSize: number, ranges: readonly DataRange[]): Segment[] {
  const segments: Segment[] = []
  let pos = 0
  for (const r of ranges) {
    if (r.start > pos) {
      segments.push({ start: pos, end: r.start, kind: pos === 0 && r.start <= LEADING_HEADER_MAX ? 'header' : 'bytes' })
    }
    const seg: Segment = { start: r.start, end: r.end, kind: 'tensor', name: r.name, dtype: r.dtype, elementSize: r.elementSize }
    if (r.blockElements !== undefined && r.blockElements !== 1) seg.blockElements = r.blockElements
    segments.push(seg)
    pos = r.end
  }
  if (fileSize > pos) {
    segments.push({ start: pos, end: fileSize, kind: pos === 0 && fileSize <= LEADING_HEADER_MAX ? 'header' : 'bytes' })
  }
  return segments
}

/** Product of `dims` as a safe integer, or undefined when it is not one. */
export function elementCount (dims: readonly number[]): number | undefined {
  let n = 1
  for (const d of dims) {
    if (d === 0) return 0
  }
  for (const d of dims) {
    n *= d
    if (!Number.isSafeInteger(n)) return undefined
  }
  return n
}
