/**
 * A subset of the IPFS trustless gateway (`/ipfs/{cid}[/{path}]`):
 * `?format=raw` / `Accept: application/vnd.ipld.raw` answers one block,
 * `?format=car` / `Accept: application/vnd.ipld.car` a CAR v1 stream of the
 * DAG under the CID (depth-first, blocks in link order, duplicates allowed),
 * written with @ipld/car's CarWriter. Without a format, a UnixFS file is
 * served as its bytes, with ranges. Everything here is immutable.
 */
import * as dagPb from '@ipld/dag-pb'
import { CarWriter } from '@ipld/car/writer'
import { CID, Codec, parseCid } from '../hash/cid.js'
import { cborLinks } from '../objects/commit.js'
import { decodeNode } from '../objects/unixfs.js'
import { BadInputError, ErrorCode, NotFoundError } from '../errors.js'
import { serveRepresentation } from './range.js'
import { HttpError } from './errors.js'
import { IMMUTABLE } from './util.js'
import type { HttpContext } from './context.js'
import type { HttpRequest, HttpResponse } from './types.js'
import type { ChunkSource } from './chunk-source.js'

const RAW_TYPE = 'application/vnd.ipld.raw'
const CAR_TYPE = 'application/vnd.ipld.car'

/** Which answer the client asked for: format= wins over Accept. */
function wantedFormat (req: HttpRequest, query: URLSearchParams): 'raw' | 'car' | 'file' {
  const f = query.get('format')
  if (f != null) {
    if (f === 'raw' || f === 'car') return f
    throw new HttpError(400, 'BadRequest', `unsupported format ${JSON.stringify(f.slice(0, 40))} (raw or car)`)
  }
  const accept = req.headers.accept ?? ''
  for (const part of accept.split(',')) {
    const type = part.split(';')[0].trim().toLowerCase()
    if (type === RAW_TYPE) return 'raw'
    if (type === CAR_TYPE) return 'car'
  }
  return 'file'
}

/** Logical size of a UnixFS file rooted at `cid` (raw leaf or dag-pb file node). */
export function unixfsFileSize (chunks: ChunkSource, cid: CID): number {
  if (cid.code === Codec.RAW) return chunks.get(cid).length
  if (cid.code !== Codec.DAG_PB) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${cid.toString()} is not a UnixFS file`)
  const node = decodeNode(cid, chunks.get(cid))
  if (node.type !== 'file' && node.type !== 'raw') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${cid.toString()} is a UnixFS ${node.type}, not a file`)
  return node.blockSizes.reduce((s, n) => s + n, node.data?.length ?? 0)
}

/** GET|HEAD /ipfs/{cid}[/{path}] */
export async function ipfs (ctx: HttpContext, req: HttpRequest, segs: string[], query: URLSearchParams): Promise<HttpResponse> {
  if (segs.length === 0) throw new HttpError(400, 'BadRequest', 'missing CID')
  const root = parseCid(segs[0])
  // resolve a path through UnixFS directories; the blocks on the way go into a CAR
  const pathBlocks: CID[] = []
  let cid = root
  for (const name of segs.slice(1)) {
    if (cid.code !== Codec.DAG_PB) throw new NotFoundError(`${name} not found under ${cid.toString()}`, ErrorCode.PATH_NOT_FOUND)
    const node = decodeNode(cid, ctx.chunks.get(cid))
    if (node.type !== 'directory') throw new NotFoundError(`${name} not found under ${cid.toString()}`, ErrorCode.PATH_NOT_FOUND)
    const link = node.links.find(l => l.name === name)
    if (link == null) throw new NotFoundError(`${name} not found under ${cid.toString()}`, ErrorCode.PATH_NOT_FOUND)
    pathBlocks.push(cid)
    cid = link.cid
  }
  const target = cid
  const format = wantedFormat(req, query)
  const ipfsPath = '/ipfs/' + segs.map(encodeURIComponent).join('/')
  const common = { 'cache-control': IMMUTABLE, 'x-ipfs-path': ipfsPath, 'x-content-type-options': 'nosniff', vary: 'Accept' }

  if (format === 'raw') {
    const bytes = ctx.chunks.get(target)
    return serveRepresentation(req, {
      size: bytes.length,
      etag: `"${target.toString()}.raw"`,
      contentType: RAW_TYPE,
      headers: { ...common, 'x-ipfs-roots': target.toString(), 'content-disposition': `attachment; filename="${target.toString()}.bin"` },
      read: (r) => [bytes.subarray(r.start, r.end)]
    })
  }

  if (format === 'car') {
    const scope = query.get('dag-scope') ?? 'all'
    if (scope !== 'all' && scope !== 'block' && scope !== 'entity') throw new HttpError(400, 'BadRequest', 'dag-scope must be block, entity or all')
    ctx.chunks.get(target) // 404 before the 200 is sent if the root is absent
    const etag = `"${root.toString()}${segs.length > 1 ? '/' + segs.slice(1).join('/') : ''}.car.${scope}"`
    const headers: Record<string, string> = {
      ...common,
      etag,
      'content-type': `${CAR_TYPE}; version=1; order=dfs; dups=y`,
      'x-ipfs-roots': [...pathBlocks, target].map(c => c.toString()).join(','),
      'content-disposition': `attachment; filename="${target.toString()}.car"`
    }
    const inm = req.headers['if-none-match']
    if (inm != null && inm.split(',').map(s => s.trim().replace(/^W\//, '')).includes(etag)) return { status: 304, headers }
    return { status: 200, headers, body: req.method === 'HEAD' ? undefined : carStream(ctx.chunks, root, pathBlocks, target, scope === 'block') }
  }

  // a plain gateway read: the bytes of a UnixFS file
  let size: number
  try {
    size = unixfsFileSize(ctx.chunks, target)
  } catch (err) {
    if (err instanceof BadInputError) throw new HttpError(406, 'NotAcceptable', `${target.toString()} is not a file: ask for ?format=car or ?format=raw`)
    throw err
  }
  return serveRepresentation(req, {
    size,
    etag: `"${target.toString()}"`,
    contentType: 'application/octet-stream',
    headers: { ...common, 'x-ipfs-roots': target.toString() },
    read: (r) => ctx.chunks.file(target, size, r)
  })
}

/** Blocks of the DAG under `cid`, depth-first in link order, each verified on read. */
export function * dagBlocks (chunks: ChunkSource, cid: CID, onlyRoot = false): Generator<{ cid: CID, bytes: Uint8Array }> {
  const stack: CID[] = [cid]
  while (stack.length > 0) {
    const c = stack.pop() as CID
    const bytes = chunks.get(c)
    yield { cid: c, bytes }
    if (onlyRoot) return
    let links: CID[] = []
    if (c.code === Codec.DAG_PB) links = dagPb.decode(bytes).Links.map(l => l.Hash)
    else if (c.code === Codec.DAG_CBOR) links = cborLinks(bytes)
    for (let i = links.length - 1; i >= 0; i--) stack.push(links[i])
  }
}

/** A CAR v1 stream: the path blocks, then the DAG under `target`; roots = [root]. */
async function * carStream (chunks: ChunkSource, root: CID, pathBlocks: CID[], target: CID, onlyRoot: boolean): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([root])
  let failure: unknown
  const feed = (async () => {
    try {
      for (const c of pathBlocks) await writer.put({ cid: c, bytes: chunks.get(c) })
      for (const b of dagBlocks(chunks, target, onlyRoot)) await writer.put(b)
    } catch (err) {
      failure = err
    } finally {
      await writer.close()
    }
  })()
  yield * out
  await feed
  // a CAR cut short by a missing or corrupt block must not look complete
  if (failure != null) throw failure
}
