/**
 * The request → response handler: parses and bounds the request target,
 * routes it (Hub API, IPFS gateway subset, reconstruction API, /healthz),
 * and turns every error into a status through errors.ts. It never touches a
 * socket, so tests call it directly; node.ts mounts it on node:http.
 */
import type { Repo } from '../repo/repo.js'
import { RepoType, type RepoTypeValue } from '../repo/names.js'
import { createChunkSource, type ChunkSource } from './chunk-source.js'
import { isCachedRemote } from '../store/backend.js'
import type { CID } from '../hash/cid.js'
import { createTokenCheck } from './auth.js'
import { createContext, type HttpContext } from './context.js'
import { HttpError, errorResponse, responseForError } from './errors.js'
import * as hub from './hub.js'
import { ipfs } from './gateway.js'
import { reconstructionRoute, packRoute, chunkRoute } from './reconstruction.js'
import { syncRoute } from './sync.js'
import { createDashboard, type Dashboard } from './dashboard.js'
import type { AdvisorHttpOptions } from '../advisor/proxy.js'
import type { HttpRequest, HttpResponse } from './types.js'

/** Longest request target accepted (414 beyond). */
export const MAX_URL_LENGTH = 8192

/** Options for {@link createHandler}. */
export interface HandlerOptions {
  repo: Repo
  /** bearer tokens that may write; none: every write is refused */
  writeTokens?: readonly string[]
  /** decoded-chunk cache budget in bytes */
  cacheBytes?: number
  /** absolute base URL used in Link headers (default: from the Host header) */
  publicUrl?: string
  /** most terms in one /v1/reconstructions answer (default MAX_TERMS) */
  maxTerms?: number
  /** extra fields for /healthz */
  health?: () => Record<string, unknown>
  /** built dashboard front-end served at `/` (default dist/web); false: none */
  webRoot?: string | false
  /** options of the advisor endpoints (/v1/route, /v1/presets, /v1/chat/completions) */
  advisor?: AdvisorHttpOptions
}

/** A handler plus what the daemon needs to report on it. */
export interface TenpakHandler {
  handle: (req: HttpRequest) => Promise<HttpResponse>
  readonly chunks: ChunkSource
  readonly context: HttpContext
}

const READ_METHODS = 'GET, HEAD, OPTIONS'
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'ETag, Content-Range, Accept-Ranges, Content-Length, Link, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, X-Error-Code, X-Error-Message, X-Tenpak-Cid, X-Ipfs-Roots'
}

/** Create the handler over an open repo. */
export function createHandler (opts: HandlerOptions): TenpakHandler {
  const blocks = opts.repo.blocks
  const backend = blocks.backend
  const remoteCache = isCachedRemote(backend) ? backend : undefined
  const chunks = createChunkSource({
    blocks,
    cacheBytes: opts.cacheBytes,
    // two windows are in the pack cache at once (the one being written, the next being fetched)
    ...(remoteCache != null ? { prefetch: async (cids: CID[]) => { await blocks.prefetch(cids) }, prefetchWindow: Math.min(8 << 20, Math.floor(remoteCache.cacheStats().limit / 4)) } : {})
  })
  const ctx = createContext({ repo: opts.repo, chunks, auth: createTokenCheck(opts.writeTokens ?? []), publicUrl: opts.publicUrl, maxTerms: opts.maxTerms })

  const dashboard = createDashboard({ ctx, webRoot: opts.webRoot, advisor: opts.advisor })

  const handle = async (req: HttpRequest): Promise<HttpResponse> => {
    let res: HttpResponse
    try {
      res = await route(ctx, req, opts, dashboard)
    } catch (err) {
      res = responseForError(err)
      ;(res as HttpResponse & { error?: unknown }).error = err
    }
    Object.assign(res.headers, CORS)
    return res
  }
  return { handle, chunks, context: ctx }
}

/** Counters of the pack-range cache of a store whose packs are remote (serve --store s3://…). */
function packCacheStats (ctx: HttpContext): Record<string, unknown> {
  const backend = ctx.repo.blocks.backend
  return isCachedRemote(backend) ? { packCache: backend.cacheStats() } : {}
}

function allow (req: HttpRequest, methods: string): void {
  if (!methods.split(', ').includes(req.method)) {
    throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed here`, { allow: methods })
  }
}

/** Split and decode the path; refuse anything that could step outside a name. */
function parseTarget (url: string): { segs: string[], query: URLSearchParams } {
  if (url.length > MAX_URL_LENGTH) throw new HttpError(414, 'UriTooLong', `request target over ${MAX_URL_LENGTH} bytes`)
  if (!url.startsWith('/')) throw new HttpError(400, 'BadRequest', 'request target must be a path')
  const q = url.indexOf('?')
  const pathname = q < 0 ? url : url.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1))
  const segs: string[] = []
  for (const raw of pathname.split('/')) {
    if (raw === '') continue
    let s: string
    try { s = decodeURIComponent(raw) } catch { throw new HttpError(400, 'BadRequest', 'malformed percent-encoding in path') }
    if (/[\x00-\x1f\x7f]/.test(s)) throw new HttpError(400, 'BadRequest', 'control characters in path')
    if (s.split(/[/\\]/).some(p => p === '.' || p === '..')) throw new HttpError(400, 'BadRequest', 'path traversal refused')
    if (s.length > 1024) throw new HttpError(414, 'UriTooLong', 'path segment too long')
    segs.push(s)
  }
  return { segs, query }
}

const API_KEYWORDS = new Set(['revision', 'tree', 'paths-info', 'refs'])

async function route (ctx: HttpContext, req: HttpRequest, opts: HandlerOptions, dashboard: Dashboard): Promise<HttpResponse> {
  const { segs, query } = parseTarget(req.url)
  if (req.method === 'OPTIONS') {
    return { status: 204, headers: { allow: 'GET, HEAD, POST, PUT, OPTIONS', 'access-control-allow-methods': 'GET, HEAD, POST, PUT, OPTIONS', 'access-control-allow-headers': 'Authorization, Range, If-None-Match, If-Match, If-Range, Content-Type, Accept', 'access-control-max-age': '86400' } }
  }
  const s0 = segs[0]

  if (segs.length === 1 && s0 === 'healthz') {
    allow(req, READ_METHODS)
    return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ status: 'ok', cache: ctx.chunks.stats(), ...packCacheStats(ctx), ...opts.health?.() }) }
  }
  if (s0 === 'ipfs') {
    allow(req, READ_METHODS)
    return await ipfs(ctx, req, segs.slice(1), query)
  }
  if (s0 === 'v1' && segs[1] === 'sync') return await syncRoute(ctx, req, segs.slice(2))
  if (s0 === 'v1' && segs.length === 3) {
    allow(req, READ_METHODS)
    if (segs[1] === 'reconstructions') return await reconstructionRoute(ctx, req, segs[2])
    if (segs[1] === 'packs') return await packRoute(ctx, req, segs[2])
    if (segs[1] === 'chunks') return await chunkRoute(ctx, req, segs[2])
  }
  if (s0 === 'v1' && segs.length <= 3) {
    const r = await dashboard.advisor(req, segs)
    if (r != null) return r
  }
  if (s0 === 'api' && segs[1] === 'dashboard') return await dashboard.api(req, segs.slice(2), query)
  if (s0 === 'api' && (segs[1] === 'models' || segs[1] === 'datasets')) {
    return await apiRoute(ctx, req, segs[1] === 'models' ? RepoType.MODEL : RepoType.DATASET, segs.slice(2), query)
  }

  // /{repo}/resolve/{rev}/{path}; /datasets/{repo}/…; /models/{repo}/…
  let type: RepoTypeValue = RepoType.MODEL
  let rest = segs
  if (s0 === 'datasets' || s0 === 'models') {
    type = s0 === 'datasets' ? RepoType.DATASET : RepoType.MODEL
    rest = segs.slice(1)
  }
  const at = rest[2] === 'resolve' ? 2 : rest[1] === 'resolve' ? 1 : -1
  if (at > 0 && rest.length >= at + 3) {
    allow(req, READ_METHODS)
    return await hub.resolveFile(ctx, req, type, rest.slice(0, at).join('/'), rest[at + 1], rest.slice(at + 2).join('/'))
  }
  // the dashboard: its built files, and its page routes (SPA fallback)
  return await dashboard.page(req, segs) ?? errorResponse(404, 'NotFound', 'no such route')
}

async function apiRoute (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, rest: string[], query: URLSearchParams): Promise<HttpResponse> {
  if (rest.length === 0) {
    allow(req, READ_METHODS)
    return await hub.listRepos(ctx, req, type)
  }
  // a repo id is one or two segments; the keyword after it decides which
  const n = rest.length >= 3 && API_KEYWORDS.has(rest[2]) ? 2 : rest.length >= 2 && API_KEYWORDS.has(rest[1]) ? 1 : Math.min(rest.length, 2)
  const id = rest.slice(0, n).join('/')
  const kw = rest[n]
  const args = rest.slice(n + 1)
  if (kw == null) {
    if (rest.length > n) throw new HttpError(404, 'NotFound', 'no such route')
    allow(req, READ_METHODS)
    return await hub.repoInfo(ctx, req, type, id, undefined)
  }
  switch (kw) {
    case 'revision':
      allow(req, READ_METHODS)
      if (args.length === 0) throw new HttpError(404, 'NotFound', 'missing revision')
      return await hub.repoInfo(ctx, req, type, id, args.join('/'))
    case 'tree':
      allow(req, READ_METHODS)
      if (args.length === 0) throw new HttpError(404, 'NotFound', 'missing revision')
      return await hub.tree(ctx, req, type, id, args[0], args.slice(1).join('/'), query)
    case 'paths-info':
      allow(req, 'POST')
      if (args.length === 0) throw new HttpError(404, 'NotFound', 'missing revision')
      return await hub.pathsInfo(ctx, req, type, id, args.join('/'))
    case 'refs':
      if (args.length === 0) {
        allow(req, READ_METHODS)
        return await hub.listRefs(ctx, req, type, id)
      }
      allow(req, 'PUT')
      return await hub.putRef(ctx, req, type, id, args.join('/'))
  }
  throw new HttpError(404, 'NotFound', 'no such route')
}
