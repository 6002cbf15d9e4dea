/**
 * Parquet: the footer (FileMetaData, read with hyparquet through ranged reads)
 * locates every column chunk; each chunk's page headers (a few hundred bytes
 * read per page, never page data; only their length and the page size are
 * needed, read by the small Thrift compact-protocol walker below) split it
 * into pages. Every page (header + data) is a 'bytes' segment of its own, so
 * chunk boundaries fall on page boundaries and a file written with
 * content-defined chunking (pages cut by content, as pyarrow's
 * `use_content_defined_chunking` does) dedups page by page; a page longer
 * than cdcMax is content-defined-chunked inside. The 'PAR1' magic and the
 * footer are 'header' segments; bytes between column chunks (page indexes,
 * bloom filters) are 'bytes'.
 *
 * A malformed file (bad magic, a footer hyparquet cannot read, column chunks
 * out of range or overlapping, page headers that do not add up) lays out as
 * plain bytes: a damaged Parquet file is still a file the user wants stored.
 */
import { parquetMetadata } from 'hyparquet'
import type { FileMetaData } from 'hyparquet'
import type { ReadAt } from './read-at.js'
import type { FileLayout, Segment } from './types.js'

/** Longest footer read (64 MiB); a longer one lays the file out as bytes. */
export const MAX_PARQUET_FOOTER = 64 * 1024 * 1024
/** Longest page header read (1 MiB; statistics can hold long min/max values). */
const MAX_PAGE_HEADER = 1024 * 1024
/** First read for a page header; doubled until the header fits. */
const PAGE_HEADER_PROBE = 512
/** "PAR1" little-endian */
const PAR1 = 0x31524150

class Malformed extends Error {}

/**
 * Layout of a Parquet file of `fileSize` bytes, or undefined when it is not
 * one or is malformed (the caller lays it out as bytes). Reads the last
 * 8 bytes, the footer, and each page's header through `read`.
 */
export async function parseParquet (read: ReadAt, fileSize: number): Promise<FileLayout | undefined> {
  try {
    return await layout(read, fileSize)
  } catch (err) {
    if (err instanceof Malformed) return undefined
    throw err
  }
}

async function readExactly (read: ReadAt, offset: number, length: number): Promise<Uint8Array> {
  const b = await read(offset, length)
  if (b.length < length) throw new Malformed(`file is truncated at byte ${offset + length}`)
  return b
}

function u32 (b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true)
}

function safe (v: bigint | number | undefined, what: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v
  if (n === undefined || !Number.isSafeInteger(n) || n < 0) throw new Malformed(`bad ${what}`)
  return n
}

async function layout (read: ReadAt, size: number): Promise<FileLayout | undefined> {
  if (size < 12) return undefined
  const head = await readExactly(read, 0, 4)
  const tail = await readExactly(read, size - 8, 8)
  if (u32(head, 0) !== PAR1 || u32(tail, 4) !== PAR1) return undefined
  const metaLen = u32(tail, 0)
  if (metaLen > MAX_PARQUET_FOOTER || metaLen > size - 12) throw new Malformed('bad footer length')
  const footerStart = size - 8 - metaLen
  const footer = await readExactly(read, footerStart, metaLen + 8)
  let meta: FileMetaData
  try {
    // Only offsets and sizes are needed: skip GeoParquet's JSON metadata.
    meta = parquetMetadata(footer, { geoparquet: false })
  } catch (err) {
    // hyparquet reports a bad footer with plain Errors (and RangeErrors for fields past its end).
    throw new Malformed('unreadable footer', { cause: err })
  }

  // Column chunks held in this file, in file order.
  const chunks: Array<{ start: number, end: number }> = []
  for (const rg of meta.row_groups) {
    for (const cc of rg.columns) {
      if (cc.file_path !== undefined) continue // data kept in another file
      const md = cc.meta_data
      if (md === undefined) throw new Malformed('column chunk without metadata (encrypted?)')
      const dataStart = safe(md.data_page_offset, 'data page offset')
      const dict = md.dictionary_page_offset === undefined ? undefined : safe(md.dictionary_page_offset, 'dictionary page offset')
      // Some writers put 0 for "no dictionary page": only an offset before the data pages counts.
      const start = dict !== undefined && dict >= 4 && dict < dataStart ? dict : dataStart
      const end = start + safe(md.total_compressed_size, 'column chunk size')
      if (start < 4 || end > footerStart || end <= start) throw new Malformed('column chunk out of range')
      chunks.push({ start, end })
    }
  }
  chunks.sort((a, b) => a.start - b.start)

  const segments: Segment[] = [{ start: 0, end: 4, kind: 'header' }]
  let pos = 4
  for (const c of chunks) {
    if (c.start < pos) throw new Malformed('column chunks overlap')
    if (c.start > pos) segments.push({ start: pos, end: c.start, kind: 'bytes' })
    for (const page of await pagesOf(read, c.start, c.end)) segments.push({ start: page.start, end: page.end, kind: 'bytes' })
    pos = c.end
  }
  if (footerStart > pos) segments.push({ start: pos, end: footerStart, kind: 'bytes' })
  segments.push({ start: footerStart, end: size, kind: 'header' })
  return { format: 'parquet', segments }
}

/** The pages (header + data) tiling the column chunk [start, end). */
async function pagesOf (read: ReadAt, start: number, end: number): Promise<Array<{ start: number, end: number }>> {
  const pages: Array<{ start: number, end: number }> = []
  let pos = start
  while (pos < end) {
    const { headerLength, dataLength } = await pageHeaderAt(read, pos, end)
    const pageEnd = pos + headerLength + dataLength
    if (pageEnd > end) throw new Malformed('page runs past its column chunk')
    pages.push({ start: pos, end: pageEnd })
    pos = pageEnd
  }
  return pages
}

/** Lengths of the page header at `pos` and of the page data after it. */
async function pageHeaderAt (read: ReadAt, pos: number, limit: number): Promise<{ headerLength: number, dataLength: number }> {
  for (let want = PAGE_HEADER_PROBE; ; want *= 2) {
    const n = Math.min(want, limit - pos)
    const b = await readExactly(read, pos, n)
    const h = pageHeaderSizes(b)
    if (h !== undefined) {
      if (h.compressedPageSize === undefined || h.compressedPageSize < 0) throw new Malformed('page header without a page size')
      return { headerLength: h.headerLength, dataLength: h.compressedPageSize }
    }
    if (n >= limit - pos || want >= MAX_PAGE_HEADER) throw new Malformed('unreadable page header')
  }
}

/** Thrown by the Thrift walker when the header runs past the bytes it was given. */
class NeedMore extends Error {}

/**
 * The length of the Thrift compact-encoded PageHeader at the start of `b`
 * and its `compressed_page_size` (field 3, i32), or undefined when `b` ends
 * first. Throws Malformed for bytes that are not compact Thrift.
 */
export function pageHeaderSizes (b: Uint8Array): { headerLength: number, compressedPageSize?: number } | undefined {
  let pos = 0
  const byte = (): number => {
    if (pos >= b.length) throw new NeedMore()
    return b[pos++]
  }
  const varint = (): number => {
    let result = 0
    let mul = 1
    for (let i = 0; i < 10; i++) {
      const c = byte()
      result += (c & 0x7f) * mul
      if ((c & 0x80) === 0) return result
      mul *= 128
    }
    throw new Malformed('varint too long')
  }
  const zigzag32 = (): number => {
    const v = varint()
    if (v > 0xffffffff) throw new Malformed('i32 out of range')
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2
  }
  const skip = (n: number): void => {
    if (pos + n > b.length) throw new NeedMore()
    pos += n
  }
  const skipValue = (type: number, depth: number): void => {
    if (depth > 32) throw new Malformed('nesting too deep')
    switch (type) {
      case 1: case 2: return // bool in a field header
      case 3: skip(1); return
      case 4: case 5: case 6: varint(); return
      case 7: skip(8); return
      case 8: skip(varint()); return
      case 9: case 10: { // list, set
        const h = byte()
        let n = h >> 4
        if (n === 15) n = varint()
        const et = h & 0x0f
        for (let i = 0; i < n; i++) {
          if (et === 1 || et === 2) skip(1) // bools in a list are a byte each
          else skipValue(et, depth + 1)
        }
        return
      }
      case 11: { // map
        const n = varint()
        if (n === 0) return
        const kv = byte()
        for (let i = 0; i < n; i++) { skipValue(kv >> 4, depth + 1); skipValue(kv & 0x0f, depth + 1) }
        return
      }
      case 12: skipStruct(depth + 1); return
      default: throw new Malformed(`bad Thrift type ${type}`)
    }
  }
  const skipStruct = (depth: number, onField?: (id: number, type: number) => boolean): void => {
    let id = 0
    for (;;) {
      const h = byte()
      const type = h & 0x0f
      if (type === 0) return
      const delta = h >> 4
      id = delta === 0 ? zigzag32() : id + delta
      if (onField?.(id, type) !== true) skipValue(type, depth)
    }
  }
  let compressedPageSize: number | undefined
  try {
    skipStruct(0, (id, type) => {
      if (id !== 3 || type !== 5) return false
      compressedPageSize = zigzag32()
      return true
    })
  } catch (err) {
    if (err instanceof NeedMore) return undefined
    throw err
  }
  return { headerLength: pos, compressedPageSize }
}
