/**
 * The Hugging Face Hub–compatible routes: file resolution
 * (`/{repo}/resolve/{rev}/{path}`), repo info, tree listing with `Link`
 * pagination, paths-info, refs (read, and a token-guarded branch move).
 * Field names and headers follow what `huggingface_hub` and `@huggingface/hub`
 * read; every file is presented as an LFS file whose oid is its sha256.
 */
import { commitHex } from '../repo/repo.js'
import { checkRefName, parseRepoName, RepoType, type RepoTypeValue } from '../repo/names.js'
import { checkRepoPath } from '../objects/unixfs.js'
import type { FileEntry } from '../objects/commit.js'
import { CID, Codec, parseCid } from '../hash/cid.js'
import { BadInputError, ErrorCode, NotFoundError, TenpakError } from '../errors.js'
import { toHex } from '../util/bytes.js'
import { serveRepresentation } from './range.js'
import { HttpError } from './errors.js'
import { hexId, lfsPointer, type HttpContext, type RevisionInfo, type ManifestIndex } from './context.js'
import type { HttpRequest, HttpResponse } from './types.js'
import { json, readBody, IMMUTABLE, REVALIDATE } from './util.js'

/** Default and largest page sizes of the tree listing. */
export const TREE_PAGE = 1000
const TREE_PAGE_MAX = 10000

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  tsv: 'text/tab-separated-values; charset=utf-8',
  jsonl: 'application/jsonl',
  parquet: 'application/vnd.apache.parquet'
}

function contentType (p: string): string {
  const dot = p.lastIndexOf('.')
  return (dot >= 0 ? CONTENT_TYPES[p.slice(dot + 1).toLowerCase()] : undefined) ?? 'application/octet-stream'
}

/** Full repo name (`models/org/name`) from a type and an id. */
export function fullName (type: RepoTypeValue, id: string): string {
  return `${type === RepoType.MODEL ? 'models' : 'datasets'}/${id}`
}

/** GET|HEAD /{repo}/resolve/{rev}/{path} */
export async function resolveFile (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, id: string, rev: string, filePath: string): Promise<HttpResponse> {
  const res = await ctx.resolveRev(fullName(type, id), rev)
  const p = checkRepoPath(filePath).join('/')
  const f = ctx.manifestIndex(res).files.get(p)
  if (f == null) throw new NotFoundError(`${p} not found in ${res.repo.full}@${rev}`, ErrorCode.ENTRY_NOT_FOUND)
  const sha = `"${toHex(f.sha256)}"`
  return serveRepresentation(req, {
    size: f.size,
    etag: sha,
    contentType: contentType(p),
    headers: {
      'x-repo-commit': commitHex(res.cid),
      'x-linked-etag': sha,
      'x-linked-size': String(f.size),
      'x-tenpak-cid': f.cid.toString(),
      'cache-control': res.immutable ? IMMUTABLE : REVALIDATE
    },
    read: (r) => ctx.chunks.file(f.cid, f.size, r)
  })
}

function repoInfoJson (ctx: HttpContext, res: RevisionInfo, type: RepoTypeValue): Record<string, unknown> {
  const mi = ctx.manifestIndex(res)
  const id = res.repo.id
  const slash = id.indexOf('/')
  const date = new Date(res.commit.time).toISOString()
  const info: Record<string, unknown> = {
    _id: hexId(res.cid).slice(0, 24),
    id,
    author: slash > 0 ? id.slice(0, slash) : undefined,
    sha: commitHex(res.cid),
    lastModified: date,
    createdAt: date,
    private: false,
    gated: false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: [],
    siblings: mi.manifest.files.map(f => {
      const lfs = lfsPointer(f)
      return { rfilename: f.path, size: f.size, blobId: lfs.blobId, lfs: { sha256: lfs.sha256, size: f.size, pointerSize: lfs.pointerSize } }
    }),
    usedStorage: mi.manifest.files.reduce((s, f) => s + f.size, 0),
    tenpak: { commit: res.cid.toString(), tree: res.commit.tree.toString(), manifest: res.commit.manifest.toString() }
  }
  if (type === RepoType.MODEL) info.modelId = id
  return info
}

/** GET /api/{models|datasets}/{repo}[/revision/{rev}] */
export async function repoInfo (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, id: string, rev: string | undefined): Promise<HttpResponse> {
  const res = await ctx.resolveRev(fullName(type, id), rev)
  return json(req, 200, repoInfoJson(ctx, res, type), { 'cache-control': res.immutable ? IMMUTABLE : REVALIDATE, 'x-repo-commit': commitHex(res.cid) })
}

/** GET /api/{models|datasets} — every stored repo of that type (no search, no pagination). */
export async function listRepos (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue): Promise<HttpResponse> {
  const out: unknown[] = []
  for (const r of await ctx.repo.listRepos()) {
    if (r.name.type !== type) continue
    const head = r.heads.main ?? Object.values(r.heads)[0]
    const c = head != null ? ctx.commit(head) : undefined
    out.push({ _id: head != null ? hexId(head).slice(0, 24) : undefined, id: r.name.id, sha: head != null ? commitHex(head) : undefined, lastModified: c != null ? new Date(c.time).toISOString() : undefined, private: false, downloads: 0, likes: 0, tags: [] })
  }
  return json(req, 200, out, { 'cache-control': REVALIDATE })
}

interface TreeEntry {
  type: 'file' | 'directory'
  oid: string
  size: number
  path: string
  lfs?: { oid: string, size: number, pointerSize: number }
  lastCommit?: { id: string, title: string, date: string }
}

function fileEntry (ctx: HttpContext, res: RevisionInfo, f: FileEntry, expand: boolean): TreeEntry {
  const lfs = lfsPointer(f)
  const e: TreeEntry = { type: 'file', oid: lfs.blobId, size: f.size, path: f.path, lfs: { oid: lfs.sha256, size: f.size, pointerSize: lfs.pointerSize } }
  if (expand) e.lastCommit = lastCommit(ctx, res, f)
  return e
}

function dirEntry (mi: ManifestIndex, p: string): TreeEntry {
  return { type: 'directory', oid: mi.dirOids().get(p) ?? '0'.repeat(40), size: 0, path: p }
}

/** The newest commit on the first-parent line that still has this file unchanged (bounded walk). */
function lastCommit (ctx: HttpContext, res: RevisionInfo, f: FileEntry): { id: string, title: string, date: string } {
  let cur = res.cid
  let c = res.commit
  for (let i = 0; i < 64 && c.parents.length > 0; i++) {
    const parent = c.parents[0]
    let pc
    try { pc = ctx.commit(parent) } catch { break }
    const pf = ctx.manifestIndex({ repo: res.repo, cid: parent, commit: pc }).files.get(f.path)
    if (pf == null || !pf.cid.equals(f.cid)) break
    cur = parent
    c = pc
  }
  return { id: commitHex(cur), title: c.message.split('\n')[0], date: new Date(c.time).toISOString() }
}

/** GET /api/{type}s/{repo}/tree/{rev}[/{path}]?recursive=&expand=&cursor=&limit= */
export async function tree (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, id: string, rev: string, dirPath: string, query: URLSearchParams): Promise<HttpResponse> {
  const res = await ctx.resolveRev(fullName(type, id), rev)
  const mi = ctx.manifestIndex(res)
  const prefix = checkRepoPath(dirPath).join('/')
  const recursive = isTrue(query.get('recursive'))
  const expand = isTrue(query.get('expand'))
  const limit = Math.min(TREE_PAGE_MAX, Math.max(1, Number(query.get('limit') ?? TREE_PAGE) || TREE_PAGE))
  const cursorParam = query.get('cursor')
  const cursor = cursorParam == null ? 0 : Number.parseInt(Buffer.from(cursorParam, 'base64url').toString('latin1'), 10)
  if (!Number.isSafeInteger(cursor) || cursor < 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'invalid cursor')

  const exact = mi.files.get(prefix)
  let paths: Array<{ path: string, dir: boolean }>
  if (exact != null && prefix !== '') {
    paths = [{ path: prefix, dir: false }]
  } else {
    const pre = prefix === '' ? '' : prefix + '/'
    if (prefix !== '' && !mi.dirs.includes(prefix)) throw new NotFoundError(`${prefix} not found in ${res.repo.full}@${rev}`, ErrorCode.ENTRY_NOT_FOUND)
    const under = (p: string): boolean => p.startsWith(pre) && (recursive || !p.slice(pre.length).includes('/'))
    paths = [
      ...mi.dirs.filter(under).map(p => ({ path: p, dir: true })),
      ...mi.manifest.files.filter(f => under(f.path)).map(f => ({ path: f.path, dir: false }))
    ]
    // directories first at each level as the Hub does, then by path
    paths.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  }
  const page = paths.slice(cursor, cursor + limit)
  const body = page.map(e => e.dir ? dirEntry(mi, e.path) : fileEntry(ctx, res, mi.files.get(e.path) as FileEntry, expand))
  const headers: Record<string, string> = { 'cache-control': res.immutable ? IMMUTABLE : REVALIDATE, 'x-repo-commit': commitHex(res.cid) }
  if (cursor + limit < paths.length) {
    // the next page names the commit, not the branch, so pages stay consistent if the branch moves
    const q = new URLSearchParams({ recursive: String(recursive), expand: String(expand), limit: String(limit), cursor: Buffer.from(String(cursor + limit), 'latin1').toString('base64url') })
    const base = `${ctx.baseUrl(req.headers)}/api/${type}s/${id}/tree/${commitHex(res.cid)}${prefix === '' ? '' : '/' + prefix.split('/').map(encodeURIComponent).join('/')}`
    headers.link = `<${base}?${q.toString()}>; rel="next"`
  }
  return json(req, 200, body, headers)
}

/** POST /api/{type}s/{repo}/paths-info/{rev} with JSON `{paths, expand}` or a form (`paths=a&paths=b&expand=1`). */
export async function pathsInfo (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, id: string, rev: string): Promise<HttpResponse> {
  const raw = await readBody(req, 1 << 20)
  let paths: unknown
  let expand = false
  const ct = req.headers['content-type'] ?? ''
  if (/^application\/json/i.test(ct) || (!/form-urlencoded/i.test(ct) && raw.length > 0 && raw[0] === 0x7b)) {
    let body: { paths?: unknown, expand?: unknown }
    try { body = JSON.parse(raw.toString('utf8')) } catch { throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'body is not JSON') }
    paths = body?.paths
    expand = body?.expand === true || body?.expand === 'true'
  } else {
    const form = new URLSearchParams(raw.toString('utf8'))
    paths = form.getAll('paths')
    expand = isTrue(form.get('expand'))
  }
  if (typeof paths === 'string') paths = [paths]
  if (!Array.isArray(paths) || paths.length > 10000 || paths.some(p => typeof p !== 'string')) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'paths must be a list of at most 10000 strings')
  }
  const res = await ctx.resolveRev(fullName(type, id), rev)
  const mi = ctx.manifestIndex(res)
  const out: TreeEntry[] = []
  for (const p of paths as string[]) {
    const norm = checkRepoPath(p).join('/')
    const f = mi.files.get(norm)
    if (f != null) out.push(fileEntry(ctx, res, f, expand))
    else if (mi.dirs.includes(norm)) out.push(dirEntry(mi, norm))
  }
  return json(req, 200, out, { 'cache-control': 'no-store', 'x-repo-commit': commitHex(res.cid) })
}

/** GET /api/{type}s/{repo}/refs */
export async function listRefs (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, id: string): Promise<HttpResponse> {
  const name = fullName(type, id)
  await ctx.resolveRev(name, undefined).catch((err: unknown) => {
    if (!(err instanceof TenpakError && err.code === ErrorCode.REVISION_NOT_FOUND)) throw err
  })
  const r = await ctx.repo.refs.repo(parseRepoName(name))
  if (r == null) throw new NotFoundError(`repository ${name} not found`, ErrorCode.REPO_NOT_FOUND)
  const ref = (kind: string) => ([n, cid]: [string, CID]) => ({ name: n, ref: `refs/${kind}/${n}`, targetCommit: commitHex(cid), cid: cid.toString() })
  return json(req, 200, { branches: Object.entries(r.heads).map(ref('heads')), tags: Object.entries(r.tags).map(ref('tags')), converts: [] }, { 'cache-control': 'no-store' })
}

/**
 * PUT /api/{type}s/{repo}/refs/{branch} with `{"commit": CID | 40-hex}`:
 * move (or create) a branch to a stored commit. `If-Match: "<current CID or
 * 40-hex>"` makes it a compare-and-swap (412 when the branch moved);
 * `If-None-Match: *` only creates. Needs a write token.
 */
export async function putRef (ctx: HttpContext, req: HttpRequest, type: RepoTypeValue, id: string, branch: string): Promise<HttpResponse> {
  ctx.auth.require(req.headers.authorization)
  checkRefName(branch)
  const raw = await readBody(req, 64 << 10)
  let body: { commit?: unknown }
  try { body = JSON.parse(raw.toString('utf8')) } catch { throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'body must be JSON {"commit": "<cid or 40-hex>"}') }
  if (typeof body?.commit !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'body must be JSON {"commit": "<cid or 40-hex>"}')
  const name = fullName(type, id)
  const repoName = parseRepoName(name)

  let target: CID
  if (/^[0-9a-f]{40}$/.test(body.commit)) {
    target = (await ctx.resolveRev(name, body.commit)).cid
  } else {
    target = parseCid(body.commit)
    if (target.code !== Codec.DAG_CBOR || !ctx.repo.blocks.has(target)) throw new NotFoundError(`commit ${body.commit} is not stored`, ErrorCode.REVISION_NOT_FOUND)
    try { ctx.commit(target) } catch (err) { throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${body.commit} is not a commit`, { cause: err }) }
  }

  const cur = await ctx.repo.refs.get(repoName, 'heads', branch)
  const ifMatch = req.headers['if-match']
  const ifNoneMatch = req.headers['if-none-match']
  const tagOf = (c: CID): string[] => [`"${c.toString()}"`, `"${commitHex(c)}"`]
  if (ifMatch != null) {
    const wanted = ifMatch.split(',').map(s => s.trim())
    if (cur == null || (!wanted.includes('*') && !tagOf(cur).some(t => wanted.includes(t)))) {
      throw new HttpError(412, 'PreconditionFailed', `branch ${branch} is at ${cur?.toString() ?? 'nothing'}`)
    }
  }
  if (ifNoneMatch?.trim() === '*' && cur != null) throw new HttpError(412, 'PreconditionFailed', `branch ${branch} exists`)
  try {
    await ctx.repo.setRef(name, 'heads', branch, target, { expected: cur ?? null })
  } catch (err) {
    if (err instanceof TenpakError && err.code === ErrorCode.REF_CONFLICT) throw new HttpError(412, 'PreconditionFailed', err.message)
    throw err
  }
  ctx.invalidate()
  return json(req, cur == null ? 201 : 200, { repo: name, branch, commit: target.toString(), sha: commitHex(target), previous: cur?.toString() ?? null }, { etag: `"${target.toString()}"`, 'cache-control': 'no-store' })
}

function isTrue (v: string | null): boolean {
  return v != null && /^(1|true|yes)$/i.test(v)
}
