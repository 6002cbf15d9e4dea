/**
 * JSON arrays of records (`[ {...}, {...}, … ]`, as data sets often ship):
 * the opening '[' and the closing ']' are segments of their own and the
 * elements between them one 'records' segment whose content-defined cuts snap
 * to just after the ',' that ends an element. So a file holding a subset or a
 * superset of another's records (a prefix, an append) shares its chunks
 * record for record: the last element of the shorter file is not glued to
 * its ']'. Only the file's first and last few bytes are read here; the
 * chunker tracks string/escape/nesting state itself while it cuts (O(1)
 * state, never a parse of the file). Structure only: no I/O.
 */
import type { ReadAt } from './read-at.js'
import type { FileLayout, Segment } from './types.js'

/** Bytes read at either end of the file to find its '[' and ']' (64 KiB). */
export const JSON_EDGE_WINDOW = 64 * 1024

/** JSON whitespace, and a UTF-8 byte order mark's bytes (allowed before the '['). */
function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/**
 * Offset just after the opening '[' of a JSON array at the start of `head`
 * (after an optional UTF-8 BOM and whitespace), or undefined when `head`
 * does not start so (an object, a scalar, not JSON, or only whitespace).
 */
export function jsonArrayStart (head: Uint8Array): number | undefined {
  let i = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0
  while (i < head.length && isSpace(head[i])) i++
  return i < head.length && head[i] === 0x5b ? i + 1 : undefined
}

/**
 * Where the closing part of a JSON array starts, given the file's last bytes
 * `tail` (which start at file offset `tailOffset`): the offset of the
 * whitespace before the final ']', so that the elements' segment ends with
 * the last element's last byte. Undefined when the last non-space byte is
 * not ']' (a truncated file) or is not found in `tail`.
 */
export function jsonArrayEnd (tail: Uint8Array, tailOffset: number): number | undefined {
  let i = tail.length - 1
  while (i >= 0 && isSpace(tail[i])) i--
  if (i < 0 || tail[i] !== 0x5d) return undefined
  while (i > 0 && isSpace(tail[i - 1])) i--
  return tailOffset + i
}

/**
 * Layout of a JSON file of `fileSize` bytes whose head is `head`: a JSON array
 * becomes 'json-array' ('header' '[', 'records' elements with
 * recordSyntax 'json-array', 'header' ']'); anything else is undefined (the
 * caller lays it out as plain bytes). A damaged array still lays out: with no
 * final ']' the elements run to the end of the file; the chunker's cuts are
 * only ever worse (cdcMax) on bad syntax, never wrong.
 */
export async function jsonArrayLayout (head: Uint8Array, fileSize: number, read: ReadAt): Promise<FileLayout | undefined> {
  if (fileSize === 0) return undefined
  let first = head.subarray(0, Math.min(head.length, fileSize))
  if (jsonArrayStart(first) === undefined && first.length < Math.min(fileSize, JSON_EDGE_WINDOW)) {
    first = await read(0, Math.min(fileSize, JSON_EDGE_WINDOW))
  }
  const bodyStart = jsonArrayStart(first)
  if (bodyStart === undefined) return undefined
  const tailOffset = Math.max(bodyStart, fileSize - JSON_EDGE_WINDOW)
  const tail = await read(tailOffset, fileSize - tailOffset)
  let bodyEnd = tail.length === fileSize - tailOffset ? jsonArrayEnd(tail, tailOffset) : undefined
  // No ']' after the '[' (truncated): the elements run to the end of the file.
  if (bodyEnd === undefined || bodyEnd < bodyStart) bodyEnd = fileSize
  const segments: Segment[] = [{ start: 0, end: bodyStart, kind: 'header' }]
  if (bodyEnd > bodyStart) segments.push({ start: bodyStart, end: bodyEnd, kind: 'records', recordSyntax: 'json-array' })
  if (fileSize > bodyEnd) segments.push({ start: bodyEnd, end: fileSize, kind: 'header' })
  return { format: 'json-array', segments }
}
