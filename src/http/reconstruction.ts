/**
 * The reconstruction API, for CDNs and smart clients (after Xet's): a file
 * range maps to terms — for each chunk its CID, logical length, codec and the
 * pack + byte range that holds its stored form — and pack bytes and decoded
 * chunks are served by immutable, range-capable URLs. A client rebuilds any
 * range from `/v1/reconstructions` + `/v1/packs` alone, verifying each chunk
 * against its CID. The JSON shape (v1) is in docs/deploy.md ("Reconstruction format").
 */
import { createHash } from 'node:crypto'
import { MAX_DELTA_DEPTH, packObjectKey } from '../store/block-store.js'
import { CodecId } from '../codec/types.js'
import { Codec, isInline, parseCid, type CID } from '../hash/cid.js'
import { NotFoundError, ErrorCode } from '../errors.js'
import { parseRange, serveRepresentation } from './range.js'
import { HttpError } from './errors.js'
import { IMMUTABLE } from './util.js'
import { unixfsFileSize } from './gateway.js'
import type { HttpContext } from './context.js'
import type { HttpRequest, HttpResponse } from './types.js'

/** Reconstruction version written in every answer. */
export const RECONSTRUCTION_VERSION = 1

/** Default most terms per answer; a longer range is answered in pieces (`next`). */
export const MAX_TERMS = 8192

const CODEC_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(CodecId).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, '-')]))

/** Where a stored chunk is. */
export interface StoredChunk {
  codec: number
  codecName: string
  packId: string
  /** stored bytes in the pack, end exclusive */
  packStart: number
  packEnd: number
  /** logical length */
  length: number
  /** delta base chunk, for codecs ≥ 16 */
  base?: string
  /** an inline chunk (identity CID, codecName 'inline', no pack): its bytes, base64 */
  inline?: string
}

/** One term: a chunk and the part of it the range needs. */
export interface ReconstructionTerm extends StoredChunk {
  cid: string
  /** offset of the chunk in the file */
  offset: number
  /** slice of the chunk's logical bytes in the range, end exclusive */
  start: number
  end: number
}

/** The answer of /v1/reconstructions/{cid}. */
export interface Reconstruction {
  version: number
  cid: string
  size: number
  /** the range these terms cover, end exclusive */
  range: { start: number, end: number }
  terms: ReconstructionTerm[]
  /** delta bases the terms (or other bases) need, by CID */
  bases: Record<string, StoredChunk>
  /** when the requested range needed more than MAX_TERMS terms: ask again from here */
  next?: { start: number, end: number }
}

function stored (ctx: HttpContext, cid: CID): StoredChunk {
  if (isInline(cid)) {
    const b = cid.multihash.digest
    return { codec: 0, codecName: 'inline', packId: '', packStart: 0, packEnd: 0, length: b.length, inline: Buffer.from(b).toString('base64') }
  }
  const loc = ctx.repo.blocks.location(cid)
  if (loc == null) throw new NotFoundError(`chunk ${cid.toString()} is not stored`, ErrorCode.NOT_FOUND)
  const s: StoredChunk = { codec: loc.codec, codecName: CODEC_NAMES[loc.codec] ?? `codec-${loc.codec}`, packId: loc.packId, packStart: loc.offset, packEnd: loc.offset + loc.storedLength, length: loc.logicalLength }
  if (loc.base != null) s.base = loc.base.toString()
  return s
}

/** Build the reconstruction of [start, end) of the file rooted at `root`. */
export function reconstruct (ctx: HttpContext, root: CID, size: number, start: number, end: number): Reconstruction {
  const terms: ReconstructionTerm[] = []
  const bases: Record<string, StoredChunk> = {}
  let covered = start
  let next: Reconstruction['next']
  for (const span of ctx.chunks.spans(root, size, start, end)) {
    if (terms.length === ctx.maxTerms) { next = { start: covered, end }; break }
    const s = stored(ctx, span.cid)
    terms.push({ cid: span.cid.toString(), offset: span.fileOffset, start: span.start, end: span.end, ...s })
    covered = span.fileOffset + span.end
    // delta bases, depth-bounded like the store's own reads
    let b = s.base
    for (let depth = 0; b != null && !(b in bases) && depth < MAX_DELTA_DEPTH; depth++) {
      const bs = stored(ctx, parseCid(b))
      bases[b] = bs
      b = bs.base
    }
  }
  return { version: RECONSTRUCTION_VERSION, cid: root.toString(), size, range: { start, end: next != null ? covered : end }, terms, bases, next }
}

/** GET|HEAD /v1/reconstructions/{fileCid}, optionally with `Range: bytes=a-b` (one range). */
export async function reconstructionRoute (ctx: HttpContext, req: HttpRequest, cidStr: string): Promise<HttpResponse> {
  const root = parseCid(cidStr)
  if (root.code !== Codec.RAW && root.code !== Codec.DAG_PB) throw new HttpError(400, 'BadRequest', `${cidStr} is not a UnixFS file`)
  const size = unixfsFileSize(ctx.chunks, root)
  let start = 0
  let end = size
  const pr = parseRange(req.headers.range, size)
  if (pr.kind === 'invalid' || (pr.kind === 'ranges' && pr.ranges.length > 1)) {
    return { status: 416, headers: { 'content-range': `bytes */${size}`, 'content-length': '0', 'cache-control': 'no-store' } }
  }
  if (pr.kind === 'unsatisfiable') {
    if (size !== 0) return { status: 416, headers: { 'content-range': `bytes */${size}`, 'content-length': '0', 'cache-control': 'no-store' } }
  } else if (pr.kind === 'ranges') {
    start = pr.ranges[0].start
    end = pr.ranges[0].end
  }
  const body = Buffer.from(JSON.stringify(reconstruct(ctx, root, size, start, end)))
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
  // Terms name packs, and gc may repack live chunks into new packs: cache for
  // an hour and revalidate, while the packs and chunks they name are immutable.
  const headers: Record<string, string> = { etag, 'cache-control': 'public, max-age=3600', vary: 'Range', 'content-type': 'application/json; charset=utf-8' }
  const inm = req.headers['if-none-match']
  if (inm != null && inm.split(',').map(s => s.trim().replace(/^W\//, '')).includes(etag)) return { status: 304, headers }
  return { status: 200, headers: { ...headers, 'content-length': String(body.length) }, body: req.method === 'HEAD' ? undefined : body }
}

/** GET|HEAD /v1/packs/{packId}: pack bytes, ranges, immutable. */
export async function packRoute (ctx: HttpContext, req: HttpRequest, packId: string): Promise<HttpResponse> {
  if (!/^[0-9a-f]{64}$/.test(packId)) throw new HttpError(400, 'BadRequest', 'a pack id is 64 lower-case hex digits')
  const key = packObjectKey(packId)
  const backend = ctx.repo.blocks.backend
  const st = await backend.stat(key)
  if (st == null) throw new NotFoundError(`pack ${packId} not found`, ErrorCode.NOT_FOUND)
  return serveRepresentation(req, {
    size: st.size,
    etag: `"${packId}"`,
    contentType: 'application/vnd.tenpak.pack',
    headers: { 'cache-control': IMMUTABLE },
    read: (r) => backend.stream(key, { offset: r.start, length: r.end - r.start }, { signal: req.signal })
  })
}

/** GET|HEAD /v1/chunks/{cid}: one decoded, verified chunk (any block). */
export async function chunkRoute (ctx: HttpContext, req: HttpRequest, cidStr: string): Promise<HttpResponse> {
  const cid = parseCid(cidStr)
  const bytes = ctx.chunks.get(cid)
  return serveRepresentation(req, {
    size: bytes.length,
    etag: `"${cid.toString()}"`,
    contentType: 'application/octet-stream',
    headers: { 'cache-control': IMMUTABLE },
    read: (r) => [bytes.subarray(r.start, r.end)]
  })
}
