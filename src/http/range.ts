/**
 * Conditional and range requests (RFC 9110 §13–14) over a "representation":
 * something with a size, a strong ETag and a way to read [start, end).
 * Handles If-Match (412), If-None-Match (304), If-Range, single, suffix and
 * open-ended ranges (206 + Content-Range), several ranges
 * (multipart/byteranges) and unsatisfiable or malformed ones (416 with
 * `Content-Range: bytes *\/N`). HEAD answers GET's headers without a body.
 */
import { randomBytes } from 'node:crypto'
import type { HttpBody, HttpRequest, HttpResponse } from './types.js'

/** A byte range, end exclusive. */
export interface ByteRange {
  start: number
  end: number
}

/** What a range handler serves. */
export interface Representation {
  size: number
  /** strong entity tag, quoted */
  etag: string
  contentType: string
  /** headers sent on 200, 206, 304 and 416 (cache policy, Hub headers …) */
  headers: Record<string, string>
  /** the bytes [start, end) */
  read: (range: ByteRange) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>
}

/** More ranges than this in one request are refused (416): a cheap amplification guard. */
export const MAX_RANGES = 128

/** Result of parsing a Range header against a size. */
export type RangeParse =
  | { kind: 'none' }
  | { kind: 'invalid' }
  | { kind: 'unsatisfiable' }
  | { kind: 'ranges', ranges: ByteRange[] }

/**
 * Parse a `Range` header for a representation of `size` bytes. Units other
 * than `bytes` are ignored (`none`), as RFC 9110 requires; syntax errors are
 * `invalid`; ranges that all start past the end are `unsatisfiable`.
 */
export function parseRange (header: string | undefined, size: number): RangeParse {
  if (header == null) return { kind: 'none' }
  const eq = header.indexOf('=')
  if (eq < 0) return { kind: 'invalid' }
  const unit = header.slice(0, eq).trim().toLowerCase()
  if (unit !== 'bytes') return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(unit) ? { kind: 'none' } : { kind: 'invalid' }
  const specs = header.slice(eq + 1).split(',').map(s => s.trim())
  if (specs.length > MAX_RANGES) return { kind: 'invalid' }
  const ranges: ByteRange[] = []
  let any = false
  for (const spec of specs) {
    if (spec === '') continue // empty list elements are allowed (#rule)
    any = true
    const m = /^(\d*)-(\d*)$/.exec(spec)
    if (m == null || (m[1] === '' && m[2] === '')) return { kind: 'invalid' }
    if (m[1] === '') {
      const suffix = Number(m[2])
      if (suffix === 0 || size === 0) continue
      ranges.push({ start: Math.max(0, size - suffix), end: size })
      continue
    }
    const first = Number(m[1])
    const last = m[2] === '' ? Infinity : Number(m[2])
    if (last < first) return { kind: 'invalid' }
    if (first >= size) continue
    ranges.push({ start: first, end: Math.min(last + 1, size) })
  }
  if (!any) return { kind: 'invalid' }
  if (ranges.length === 0) return { kind: 'unsatisfiable' }
  return { kind: 'ranges', ranges }
}

/** Split an entity-tag list (`"a", W/"b"`); `*` is returned as ['*']. */
export function parseEtagList (header: string): string[] {
  const h = header.trim()
  if (h === '*') return ['*']
  const out: string[] = []
  const re = /\s*(W\/)?("[^"]*")\s*(,|$)/gy
  let m: RegExpExecArray | null
  while ((m = re.exec(h)) != null) {
    out.push((m[1] ?? '') + m[2])
    if (re.lastIndex >= h.length) break
  }
  return out
}

const opaque = (tag: string): string => tag.startsWith('W/') ? tag.slice(2) : tag

/** Weak comparison (If-None-Match). */
export function etagMatchesWeak (header: string, etag: string): boolean {
  const list = parseEtagList(header)
  return list.includes('*') || list.some(t => opaque(t) === opaque(etag))
}

/** Strong comparison (If-Match, If-Range): weak tags never match. */
export function etagMatchesStrong (header: string, etag: string): boolean {
  const list = parseEtagList(header)
  return list.includes('*') || list.some(t => !t.startsWith('W/') && t === etag)
}

/** Answer a GET or HEAD for `rep`, honouring conditionals and ranges. */
export function serveRepresentation (req: Pick<HttpRequest, 'method' | 'headers'>, rep: Representation): HttpResponse {
  const head = req.method === 'HEAD'
  const base = { etag: rep.etag, 'accept-ranges': 'bytes', ...rep.headers }

  const ifMatch = req.headers['if-match']
  if (ifMatch != null && !etagMatchesStrong(ifMatch, rep.etag)) {
    return { status: 412, headers: { ...base, 'content-length': '0' } }
  }
  const ifNoneMatch = req.headers['if-none-match']
  if (ifNoneMatch != null && etagMatchesWeak(ifNoneMatch, rep.etag)) {
    return { status: 304, headers: base }
  }

  let rangeHeader = req.headers.range
  const ifRange = req.headers['if-range']
  // If-Range with a date (we send no Last-Modified) or another tag: serve the whole representation
  if (rangeHeader != null && ifRange != null && !(/^"/.test(ifRange.trim()) && etagMatchesStrong(ifRange, rep.etag))) rangeHeader = undefined

  const parsed = parseRange(rangeHeader, rep.size)
  if (parsed.kind === 'invalid' || parsed.kind === 'unsatisfiable') {
    // a zero-length representation has no satisfiable range: send it whole instead
    if (rep.size === 0 && parsed.kind === 'unsatisfiable') return full()
    return { status: 416, headers: { ...base, 'content-range': `bytes */${rep.size}`, 'content-length': '0' } }
  }
  if (parsed.kind === 'none') return full()

  const ranges = parsed.ranges
  if (ranges.length === 1) {
    const r = ranges[0]
    return {
      status: 206,
      headers: { ...base, 'content-type': rep.contentType, 'content-length': String(r.end - r.start), 'content-range': `bytes ${r.start}-${r.end - 1}/${rep.size}` },
      body: head ? undefined : rep.read(r)
    }
  }
  const boundary = `tenpak-${randomBytes(12).toString('hex')}`
  const partHeads = ranges.map((r, i) => Buffer.from(`${i === 0 ? '' : '\r\n'}--${boundary}\r\ncontent-type: ${rep.contentType}\r\ncontent-range: bytes ${r.start}-${r.end - 1}/${rep.size}\r\n\r\n`, 'latin1'))
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')
  let length = tail.length
  for (let i = 0; i < ranges.length; i++) length += partHeads[i].length + ranges[i].end - ranges[i].start
  return {
    status: 206,
    headers: { ...base, 'content-type': `multipart/byteranges; boundary=${boundary}`, 'content-length': String(length) },
    body: head ? undefined : multipart(ranges, partHeads, tail, rep)
  }

  function full (): HttpResponse {
    return {
      status: 200,
      headers: { ...base, 'content-type': rep.contentType, 'content-length': String(rep.size) },
      body: head || rep.size === 0 ? undefined : rep.read({ start: 0, end: rep.size })
    }
  }
}

async function * multipart (ranges: ByteRange[], heads: Uint8Array[], tail: Uint8Array, rep: Representation): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < ranges.length; i++) {
    yield heads[i]
    yield * rep.read(ranges[i])
  }
  yield tail
}

/** A body's bytes as one buffer (small bodies and tests only). */
export async function bodyBytes (body: HttpBody | undefined): Promise<Uint8Array> {
  if (body == null) return new Uint8Array(0)
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof Uint8Array) return body
  const parts: Uint8Array[] = []
  for await (const p of body as AsyncIterable<Uint8Array>) parts.push(p)
  return Buffer.concat(parts)
}
