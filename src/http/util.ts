/**
 * Small helpers shared by the routes: JSON answers (with ETag and 304),
 * bounded request bodies, and the two cache policies.
 */
import { createHash } from 'node:crypto'
import { HttpError } from './errors.js'
import { etagMatchesWeak } from './range.js'
import type { HttpRequest, HttpResponse } from './types.js'

/** Content-addressed answers: they never change, so caches keep them for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable'

/** Answers named by a branch or tag: cacheable, but revalidated (ETag) on every use. */
export const REVALIDATE = 'public, max-age=0, must-revalidate'

/** A JSON answer with a strong ETag over its bytes; 304 when If-None-Match matches. */
export function json (req: Pick<HttpRequest, 'method' | 'headers'>, status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
  const body = Buffer.from(JSON.stringify(value))
  const etag = headers.etag ?? `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
  const h: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length), etag, ...headers }
  const inm = req.headers['if-none-match']
  if (status === 200 && inm != null && etagMatchesWeak(inm, etag)) {
    delete h['content-length']
    delete h['content-type']
    return { status: 304, headers: h }
  }
  return { status, headers: h, body: req.method === 'HEAD' ? undefined : body }
}

/** Read a request body of at most `limit` bytes (413 beyond). */
export async function readBody (req: HttpRequest, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared != null && Number(declared) > limit) throw new HttpError(413, 'PayloadTooLarge', `request body over ${limit} bytes`)
  if (req.body == null) return Buffer.alloc(0)
  if (req.body instanceof Uint8Array) {
    if (req.body.length > limit) throw new HttpError(413, 'PayloadTooLarge', `request body over ${limit} bytes`)
    return Buffer.from(req.body)
  }
  const parts: Buffer[] = []
  let n = 0
  for await (const p of req.body) {
    n += p.length
    if (n > limit) throw new HttpError(413, 'PayloadTooLarge', `request body over ${limit} bytes`)
    parts.push(Buffer.from(p))
  }
  return Buffer.concat(parts)
}
