/**
 * Record formats (JSONL/NDJSON, CSV, TSV): layouts whose data is cut by
 * content-defined chunking snapped to record ends ('\n'), and whose CSV/TSV
 * header line is a segment of its own, so a header change (a renamed or added
 * column) leaves the row chunks alone. Structure only: no I/O.
 */
import type { FileLayout, Segment } from './types.js'

/** Record formats this module lays out. */
export type RecordFormat = 'jsonl' | 'csv' | 'tsv'

/**
 * Longest CSV/TSV header line looked for (1 MiB). A file whose first line is
 * longer is laid out as records only: bounded reads beat a separate header
 * chunk for a file that is unlikely to be a table anyway.
 */
export const MAX_HEADER_LINE = 1024 * 1024

/** True for formats whose first line is a header (column names). */
export function hasHeaderLine (format: RecordFormat): boolean {
  return format === 'csv' || format === 'tsv'
}

/**
 * End (exclusive) of the first line in `head`, i.e. the offset just after the
 * first '\n', or undefined when `head` holds no '\n'.
 */
export function firstLineEnd (head: Uint8Array): number | undefined {
  const i = head.indexOf(0x0a)
  return i < 0 ? undefined : i + 1
}

/**
 * Layout of a record file of `fileSize` bytes. `headerEnd` (CSV/TSV only) is
 * where the header line ends: the offset after its '\n', or `fileSize` when
 * the whole file is one line; leave it undefined to lay out records only.
 * Zero-length files have no segments.
 */
export function recordsLayout (format: RecordFormat, fileSize: number, headerEnd?: number): FileLayout {
  const segments: Segment[] = []
  let start = 0
  if (headerEnd !== undefined && hasHeaderLine(format) && fileSize > 0) {
    start = Math.min(Math.max(headerEnd, 0), fileSize)
    if (start > 0) segments.push({ start: 0, end: start, kind: 'header' })
  }
  if (fileSize > start) segments.push({ start, end: fileSize, kind: 'records' })
  return { format, segments }
}
