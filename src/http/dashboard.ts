/**
 * The dashboard served by `tenpak serve` at `/`: its JSON endpoints under
 * `/api/dashboard/…` (store overview, repo view, delta estimate, and the
 * advisor features, each calling the same library code as the CLI), the
 * advisor's own `/v1/route|presets|chat/completions` handler, and the built
 * front-end (dist/web) as static files with an SPA fallback for page routes.
 * It owns no state beyond small caches keyed by the store's refs.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import type { Repo } from '../repo/repo.js'
import { commitHex } from '../repo/repo.js'
import { parseRepoRev, RepoType } from '../repo/names.js'
import type { RepoRefs } from '../repo/refs.js'
import { estimateDeltaSavings } from '../repo/delta-bundle.js'
import { CID, Codec } from '../hash/cid.js'
import { decodeCommit, decodeManifest } from '../objects/commit.js'
import { isDeltaCodec } from '../codec/types.js'
import { toHex } from '../util/bytes.js'
import { BadInputError, ErrorCode } from '../errors.js'
import { listPresets } from '../advisor/presets.js'
import { MODEL_CATALOG } from '../advisor/catalog/models.js'
import { computeSavings } from '../advisor/savings.js'
import { optimizeRevision } from '../advisor/quantize-revision.js'
import { NoPresetFitsError } from '../advisor/optimize.js'
import { createAdvisorHttpHandler, routeFromBody, type AdvisorHttpOptions } from '../advisor/proxy.js'
import type { HttpContext } from './context.js'
import { HttpError } from './errors.js'
import { json, readBody, IMMUTABLE } from './util.js'
import type { HttpRequest, HttpResponse } from './types.js'

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  ctx: HttpContext
  /** folder of the built front-end (default: dist/web of this package); false: no static files */
  webRoot?: string | false
  /** options of the mounted advisor handler (backends for /v1/chat/completions …) */
  advisor?: AdvisorHttpOptions
}

/** The dashboard's routes, called by the handler. */
export interface Dashboard {
  /** `/api/dashboard/{rest}` */
  api: (req: HttpRequest, rest: string[], query: URLSearchParams) => Promise<HttpResponse>
  /** `/v1/{route|presets|chat/completions}`; undefined for other /v1 paths */
  advisor: (req: HttpRequest, segs: string[]) => Promise<HttpResponse | undefined>
  /** static file or SPA page for a GET no other route took; undefined: not a page */
  page: (req: HttpRequest, segs: string[]) => Promise<HttpResponse | undefined>
}

/** One commit in the store-wide history, with what it added to the packs. */
export interface CommitPoint {
  commit: string
  hex: string
  repo: string
  time: number
  message: string
  parents: string[]
  /** the commit it is stored as a delta against, when named (`base` field) */
  base?: string
  files: number
  /** bytes of this commit's files */
  logicalBytes: number
  /** stored (encoded) bytes of the blocks this commit added to the store */
  newStoredBytes: number
  /** of which blocks stored as deltas of earlier blocks … */
  deltaStoredBytes: number
  /** … standing for this many logical bytes */
  deltaLogicalBytes: number
  /** running totals in time order over the whole store */
  cumulativeLogicalBytes: number
  cumulativeStoredBytes: number
}

const BODY_LIMIT = 64 * 1024
const STATIC_MAX = 16 << 20
const TENSOR_ROWS = 2000
const NO_STORE = { 'cache-control': 'no-store' }

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
  '.md': 'text/markdown; charset=utf-8'
}

/**
 * Where the built front-end is: dist/web next to the compiled module
 * (dist/src/http → dist/web), or, when running from source, ../../dist/web.
 */
export function defaultWebRoot (): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
  // compiled: <pkg>/dist/src/http → <pkg>/dist/web; from source: <pkg>/src/http → <pkg>/dist/web
  // (never <pkg>/web, the unbuilt sources)
  return path.basename(root) === 'dist' ? path.join(root, 'web') : path.join(root, 'dist', 'web')
}

/** Create the dashboard routes over a handler context. */
export function createDashboard (opts: DashboardOptions): Dashboard {
  const { ctx } = opts
  const repo = ctx.repo
  const webRoot = opts.webRoot === false ? undefined : path.resolve(opts.webRoot ?? defaultWebRoot())
  const advisorHandler = createAdvisorHttpHandler(opts.advisor ?? {})
  let history: { key: string, points: CommitPoint[] } | undefined
  // heavy jobs (delta estimate, optimize) run one at a time: 2 cores, and each reads whole models
  let queue: Promise<unknown> = Promise.resolve()
  const serial = async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn)
    queue = run.catch(() => {})
    return await run
  }

  const storeHistory = async (refs: RepoRefs[]): Promise<CommitPoint[]> => {
    const key = refsKey(refs)
    if (history?.key !== key) history = { key, points: computeHistory(repo, refs) }
    return history.points
  }

  const api = async (req: HttpRequest, rest: string[], query: URLSearchParams): Promise<HttpResponse> => {
    const [what, ...args] = rest
    const get = (): void => { allow(req, 'GET, HEAD') }
    const post = (): void => { allow(req, 'POST') }
    switch (what) {
      case 'overview': {
        get()
        const stats = await repo.stats()
        const refs = await repo.listRepos()
        const points = await storeHistory(refs)
        const byCommit = new Map(points.map(p => [p.commit, p]))
        const repos = refs.map(r => repoSummary(r, byCommit, points))
        return json(req, 200, { stats, repos, series: points, baseUrl: ctx.baseUrl(req.headers) }, NO_STORE)
      }
      case 'repo': {
        get()
        if (args.length < 2 || args.length > 3) throw new HttpError(404, 'NotFound', 'use /api/dashboard/repo/{models|datasets}/{org}/{name}')
        const type = args[0] === 'models' || args[0] === 'model' ? 'models' : args[0] === 'datasets' || args[0] === 'dataset' ? 'datasets' : undefined
        if (type == null) throw new HttpError(404, 'NotFound', `unknown repo type ${args[0]}`)
        return json(req, 200, await repoView(type, args.slice(1).join('/'), query.get('rev') ?? undefined, req), NO_STORE)
      }
      case 'delta-estimate': {
        post()
        const body = await readJsonBody(req)
        const base = storeSource(body.base, 'base')
        const finetune = storeSource(body.finetune, 'finetune')
        await repo.resolve(base.repo, base.rev)
        await repo.resolve(finetune.repo, finetune.rev)
        const started = Date.now()
        // hfHome points nowhere: names are looked up in this store only
        const estimate = await serial(async () => await estimateDeltaSavings(base.text, finetune.text, { store: repo, hfHome: path.join(repo.dir, 'no-hf-cache'), signal: req.signal }))
        return json(req, 200, { base: base.text, finetune: finetune.text, ...estimate, ms: Date.now() - started }, NO_STORE)
      }
      case 'presets':
        get()
        return json(req, 200, { presets: listPresets() }, NO_STORE)
      case 'models':
        get()
        return json(req, 200, { models: MODEL_CATALOG.map(m => ({ id: m.id, aliases: m.aliases, family: m.family, params: m.params.value, contextLength: m.contextLength.value })) }, NO_STORE)
      case 'route': {
        post()
        return json(req, 200, routeFromBody(await readJsonBody(req), opts.advisor ?? {}), NO_STORE)
      }
      case 'savings': {
        get()
        const stats = await repo.stats()
        const n = (k: string): number | undefined => {
          const v = query.get(k)
          if (v == null || v === '') return undefined
          const x = Number(v)
          if (!Number.isFinite(x)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${k} must be a number`)
          return x
        }
        const storage = n('storageUsdPerGbMonth')
        const egress = n('egressUsdPerGb')
        const report = computeSavings({
          stats: { ...stats, models: Math.max(1, stats.repos) },
          models: n('models'),
          downloadsPerMonth: n('downloadsPerMonth'),
          prices: { ...(storage != null ? { storageUsdPerGbMonth: storage } : {}), ...(egress != null ? { egressUsdPerGb: egress } : {}) }
        })
        return json(req, 200, { ...report, stats }, NO_STORE)
      }
      case 'optimize': {
        post()
        const body = await readJsonBody(req)
        const src = storeSource(body.repo, 'repo')
        const num = (k: string): number | undefined => {
          const v = body[k]
          if (v == null || v === '') return undefined
          if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${k} must be a number`)
          return v
        }
        try {
          const result = await serial(async () => await optimizeRevision(repo, { repo: src.repo, rev: src.rev, maxError: num('maxError'), minCompression: num('minCompression'), sampleRows: num('sampleRows') ?? 64, signal: req.signal }))
          return json(req, 200, result, NO_STORE)
        } catch (err) {
          if (err instanceof NoPresetFitsError) return json(req, 422, { error: err.message, code: err.code, candidates: err.candidates }, { ...NO_STORE, 'x-error-code': err.code })
          throw err
        }
      }
    }
    throw new HttpError(404, 'NotFound', 'no such dashboard endpoint')
  }

  const repoView = async (type: 'models' | 'datasets', id: string, rev: string | undefined, req: HttpRequest): Promise<Record<string, unknown>> => {
    const full = `${type}/${id}`
    const res = await ctx.resolveRev(full, rev)
    const refs = (await repo.refs.repo(res.repo))
    const mi = ctx.manifestIndex(res)
    const revName = rev ?? 'main'
    const urlBase = `${res.repo.type === RepoType.DATASET ? '/datasets' : ''}/${res.repo.id}/resolve/${encodeURIComponent(revName)}/`
    const files = []
    const tensors: Record<string, { total: number, rows: Array<{ name: string, dtype: string, shape: number[], bytes: number }> }> = {}
    for (const f of mi.manifest.files) {
      files.push({ path: f.path, size: f.size, cid: f.cid.toString(), sha256: toHex(f.sha256), format: f.format, url: urlBase + f.path.split('/').map(encodeURIComponent).join('/'), tensors: f.tensors != null })
      const t = await repo.tensors(f)
      if (t != null) tensors[f.path] = { total: t.length, rows: t.slice(0, TENSOR_ROWS).map(x => ({ name: x.name, dtype: x.dtype, shape: x.shape, bytes: x.end - x.start })) }
    }
    const points = await storeHistory(await repo.listRepos())
    const byCommit = new Map(points.map(p => [p.commit, p]))
    const log = await repo.log(res.repo.full, { branch: revName, limit: 200 })
    return {
      repo: res.repo.full,
      type: res.repo.type,
      id: res.repo.id,
      rev: revName,
      commit: res.cid.toString(),
      hex: commitHex(res.cid),
      branches: Object.keys(refs?.heads ?? {}),
      tags: Object.keys(refs?.tags ?? {}),
      baseUrl: ctx.baseUrl(req.headers),
      files,
      tensors,
      log: log.map(l => {
        const p = byCommit.get(l.commit)
        const baseCommit = p?.base ?? (p != null && p.deltaStoredBytes > 0 ? p.parents[0] : undefined)
        return {
          ...l,
          hex: p?.hex,
          base: baseCommit != null ? { commit: baseCommit, repo: byCommit.get(baseCommit)?.repo, named: p?.base != null } : undefined,
          newStoredBytes: p?.newStoredBytes,
          deltaStoredBytes: p?.deltaStoredBytes,
          deltaLogicalBytes: p?.deltaLogicalBytes
        }
      })
    }
  }

  const advisor = async (req: HttpRequest, segs: string[]): Promise<HttpResponse | undefined> => {
    const p = segs.join('/')
    if (p !== 'v1/route' && p !== 'v1/presets' && p !== 'v1/chat/completions') return undefined
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
    const body = hasBody ? await readBody(req, 1 << 20) : undefined
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) if (v != null) headers.set(k, v)
    const request = new Request(`http://127.0.0.1/${p}`, { method: req.method, headers, body: body != null ? new Uint8Array(body) : undefined, signal: req.signal })
    const response = await advisorHandler(request)
    const out: Record<string, string> = {}
    response.headers.forEach((v, k) => { out[k] = v })
    out['cache-control'] ??= 'no-store'
    return { status: response.status, headers: out, body: response.body == null ? undefined : response.body as unknown as AsyncIterable<Uint8Array>, errorCode: response.headers.get('x-error-code') ?? undefined }
  }

  const page = async (req: HttpRequest, segs: string[]): Promise<HttpResponse | undefined> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined
    const wantsHtml = segs.length === 0 || (req.headers.accept ?? '').includes('text/html')
    if (webRoot == null) return undefined
    // a built file (hashed assets, icons): served as is
    if (segs.length > 0) {
      const file = path.resolve(webRoot, ...segs)
      if (file.startsWith(webRoot + path.sep)) {
        const r = await staticFile(req, file, segs[0] === 'assets' ? IMMUTABLE : 'no-cache')
        if (r != null) return r
      }
      if (segs[0] === 'assets') return undefined
    }
    if (!wantsHtml) return undefined
    const index = await staticFile(req, path.join(webRoot, 'index.html'), 'no-cache')
    if (index != null) return index
    const msg = '<!doctype html><meta charset="utf-8"><title>tenpak</title><p>The tenpak dashboard is not built. Run <code>npm run build</code> and restart <code>tenpak serve</code>.</p>'
    return { status: 503, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, body: msg }
  }

  return { api, advisor, page }
}

function allow (req: HttpRequest, methods: string): void {
  if (!methods.split(', ').includes(req.method)) throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed here`, { allow: methods })
}

async function readJsonBody (req: HttpRequest): Promise<Record<string, unknown>> {
  const raw = await readBody(req, BODY_LIMIT)
  let v: unknown
  try { v = JSON.parse(raw.toString('utf8')) } catch (err) { throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'request body is not valid JSON', { cause: err }) }
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'request body must be a JSON object')
  return v as Record<string, unknown>
}

/**
 * A `REPO[@REV]` naming a repo of this store, never a local path or a Hugging
 * Face cache entry: the server must not read files a client names.
 */
function storeSource (v: unknown, field: string): { text: string, repo: string, rev?: string } {
  if (typeof v !== 'string' || v === '') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${field} must be a store repo name (REPO[@REV])`)
  const { repo: name, rev } = parseRepoRev(v)
  const text = rev != null ? `${name.full}@${rev}` : name.full
  if (fs.existsSync(text) || path.isAbsolute(v)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${field}: ${text} is also a path on the server; refused`)
  return { text, repo: name.full, rev }
}

function refsKey (refs: RepoRefs[]): string {
  const h = createHash('sha256')
  for (const r of refs) {
    h.update(r.name.full)
    for (const [k, c] of Object.entries(r.heads)) h.update(`h:${k}=${c.toString()}`)
    for (const [k, c] of Object.entries(r.tags)) h.update(`t:${k}=${c.toString()}`)
  }
  return h.digest('hex')
}

function repoSummary (r: RepoRefs, byCommit: Map<string, CommitPoint>, points: CommitPoint[]): Record<string, unknown> {
  const head = r.heads.main ?? Object.values(r.heads)[0]
  const p = head != null ? byCommit.get(head.toString()) : undefined
  return {
    name: r.name.full,
    type: r.name.type,
    id: r.name.id,
    branches: Object.keys(r.heads),
    tags: Object.keys(r.tags),
    head: head?.toString(),
    lastModified: p?.time,
    message: p?.message,
    files: p?.files,
    logicalBytes: p?.logicalBytes,
    commits: points.filter(x => x.repo === r.name.full).length,
    storedBytes: points.filter(x => x.repo === r.name.full).reduce((s, x) => s + x.newStoredBytes, 0)
  }
}

/**
 * Every commit reachable from the refs, in time order, with the stored bytes
 * of the blocks it was first to bring (commit, manifest, tree, file DAGs,
 * tensor tables). Only DAG nodes are read; data chunks are looked up in the index.
 */
function computeHistory (repo: Repo, refs: RepoRefs[]): CommitPoint[] {
  const blocks = repo.blocks
  const owner = new Map<string, { repo: string, cid: CID }>()
  for (const r of refs) {
    const stack = [...Object.values(r.heads), ...Object.values(r.tags)]
    while (stack.length > 0) {
      const c = stack.pop() as CID
      const k = c.toString()
      if (owner.has(k) || !blocks.has(c)) continue
      owner.set(k, { repo: r.name.full, cid: c })
      stack.push(...decodeCommit(c, blocks.getSync(c)).parents)
    }
  }
  const commits = [...owner.values()].map(o => ({ ...o, commit: decodeCommit(o.cid, blocks.getSync(o.cid)) }))
  commits.sort((a, b) => a.commit.time - b.commit.time)
  const seen = new Set<string>()
  const out: CommitPoint[] = []
  let cumLogical = 0
  let cumStored = 0
  for (const { repo: name, cid, commit } of commits) {
    const manifest = decodeManifest(commit.manifest, blocks.getSync(commit.manifest))
    let stored = 0
    let deltaStored = 0
    let deltaLogical = 0
    const stack: CID[] = [cid, commit.manifest, commit.tree, ...manifest.files.flatMap(f => f.tensors != null ? [f.cid, f.tensors] : [f.cid])]
    while (stack.length > 0) {
      const c = stack.pop() as CID
      const k = c.toString()
      if (seen.has(k)) continue
      seen.add(k)
      const loc = blocks.location(c)
      if (loc != null) {
        stored += loc.storedLength
        if (isDeltaCodec(loc.codec)) { deltaStored += loc.storedLength; deltaLogical += loc.logicalLength }
      }
      if (c.code === Codec.DAG_PB && loc != null) for (const l of dagPb.decode(blocks.getSync(c)).Links) stack.push(l.Hash)
    }
    const logical = manifest.files.reduce((s, f) => s + f.size, 0)
    cumLogical += logical
    cumStored += stored
    out.push({
      commit: cid.toString(),
      hex: commitHex(cid),
      repo: name,
      time: commit.time,
      message: commit.message,
      parents: commit.parents.map(p => p.toString()),
      base: commit.base?.toString(),
      files: manifest.files.length,
      logicalBytes: logical,
      newStoredBytes: stored,
      deltaStoredBytes: deltaStored,
      deltaLogicalBytes: deltaLogical,
      cumulativeLogicalBytes: cumLogical,
      cumulativeStoredBytes: cumStored
    })
  }
  return out
}

/** A file of the built front-end, or undefined when absent. Small files only (the build's bundles). */
async function staticFile (req: HttpRequest, file: string, cacheControl: string): Promise<HttpResponse | undefined> {
  let st: fs.Stats
  try { st = await fsp.stat(file) } catch { return undefined }
  if (!st.isFile() || st.size > STATIC_MAX) return undefined
  const body = await fsp.readFile(file)
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
  const headers: Record<string, string> = {
    'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    etag,
    'x-content-type-options': 'nosniff'
  }
  if (file.endsWith('.html')) {
    // the app talks only to this origin: no CDN, no third-party anything
    headers['content-security-policy'] = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
  }
  const inm = req.headers['if-none-match']
  if (inm != null && inm.split(',').map(s => s.trim()).includes(etag)) return { status: 304, headers: { etag, 'cache-control': cacheControl } }
  headers['content-length'] = String(body.length)
  return { status: 200, headers, body: req.method === 'HEAD' ? undefined : body }
}

