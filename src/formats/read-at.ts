/**
 * Ranged reads for format parsers whose metadata is spread through a file
 * (GGUF's long header, ONNX's protobuf, TFLite's flatbuffer): a `ReadAt`
 * callback supplied by the caller, and a small page cache over it so a parser
 * can ask for a few bytes at a time without one I/O call per field. The cache
 * is bounded (pages × page size), so parsing a multi-GB file holds at most a
 * few MiB, and bytes a parser skips (tensor data) are never read.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import type { ErrorCodeValue } from '../errors.js'

/**
 * Reads `length` bytes of the file at `offset`. May return fewer only at the
 * end of the file (a file that shrank after being sized).
 */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>

/** A {@link ReadAt} over bytes already in memory (tests, small files). */
export function readAtBytes (bytes: Uint8Array): ReadAt {
  return async (offset, length) => bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length))
}

/** Options of {@link PagedReader}. */
export interface PagedReaderOptions {
  /** bytes per page (default 64 KiB); random-access formats do better with small pages */
  pageSize?: number
  /** pages kept (least recently used is dropped; default 64) */
  maxPages?: number
  /** error code for a file shorter than its size (default ERR_BAD_FORMAT) */
  code?: ErrorCodeValue
  /** format name for messages ('GGUF', 'ONNX', 'TFLite') */
  what?: string
}

/**
 * A bounded page cache over a {@link ReadAt}. `peek` answers synchronously
 * when the bytes are cached (the common case for small fields read in order),
 * `bytes` loads them first. Neither checks that a range lies inside the file:
 * parsers check that against `size` first, with a message naming the field.
 */
export class PagedReader {
  readonly size: number
  private readonly readAt: ReadAt
  private readonly pageSize: number
  private readonly maxPages: number
  private readonly code: ErrorCodeValue
  private readonly what: string
  // Map keeps insertion order: re-inserting on use makes the first key the least recently used.
  private readonly pages = new Map<number, Uint8Array>()
  /** bytes fetched through readAt so far (tests assert parsers read little) */
  bytesRead = 0

  constructor (readAt: ReadAt, size: number, options: PagedReaderOptions = {}) {
    this.readAt = readAt
    this.size = size
    this.pageSize = options.pageSize ?? 64 * 1024
    this.maxPages = Math.max(2, options.maxPages ?? 64)
    this.code = options.code ?? ErrorCode.BAD_FORMAT
    this.what = options.what ?? 'file'
  }

  /** `length` bytes at `offset` if they lie in one cached page, else undefined. */
  peek (offset: number, length: number): Uint8Array | undefined {
    const index = Math.floor(offset / this.pageSize)
    const page = this.pages.get(index)
    if (page === undefined) return undefined
    const o = offset - index * this.pageSize
    if (o + length > page.length) return undefined
    return page.subarray(o, o + length)
  }

  /**
   * The cached page holding `offset` and the file offset of its first byte,
   * or undefined: lets a hot loop read many small fields without a call each.
   */
  cached (offset: number): { page: Uint8Array, base: number } | undefined {
    const index = Math.floor(offset / this.pageSize)
    const page = this.pages.get(index)
    return page === undefined ? undefined : { page, base: index * this.pageSize }
  }

  /**
   * `length` bytes at `offset` (the caller has checked they lie in the file).
   * A view into the cache when they fit one page, else a fresh copy; use it
   * before the next call.
   */
  async bytes (offset: number, length: number): Promise<Uint8Array> {
    const hit = this.peek(offset, length)
    if (hit !== undefined) return hit
    const first = Math.floor(offset / this.pageSize)
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.pageSize)
    if (first === last) {
      const page = await this.page(first)
      const o = offset - first * this.pageSize
      if (o + length > page.length) throw this.truncated(offset + length)
      return page.subarray(o, o + length)
    }
    if (last - first + 1 > this.maxPages / 2) {
      // A long field (a big string): read it directly rather than flushing the cache.
      const b = await this.readAt(offset, length)
      this.bytesRead += b.length
      if (b.length < length) throw this.truncated(offset + length)
      return b
    }
    const out = new Uint8Array(length)
    let pos = offset
    while (pos < offset + length) {
      const index = Math.floor(pos / this.pageSize)
      const page = await this.page(index)
      const o = pos - index * this.pageSize
      const n = Math.min(page.length - o, offset + length - pos)
      if (n <= 0) throw this.truncated(offset + length)
      out.set(page.subarray(o, o + n), pos - offset)
      pos += n
    }
    return out
  }

  private async page (index: number): Promise<Uint8Array> {
    const cached = this.pages.get(index)
    if (cached !== undefined) {
      this.pages.delete(index)
      this.pages.set(index, cached)
      return cached
    }
    const start = index * this.pageSize
    const want = Math.min(this.pageSize, this.size - start)
    const b = want > 0 ? await this.readAt(start, want) : new Uint8Array(0)
    this.bytesRead += b.length
    if (b.length < want) throw this.truncated(start + want)
    if (this.pages.size >= this.maxPages) {
      const lru = this.pages.keys().next().value as number
      this.pages.delete(lru)
    }
    this.pages.set(index, b)
    return b
  }

  private truncated (end: number): BadInputError {
    return new BadInputError(this.code, `${this.what} file is truncated: byte ${end} could not be read (did it change while being read?)`)
  }
}
