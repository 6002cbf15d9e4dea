/**
 * Sync protocol v1 endpoints (docs/formats.md): refs advertisement, "which
 * of these do you lack", pack upload (verified entry by entry before
 * anything is written, idempotent by pack id), ref compare-and-swap with a
 * fast-forward check, and the fetch side (closure listing, "pack these").
 * Every write needs a bearer token (auth.ts).
 */
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable, Transform } from 'node:stream'
import type { HttpContext } from './context.js'
import type { HttpRequest, HttpResponse } from './types.js'
import { HttpError } from './errors.js'
import { json, readBody } from './util.js'
import { parseCid, Codec, isInline, type CID } from '../hash/cid.js'
import { createBlake3 } from '../hash/blake3.js'
import { toHex } from '../util/bytes.js'
import { packObjectKey } from '../store/block-store.js'
import { importPackFile } from '../store/pack-file.js'
import { parseRepoName, checkRefName } from '../repo/names.js'
import { TenpakError, ErrorCode } from '../errors.js'
import { localClosure, isAncestor, refsToWire, orderBasesFirst, type ObjectRef } from '../sync/objects.js'
import { writeTransferPack, transferTmpPath } from '../sync/transfer-pack.js'

/** Version of the sync protocol these endpoints speak. */
export const SYNC_PROTOCOL_VERSION = 1
/** Largest pack accepted in one upload. */
export const MAX_SYNC_PACK_BYTES = 256 * 1024 * 1024
/** Most CIDs in one has/fetch request. */
export const MAX_SYNC_CIDS = 100_000
/** Largest pack built for one fetch (stored bytes asked for). */
export const MAX_FETCH_BYTES = 256 * 1024 * 1024

const JSON_LIMIT = 16 << 20
const PACK_ID = /^[0-9a-f]{64}$/

/** Route /v1/sync/… ; `rest` is the path after `sync`. */
export async function syncRoute (ctx: HttpContext, req: HttpRequest, rest: string[]): Promise<HttpResponse> {
  const [what, arg] = rest
  if (rest.length === 1 && what === 'refs' && (req.method === 'GET' || req.method === 'HEAD')) return await advertiseRefs(ctx, req)
  if (rest.length === 1 && what === 'refs' && req.method === 'POST') return await updateRef(ctx, req)
  if (rest.length === 1 && what === 'has' && req.method === 'POST') return await has(ctx, req)
  if (rest.length === 1 && what === 'packs' && req.method === 'POST') return await receivePack(ctx, req)
  if (rest.length === 2 && what === 'packs' && (req.method === 'HEAD' || req.method === 'GET')) return await packStatus(ctx, req, arg)
  if (rest.length === 1 && what === 'closure' && req.method === 'POST') return await closure(ctx, req)
  if (rest.length === 1 && what === 'fetch' && req.method === 'POST') return await fetchPack(ctx, req)
  if (['refs', 'has', 'packs', 'closure', 'fetch'].includes(what ?? '') && rest.length <= 2) throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed here`)
  throw new HttpError(404, 'NotFound', 'no such sync route')
}

const noStore = { 'cache-control': 'no-store' }

async function jsonBody<T> (req: HttpRequest): Promise<T> {
  const raw = await readBody(req, JSON_LIMIT)
  try { return JSON.parse(raw.toString('utf8')) as T } catch { throw new HttpError(400, 'BadRequest', 'body must be JSON') }
}

function cidList (v: unknown, what: string): CID[] {
  if (!Array.isArray(v) || v.length > MAX_SYNC_CIDS || v.some(x => typeof x !== 'string')) throw new HttpError(400, 'BadRequest', `${what} must be a list of at most ${MAX_SYNC_CIDS} CID strings`)
  try { return (v as string[]).map(s => parseCid(s)) } catch { throw new HttpError(400, 'BadRequest', `${what} holds an invalid CID`) }
}

async function advertiseRefs (ctx: HttpContext, req: HttpRequest): Promise<HttpResponse> {
  const repos = (await ctx.repo.listRepos()).map(r => ({
    repo: r.name.full,
    heads: Object.fromEntries(Object.entries(r.heads).map(([k, v]) => [k, v.toString()])),
    tags: Object.fromEntries(Object.entries(r.tags).map(([k, v]) => [k, v.toString()]))
  }))
  return json(req, 200, { version: SYNC_PROTOCOL_VERSION, repos }, noStore)
}

async function has (ctx: HttpContext, req: HttpRequest): Promise<HttpResponse> {
  const body = await jsonBody<{ cids?: unknown }>(req)
  const cids = cidList(body?.cids, 'cids')
  return json(req, 200, { missing: cids.filter(c => !ctx.repo.blocks.has(c)).map(String) }, noStore)
}

async function packStatus (ctx: HttpContext, req: HttpRequest, id: string | undefined): Promise<HttpResponse> {
  if (id == null || !PACK_ID.test(id)) throw new HttpError(400, 'BadRequest', 'pack id must be 64 hex digits')
  const st = await ctx.repo.blocks.backend.stat(packObjectKey(id))
  if (st == null) return { status: 404, headers: { ...noStore, 'content-length': '0' } }
  return json(req, 200, { packId: id, size: st.size }, noStore)
}

/** Stream the body to a temp file, hashing it; bounded by MAX_SYNC_PACK_BYTES. */
async function bodyToFile (req: HttpRequest, file: string): Promise<{ packId: string, size: number }> {
  const declared = req.headers['content-length']
  if (declared != null && Number(declared) > MAX_SYNC_PACK_BYTES) throw new HttpError(413, 'PayloadTooLarge', `pack over ${MAX_SYNC_PACK_BYTES} bytes`)
  const h = createBlake3()
  let size = 0
  const src = req.body == null ? Readable.from([]) : req.body instanceof Uint8Array ? Readable.from([req.body]) : Readable.from(req.body)
  const count = new Transform({
    transform (chunk: Buffer, _enc, cb) {
      size += chunk.length
      if (size > MAX_SYNC_PACK_BYTES) { cb(new HttpError(413, 'PayloadTooLarge', `pack over ${MAX_SYNC_PACK_BYTES} bytes`)); return }
      h.update(chunk)
      cb(null, chunk)
    }
  })
  await pipeline(src, count, fs.createWriteStream(file))
  return { packId: toHex(h.digest()), size }
}

async function receivePack (ctx: HttpContext, req: HttpRequest): Promise<HttpResponse> {
  ctx.auth.require(req.headers.authorization)
  const tmpDir = path.join(ctx.repo.dir, 'tmp')
  fs.mkdirSync(tmpDir, { recursive: true })
  const file = transferTmpPath(tmpDir, 'recv')
  try {
    const { packId, size } = await bodyToFile(req, file)
    return await ctx.repo.exclusive(async () => {
      if (await ctx.repo.blocks.backend.stat(packObjectKey(packId)) != null) {
        return json(req, 200, { packId, size, entries: 0, duplicate: true }, noStore)
      }
      let imported
      try {
        // verifies every entry (deltas against bases in the pack or the store) before writing
        imported = await importPackFile(file, ctx.repo.blocks, tmpDir)
      } catch (err) {
        if (err instanceof TenpakError && err.code !== ErrorCode.DISK_FULL && err.code !== ErrorCode.IO) {
          throw new HttpError(422, 'BadPack', `pack refused: ${err.message}`)
        }
        throw err
      }
      if (imported.packId !== packId) throw new HttpError(500, 'InternalError', 'pack id changed while importing')
      return json(req, 201, { packId, size, entries: imported.entries }, noStore)
    })
  } finally {
    fs.rmSync(file, { force: true })
  }
}

async function updateRef (ctx: HttpContext, req: HttpRequest): Promise<HttpResponse> {
  ctx.auth.require(req.headers.authorization)
  // a tag is named by `tag` instead of `branch`, so a server without tag support refuses it (400) rather than making a branch
  const body = await jsonBody<{ repo?: unknown, branch?: unknown, tag?: unknown, old?: unknown, new?: unknown, force?: unknown }>(req)
  const refName = body?.branch ?? body?.tag
  if (typeof body?.repo !== 'string' || typeof refName !== 'string' || (body.branch != null && body.tag != null) || typeof body.new !== 'string' || (body.old != null && typeof body.old !== 'string')) {
    throw new HttpError(400, 'BadRequest', 'body must be {"repo", "branch" | "tag", "old": cid|null, "new": cid, "force"?}')
  }
  const kind = body.tag != null ? 'tags' : 'heads'
  const name = parseRepoName(body.repo)
  const branch = checkRefName(refName)
  let target: CID
  let old: CID | null
  try {
    target = parseCid(body.new)
    old = typeof body.old === 'string' ? parseCid(body.old) : null
  } catch { throw new HttpError(400, 'BadRequest', 'invalid CID') }
  if (target.code !== Codec.DAG_CBOR) throw new HttpError(400, 'BadRequest', 'new must be a commit')
  const blocks = ctx.repo.blocks
  await ctx.repo.exclusive(async () => {
    // the whole history must be here before a ref may point at it (checked
    // under the writer lock, so a gc cannot remove it before the ref is set)
    try {
      localClosure(blocks, [target])
    } catch (err) {
      throw new HttpError(400, 'IncompleteObjects', `cannot move ${name.full}@${branch}: ${(err as Error).message}`)
    }
    const cur = await ctx.repo.refs.get(name, kind, branch)
    if ((cur == null) !== (old == null) || (cur != null && old != null && !cur.equals(old))) {
      throw new HttpError(409, 'RefConflict', `${name.full}@${branch} is at ${cur?.toString() ?? 'nothing'}, not ${old?.toString() ?? 'nothing'}`)
    }
    if (kind === 'tags' && cur != null && body.force !== true) {
      throw new HttpError(409, 'RefConflict', `${name.full} tag ${branch} exists (at ${cur.toString()}); moving a tag needs force`)
    }
    if (kind === 'heads' && cur != null && body.force !== true && !isAncestor(blocks, cur, target)) {
      throw new HttpError(409, 'NonFastForward', `non-fast-forward: ${name.full}@${branch} is at ${cur.toString()}, which is not in the history of ${target.toString()}`)
    }
    await ctx.repo.refs.cas(name, kind, branch, cur, target)
  })
  ctx.invalidate()
  return json(req, 200, { repo: name.full, branch, kind, commit: target.toString(), previous: old?.toString() ?? null }, noStore)
}

async function closure (ctx: HttpContext, req: HttpRequest): Promise<HttpResponse> {
  const body = await jsonBody<{ roots?: unknown }>(req)
  const roots = cidList(body?.roots, 'roots')
  for (const r of roots) if (!ctx.repo.blocks.has(r)) throw new HttpError(404, 'NotFound', `${r.toString()} is not stored here`)
  let list: ObjectRef[]
  try { list = localClosure(ctx.repo.blocks, roots) } catch (err) { throw new HttpError(404, 'NotFound', (err as Error).message) }
  return json(req, 200, { objects: refsToWire(list) }, noStore)
}

async function fetchPack (ctx: HttpContext, req: HttpRequest): Promise<HttpResponse> {
  const body = await jsonBody<{ cids?: unknown }>(req)
  const cids = cidList(body?.cids, 'cids')
  const blocks = ctx.repo.blocks
  const refs: ObjectRef[] = []
  let total = 0
  for (const c of cids) {
    if (isInline(c)) continue // its bytes are its CID
    const loc = blocks.location(c)
    if (loc == null) throw new HttpError(404, 'NotFound', `${c.toString()} is not stored here`)
    total += loc.storedLength
    refs.push(loc.base != null ? { cid: c, size: loc.storedLength, base: loc.base } : { cid: c, size: loc.storedLength })
  }
  if (total > MAX_FETCH_BYTES) throw new HttpError(413, 'PayloadTooLarge', `asked for ${total} bytes; at most ${MAX_FETCH_BYTES} per request`)
  const tmpDir = path.join(ctx.repo.dir, 'tmp')
  // packs in a bucket: fetch the entries with coalesced GETs, not one blocking GET each
  if (blocks.remote) await blocks.prefetch(cids)
  // the client lists only what it lacks, so a base it did not ask for is one it holds: deltas stay deltas
  const pack = writeTransferPack(blocks, tmpDir, orderBasesFirst(refs), () => true)
  const stream = fs.createReadStream(pack.file)
  // the file is unlinked once open: the stream keeps reading it, nothing is left behind
  await new Promise<void>((resolve, reject) => { stream.once('open', () => resolve()); stream.once('error', reject) })
  fs.rmSync(pack.file, { force: true })
  return {
    status: 200,
    headers: { 'content-type': 'application/vnd.tenpak.pack', 'content-length': String(pack.size), 'x-tenpak-pack-id': pack.packId, ...noStore },
    body: stream as AsyncIterable<Uint8Array>
  }
}
