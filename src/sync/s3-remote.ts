/**
 * An S3 bucket as a remote (docs/formats.md, "Sync protocol v1", S3 layout).
 * Packs are immutable objects under `packs/`, each carrying its own index in
 * its footer and, beside it, a copy of that index (`<id>.idx`, written after
 * the pack) that `serve --store s3://` reads with one GET; what the bucket
 * holds is learned from the footers (cached per remote, refreshed
 * incrementally). Refs are small objects under
 * `refs/` updated with conditional PUTs (If-Match on the ETag read, or
 * If-None-Match: * for a new ref); see updateRef for servers that ignore them.
 * A bucket has no server-side verifier: the puller verifies every entry.
 */
import { PutObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { parseCid, verifyBlock, Codec, type CID } from '../hash/cid.js'
import { decodeChunk } from '../codec/codecs.js'
import type { Backend } from '../store/backend.js'
import { MAX_DELTA_DEPTH, packObjectKey, packIndexObjectKey } from '../store/block-store.js'
import { openPackFile, writePackFile, readPackTail, type EncodedEntry } from '../store/pack-file.js'
import type { PackEntry } from '../store/pack-format.js'
import { readPackIndex } from '../repo/verify.js'
import { parseRepoName, checkRefName } from '../repo/names.js'
import { TenpakError, NotFoundError, IntegrityError, ErrorCode } from '../errors.js'
import { isS3NotFound, type S3Location } from '../store/s3-backend.js'
import { nodeLinks, orderBasesFirst, type ObjectRef } from './objects.js'
import type { Remote, RemoteRepoRefs, RefUpdate } from './remote.js'

/** Ranged GETs of one pack are merged when the gap between entries is at most this. */
const COALESCE_GAP = 1 << 20

const PACK_KEY = /^packs\/[0-9a-f]{2}\/([0-9a-f]{64})\.pack$/

/** An S3 remote, plus what `serve --store s3://` needs beyond the Remote interface. */
export interface S3Remote extends Remote {
  /** read the indexes of packs not seen yet; returns how many were new */
  refreshIndex: () => Promise<number>
}

/** A Remote over `backend` (an S3 backend, usually wrapped with retries) and its client for conditional ref writes. */
export function createS3Remote (opts: { backend: Backend, client: S3Client, location: S3Location }): S3Remote {
  const { backend, client, location } = opts
  const url = `s3://${location.bucket}${location.prefix !== '' ? '/' + location.prefix : ''}`
  const objKey = (key: string): string => location.prefix === '' ? key : `${location.prefix}/${key}`
  const where = new Map<string, { key: string, entry: PackEntry }>()
  const seenPacks = new Set<string>()

  const addPack = (key: string, entries: PackEntry[]): void => {
    seenPacks.add(key)
    for (const e of entries) if (!where.has(e.cid.toString())) where.set(e.cid.toString(), { key, entry: e })
  }

  const refreshIndex = async (): Promise<number> => {
    let n = 0
    for await (const key of backend.list('packs/')) {
      if (seenPacks.has(key) || !PACK_KEY.test(key)) continue
      addPack(key, await readPackIndex(backend, key))
      n++
    }
    return n
  }
  let loaded: Promise<number> | undefined
  const ensureIndex = async (): Promise<void> => { loaded ??= refreshIndex(); await loaded }

  const refKey = (repo: string, kind: 'heads' | 'tags', name: string): string => `refs/${parseRepoName(repo).full}/@${kind}/${checkRefName(name)}`

  const readRef = async (key: string): Promise<{ cid: CID, etag?: string } | undefined> => {
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: objKey(key) }))
      const text = (await (r.Body as { transformToString: () => Promise<string> }).transformToString()).trim()
      return { cid: parseCid(text), etag: r.ETag }
    } catch (err) {
      if (isS3NotFound(err)) return undefined
      throw err
    }
  }

  const getBytes = async (cid: CID, local: { has: (c: CID) => boolean, getSync: (c: CID) => Uint8Array }, memo: Map<string, Uint8Array>, depth = 0): Promise<Uint8Array> => {
    if (local.has(cid)) return local.getSync(cid)
    const k = cid.toString()
    const hit = memo.get(k)
    if (hit != null) return hit
    const w = where.get(k)
    if (w == null) throw new NotFoundError(`${url} does not hold ${k}`)
    if (depth > MAX_DELTA_DEPTH) throw new IntegrityError(`delta chain of ${k} is too deep`, ErrorCode.CORRUPT)
    const data = await backend.load(w.key, { offset: w.entry.offset, length: w.entry.storedLength })
    const base = w.entry.base != null ? await getBytes(w.entry.base, local, memo, depth + 1) : undefined
    const bytes = decodeChunk(w.entry.codec, data, w.entry.logicalLength, base)
    verifyBlock(cid, bytes)
    if (cid.code !== Codec.RAW && memo.size < 4096) memo.set(k, bytes)
    return bytes
  }

  return {
    url,
    refreshIndex,
    async refs () {
      const byRepo = new Map<string, RemoteRepoRefs>()
      for await (const key of backend.list('refs/')) {
        const m = /^refs\/((?:models|datasets)\/.+?)\/@(heads|tags)\/(.+)$/.exec(key)
        if (m == null || m[3].includes('.tmp')) continue
        const ref = await readRef(key)
        if (ref == null) continue
        let r = byRepo.get(m[1])
        if (r == null) { r = { repo: m[1], heads: {}, tags: {} }; byRepo.set(m[1], r) }
        r[m[2] as 'heads' | 'tags'][m[3]] = ref.cid.toString()
      }
      return [...byRepo.values()].sort((a, b) => a.repo < b.repo ? -1 : 1)
    },
    async missing (cids) {
      await ensureIndex()
      return cids.filter(c => !where.has(c.toString()))
    },
    async hasPack (packId) {
      // a pack whose index copy is missing (an interrupted push) is sent again, and its copy with it
      return await backend.stat(packObjectKey(packId)) != null && await backend.stat(packIndexObjectKey(packId)) != null
    },
    async sendPack (file, packId, _size, options = {}) {
      const pack = openPackFile(file)
      const entries = pack.entries
      pack.close()
      const tail = readPackTail(file)
      await backend.save(packObjectKey(packId), { path: file }, options)
      // after the pack: an index copy always names a pack that is there
      await backend.save(packIndexObjectKey(packId), tail, options)
      addPack(packObjectKey(packId), entries)
    },
    async updateRef (u: RefUpdate) {
      const kind = u.kind ?? 'heads'
      const key = refKey(u.repo, kind, u.branch)
      const cur = await readRef(key)
      if (kind === 'tags' && cur != null && u.force !== true) throw new TenpakError(ErrorCode.REF_CONFLICT, `${url} ${u.repo} tag ${u.branch} exists (at ${cur.cid.toString()}); moving a tag needs force`)
      const same = (cur == null && u.old == null) || (cur != null && u.old != null && cur.cid.equals(u.old))
      if (!same) throw new TenpakError(ErrorCode.REF_CONFLICT, `${url} ${u.repo}@${u.branch} is at ${cur?.cid.toString() ?? 'nothing'}, not ${u.old?.toString() ?? 'nothing'}`)
      try {
        await client.send(new PutObjectCommand({
          Bucket: location.bucket,
          Key: objKey(key),
          Body: u.new.toString() + '\n',
          ContentType: 'text/plain',
          ...(cur?.etag != null ? { IfMatch: cur.etag } : { IfNoneMatch: '*' })
        }))
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
        if (status === 412 || status === 409) throw new TenpakError(ErrorCode.REF_CONFLICT, `${url} ${u.repo}@${u.branch} moved during the update`, { cause: err })
        throw err
      }
    },
    async closure (roots, local) {
      await ensureIndex()
      const memo = new Map<string, Uint8Array>()
      const out = new Map<string, ObjectRef>()
      const seen = new Set<string>()
      const stack = [...roots]
      while (stack.length > 0) {
        const cid = stack.pop() as CID
        const k = cid.toString()
        if (seen.has(k)) continue
        seen.add(k)
        const w = where.get(k)
        if (!local.has(cid)) {
          if (w == null) throw new NotFoundError(`${url} does not hold ${k}`)
          const ref: ObjectRef = { cid, size: w.entry.storedLength }
          if (w.entry.base != null) { ref.base = w.entry.base; stack.push(w.entry.base) }
          out.set(k, ref)
        }
        if (cid.code === Codec.RAW) continue
        for (const l of nodeLinks(cid, await getBytes(cid, local, memo))) stack.push(l)
      }
      return orderBasesFirst([...out.values()])
    },
    async fetchPack (refs, file, options = {}) {
      await ensureIndex()
      const data = new Map<string, Uint8Array>()
      const byPack = new Map<string, PackEntry[]>()
      for (const r of refs) {
        const w = where.get(r.cid.toString())
        if (w == null) throw new NotFoundError(`${url} does not hold ${r.cid.toString()}`)
        let l = byPack.get(w.key)
        if (l == null) { l = []; byPack.set(w.key, l) }
        l.push(w.entry)
      }
      for (const [key, list] of byPack) {
        list.sort((a, b) => a.offset - b.offset)
        for (let i = 0; i < list.length;) {
          let j = i + 1
          let end = list[i].offset + list[i].storedLength
          while (j < list.length && list[j].offset - end <= COALESCE_GAP) { end = Math.max(end, list[j].offset + list[j].storedLength); j++ }
          const start = list[i].offset
          const buf = await backend.load(key, { offset: start, length: end - start }, options)
          for (let x = i; x < j; x++) data.set(list[x].cid.toString(), buf.subarray(list[x].offset - start, list[x].offset - start + list[x].storedLength))
          i = j
        }
      }
      const entries: EncodedEntry[] = refs.map(r => {
        const e = (where.get(r.cid.toString()) as { entry: PackEntry }).entry
        return { cid: e.cid, codec: e.codec, data: data.get(r.cid.toString()) as Uint8Array, logicalLength: e.logicalLength, base: e.base }
      })
      writePackFile(file, entries)
    },
    async close () { client.destroy() }
  }
}
