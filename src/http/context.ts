/**
 * What every route shares: the repo, verified chunk reads, write auth, and
 * small caches of immutable things (decoded manifests by CID, 40-hex/CID
 * revisions already resolved). Branch and tag names are looked up in the
 * refs on every request, so a moved branch is seen at once.
 */
import { createHash } from 'node:crypto'
import type { Repo, Resolved } from '../repo/repo.js'
import { commitHex } from '../repo/repo.js'
import { parseRepoName } from '../repo/names.js'
import { CID, Codec, parseCid } from '../hash/cid.js'
import { decodeCommit, decodeManifest, type Commit, type FileEntry, type Manifest } from '../objects/commit.js'
import { decodeNode } from '../objects/unixfs.js'
import { NotFoundError, BadInputError, ErrorCode } from '../errors.js'
import { toHex } from '../util/bytes.js'
import type { ChunkSource } from './chunk-source.js'
import type { TokenCheck } from './auth.js'

/** A revision resolved for a request. */
export interface RevisionInfo extends Resolved {
  /** the revision was named by content (CID or 40-hex commit id): its answers never change */
  immutable: boolean
}

/** A manifest with lookups by path. */
export interface ManifestIndex {
  manifest: Manifest
  files: Map<string, FileEntry>
  /** every directory path ('' excluded), sorted */
  dirs: string[]
  /** directory path → 40-hex id of its UnixFS node ('' is the root) */
  dirOids: () => Map<string, string>
}

/** Shared state of a handler. */
export interface HttpContext {
  repo: Repo
  chunks: ChunkSource
  auth: TokenCheck
  /** absolute base URL for links (no trailing slash) */
  baseUrl: (headers: Record<string, string | undefined>) => string
  resolveRev: (repo: string, rev: string | undefined) => Promise<RevisionInfo>
  commit: (cid: CID) => Commit
  manifestIndex: (res: Resolved) => ManifestIndex
  /** drop cached revision lookups (after a ref write) */
  invalidate: () => void
  /** most terms in one reconstruction answer */
  maxTerms: number
}

const REV_RE = /^[A-Za-z0-9._\-/]{1,256}$/
const HEX40 = /^[0-9a-f]{40}$/

/** Small LRU map. */
export class Lru<K, V> {
  private readonly map = new Map<K, V>()
  constructor (private readonly max: number) {}
  get (k: K): V | undefined {
    const v = this.map.get(k)
    if (v !== undefined) { this.map.delete(k); this.map.set(k, v) }
    return v
  }

  set (k: K, v: V): void {
    this.map.delete(k)
    this.map.set(k, v)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K)
  }

  clear (): void { this.map.clear() }
}

/** Build the shared context. */
export function createContext (opts: { repo: Repo, chunks: ChunkSource, auth: TokenCheck, publicUrl?: string, maxTerms?: number }): HttpContext {
  const { repo, chunks } = opts
  const manifests = new Lru<string, ManifestIndex>(64)
  const commits = new Lru<string, Commit>(1024)
  const contentRevs = new Lru<string, CID>(4096)

  const commit = (cid: CID): Commit => {
    const k = cid.toString()
    let c = commits.get(k)
    if (c == null) { c = decodeCommit(cid, chunks.get(cid)); commits.set(k, c) }
    return c
  }

  const resolveRev = async (repoStr: string, rev: string | undefined): Promise<RevisionInfo> => {
    const name = parseRepoName(repoStr)
    if (rev != null && (!REV_RE.test(rev) || rev.split('/').some(p => p === '' || p === '.' || p === '..'))) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid revision ${JSON.stringify(rev.slice(0, 80))}`)
    }
    let cid: CID | undefined
    let immutable = false
    const want = rev == null || rev === 'HEAD' ? 'main' : rev
    const contentKey = `${name.full}@${want}`
    const isContentName = HEX40.test(want) || /^b[a-z2-7]{20,}$/.test(want)
    // hot path: one ref file read (or none for a content name seen before);
    // the whole ref listing only when that misses
    if (isContentName) {
      cid = contentRevs.get(contentKey)
      immutable = cid != null
    }
    if (cid == null && !isContentName) {
      cid = await repo.refs.get(name, 'heads', want).catch(() => undefined)
    }
    if (cid == null) {
      const refs = await repo.refs.repo(name)
      if (refs == null) throw new NotFoundError(`repository ${name.full} not found`, ErrorCode.REPO_NOT_FOUND)
      if (rev == null || rev === 'HEAD') {
        cid = Object.hasOwn(refs.heads, 'main') ? refs.heads.main : Object.values(refs.heads)[0]
      } else if (Object.hasOwn(refs.heads, rev)) {
        cid = refs.heads[rev]
      } else if (Object.hasOwn(refs.tags, rev)) {
        cid = refs.tags[rev]
      } else if (isContentName) {
        // content-named: resolved once (a history walk), then remembered
        cid = (await repo.resolve(name.full, rev)).cid
        contentRevs.set(contentKey, cid)
        immutable = true
      }
    }
    if (cid == null) throw new NotFoundError(`revision ${rev ?? 'main'} not found in ${name.full}`, ErrorCode.REVISION_NOT_FOUND)
    if (!repo.blocks.remote) return { repo: name, cid, commit: commit(cid), immutable }
    // remote packs: fetch the commit and its manifest without blocking the event loop
    await repo.blocks.prefetch([cid])
    const c = commit(cid)
    await repo.blocks.prefetch([c.manifest])
    return { repo: name, cid, commit: c, immutable }
  }

  const manifestIndex = (res: Resolved): ManifestIndex => {
    const key = res.commit.manifest.toString()
    let mi = manifests.get(key)
    if (mi != null) return mi
    const manifest = decodeManifest(res.commit.manifest, chunks.get(res.commit.manifest))
    const files = new Map<string, FileEntry>()
    const dirSet = new Set<string>()
    for (const f of manifest.files) {
      files.set(f.path, f)
      const parts = f.path.split('/')
      for (let i = 1; i < parts.length; i++) dirSet.add(parts.slice(0, i).join('/'))
    }
    const tree = res.commit.tree
    let oids: Map<string, string> | undefined
    mi = {
      manifest,
      files,
      dirs: [...dirSet].sort(),
      dirOids: () => {
        if (oids == null) oids = walkDirs(chunks, tree)
        return oids
      }
    }
    manifests.set(key, mi)
    return mi
  }

  return {
    repo,
    chunks,
    auth: opts.auth,
    baseUrl: (headers) => {
      if (opts.publicUrl != null) return opts.publicUrl.replace(/\/+$/, '')
      const host = headers.host
      return `http://${host != null && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(host) ? host : 'localhost'}`
    },
    resolveRev,
    commit,
    manifestIndex,
    invalidate: () => { contentRevs.clear() },
    maxTerms: opts.maxTerms ?? 8192
  }
}

/** Map every directory of a UnixFS tree to the 40-hex form of its CID. */
function walkDirs (chunks: ChunkSource, root: CID): Map<string, string> {
  const out = new Map<string, string>()
  const stack: Array<[string, CID]> = [['', root]]
  while (stack.length > 0) {
    const [p, cid] = stack.pop() as [string, CID]
    out.set(p, hexId(cid))
    const node = decodeNode(cid, chunks.get(cid))
    for (const l of node.links) {
      if (l.cid.code !== Codec.DAG_PB) continue
      const child = decodeNode(l.cid, chunks.get(l.cid))
      if (child.type === 'directory') stack.push([p === '' ? l.name : `${p}/${l.name}`, l.cid])
    }
  }
  return out
}

/** 40-hex id of any CID (first 20 bytes of its digest), as Hub clients expect object ids. */
export function hexId (cid: CID): string {
  return commitHex(cid)
}

/**
 * The git blob id of the Git LFS pointer that would stand for a file on the
 * Hub: tenpak serves every file as an LFS file (its `lfs.oid` is the sha256),
 * and `oid`/`blobId` is the sha1 of that pointer blob, as on the Hub.
 */
export function lfsPointer (f: Pick<FileEntry, 'sha256' | 'size'>): { blobId: string, pointerSize: number, sha256: string } {
  const sha256 = toHex(f.sha256)
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${f.size}\n`
  const blobId = createHash('sha1').update(`blob ${pointer.length}\0${pointer}`).digest('hex')
  return { blobId, pointerSize: pointer.length, sha256 }
}

export { parseCid, CID }
