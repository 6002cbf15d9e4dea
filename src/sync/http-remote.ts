/**
 * The HTTP peer transport: another `tenpak serve` speaking Sync protocol v1
 * (docs/formats.md). Writes carry `Authorization: Bearer <token>`; pack
 * uploads and downloads stream through files, never whole in memory.
 */
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { pipeline } from 'node:stream/promises'
import { parseCid, type CID } from '../hash/cid.js'
import { TenpakError, NotFoundError, BadInputError, ErrorCode, type ErrorCodeValue } from '../errors.js'
import type { AbortOptions } from '../util/options.js'
import { orderBasesFirst, type ObjectRef } from './objects.js'
import type { Remote, RemoteRepoRefs, RefUpdate } from './remote.js'

/** Options for {@link createHttpRemote}. */
export interface HttpRemoteOptions {
  /** base URL, e.g. http://127.0.0.1:7070 */
  url: string
  /** bearer token for writes */
  token?: string
}

interface Answer { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

const STATUS_CODE: Record<number, ErrorCodeValue> = { 400: ErrorCode.BAD_PACK, 401: ErrorCode.BAD_ARGUMENT, 403: ErrorCode.BAD_ARGUMENT, 404: ErrorCode.NOT_FOUND, 409: ErrorCode.REF_CONFLICT, 412: ErrorCode.REF_CONFLICT, 413: ErrorCode.BAD_ARGUMENT }

/** A Remote over HTTP. */
export function createHttpRemote (opts: HttpRemoteOptions): Remote {
  const base = opts.url.replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s/]+/.test(base)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `not an http(s) URL: ${opts.url}`)
  const agent = base.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true })

  const request = async (method: string, p: string, body: { json?: unknown, file?: { path: string, size: number } } = {}, options: AbortOptions & { toFile?: string } = {}): Promise<Answer> => {
    const url = new URL(base + p)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (opts.token != null && opts.token !== '') headers.authorization = `Bearer ${opts.token}`
    let payload: Buffer | undefined
    if (body.json !== undefined) {
      payload = Buffer.from(JSON.stringify(body.json))
      headers['content-type'] = 'application/json'
      headers['content-length'] = String(payload.length)
    } else if (body.file != null) {
      headers['content-type'] = 'application/vnd.tenpak.pack'
      headers['content-length'] = String(body.file.size)
    }
    const lib = url.protocol === 'https:' ? https : http
    return await new Promise<Answer>((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent, signal: options.signal }, res => {
        const status = res.statusCode ?? 0
        if (options.toFile != null && status === 200) {
          pipeline(res, fs.createWriteStream(options.toFile)).then(() => { resolve({ status, headers: res.headers, body: Buffer.alloc(0) }) }, reject)
          return
        }
        const parts: Buffer[] = []
        res.on('data', (d: Buffer) => parts.push(d))
        res.on('end', () => { resolve({ status, headers: res.headers, body: Buffer.concat(parts) }) })
        res.on('error', reject)
      })
      req.on('error', (err) => { reject(new TenpakError(ErrorCode.IO, `${method} ${url.href}: ${err.message}`, { cause: err })) })
      if (payload != null) req.end(payload)
      else if (body.file != null) pipeline(fs.createReadStream(body.file.path), req).catch(reject)
      else req.end()
    })
  }

  const fail = (a: Answer, what: string): never => {
    let msg = ''
    try { msg = (JSON.parse(a.body.toString('utf8')) as { error?: string }).error ?? '' } catch {}
    const code = STATUS_CODE[a.status] ?? ErrorCode.IO
    const hub = a.headers['x-error-code']
    throw new TenpakError(code, `${what}: ${base} answered ${a.status}${hub != null ? ` ${String(hub)}` : ''}${msg !== '' ? `: ${msg}` : ''}`)
  }

  const jsonOf = <T>(a: Answer): T => JSON.parse(a.body.toString('utf8')) as T

  return {
    url: base,
    async refs (options = {}) {
      const a = await request('GET', '/v1/sync/refs', {}, options)
      if (a.status !== 200) fail(a, 'listing refs')
      return jsonOf<{ repos: RemoteRepoRefs[] }>(a).repos
    },
    async missing (cids, options = {}) {
      const a = await request('POST', '/v1/sync/has', { json: { cids: cids.map(c => c.toString()) } }, options)
      if (a.status !== 200) fail(a, 'asking which objects are missing')
      return jsonOf<{ missing: string[] }>(a).missing.map(s => parseCid(s))
    },
    async hasPack (packId, options = {}) {
      const a = await request('HEAD', `/v1/sync/packs/${packId}`, {}, options)
      if (a.status === 200) return true
      if (a.status === 404) return false
      return fail(a, 'checking a pack')
    },
    async sendPack (file, packId, size, options = {}) {
      const a = await request('POST', '/v1/sync/packs', { file: { path: file, size } }, options)
      if (a.status !== 200 && a.status !== 201) fail(a, `sending pack ${packId}`)
      const got = jsonOf<{ packId: string }>(a).packId
      if (got !== packId) throw new TenpakError(ErrorCode.CORRUPT, `pack ${packId} arrived as ${got}`)
    },
    async updateRef (u: RefUpdate, options = {}) {
      const a = await request('POST', '/v1/sync/refs', { json: { repo: u.repo, [u.kind === 'tags' ? 'tag' : 'branch']: u.branch, old: u.old?.toString() ?? null, new: u.new.toString(), force: u.force === true } }, options)
      if (a.status !== 200) fail(a, `updating ${u.repo} ${u.kind === 'tags' ? 'tag ' : '@'}${u.branch}`)
    },
    async closure (roots, _local, options = {}) {
      const a = await request('POST', '/v1/sync/closure', { json: { roots: roots.map(c => c.toString()) } }, options)
      if (a.status === 404) throw new NotFoundError(`${base} does not hold ${roots.map(String).join(', ')}`)
      if (a.status !== 200) fail(a, 'listing objects')
      const objs = jsonOf<{ objects: Array<[string, number, string | null]> }>(a).objects
      return orderBasesFirst(objs.map(([c, size, b]): ObjectRef => b != null ? { cid: parseCid(c), size, base: parseCid(b) } : { cid: parseCid(c), size }))
    },
    async fetchPack (refs, file, options = {}) {
      const a = await request('POST', '/v1/sync/fetch', { json: { cids: refs.map(r => r.cid.toString()) } }, { ...options, toFile: file })
      if (a.status !== 200) fail(a, 'fetching a pack')
    },
    async close () { agent.destroy() }
  }
}

export type { CID }
