/**
 * The mount's namespace: what each path under the mount point is.
 *
 *   /models/ORG/NAME/…        head of the default branch (main)
 *   /models/ORG/NAME@REV/…    a branch, tag or commit id (CID or 40-hex form)
 *   /datasets/ORG/NAME[@REV]/…
 *   /models/NAME[@REV]/…      repositories without an org
 *
 * An org directory lists NAME plus NAME@BRANCH and NAME@TAG for each branch
 * and tag (a '/' in a ref name is written %2F); commit ids are not listed
 * but resolve on lookup. Branch and tag heads are re-read from the refs after
 * a short TTL, so commits made while mounted appear without remounting.
 * Everything under a commit is immutable, so resolved commits and their file
 * trees are cached by CID. Inode numbers are a hash of the mount path and
 * the commit, stable across mounts.
 */
import type { Repo } from '../repo/repo.js'
import type { RepoRefs } from '../repo/refs.js'
import { commitHex } from '../repo/repo.js'
import { parseRepoName } from '../repo/names.js'
import { decodeCommit, type Commit, type FileEntry } from '../objects/commit.js'
import { NodeCache } from '../repo/read.js'
import type { CID } from '../hash/cid.js'
import { NotFoundError, ErrorCode, isTenpakError } from '../errors.js'

/** A directory of the mount. */
export interface DirNode {
  type: 'dir'
  ino: number
  /** ms since the epoch */
  mtime: number
  /** set inside a revision */
  rev?: RevContext
  /** path of the directory inside the revision ('' for its root) */
  inner?: string
}

/** A file of the mount. */
export interface FileNode {
  type: 'file'
  ino: number
  mtime: number
  entry: FileEntry
  rev: RevContext
}

/** A node of the mount. */
export type MountNode = DirNode | FileNode

/** The revision a path is in. */
export interface RevContext {
  /** canonical repo name ('models/org/name') */
  repo: string
  commit: CID
  /** false when the path names the commit itself (content never changes) */
  mutable: boolean
  tree: CommitTree
}

/** A commit's files and directories, built once from its manifest. */
export interface CommitTree {
  cid: CID
  commit: Commit
  files: Map<string, FileEntry>
  /** directory path ('' = root) → child name → kind */
  dirs: Map<string, Map<string, 'file' | 'dir'>>
  /** directory path → UnixFS directory CID, filled on demand */
  dirCids: Map<string, CID>
}

/** Options for {@link createNamespace}. */
export interface NamespaceOptions {
  /** how long branch and tag heads (and the repo list) are trusted, ms (default 1000) */
  refTtlMs?: number
  /** commits whose file trees are kept (default 64) */
  maxTrees?: number
  /** clock (tests) */
  now?: () => number
}

/** Path → node resolution over a Repo. */
export interface Namespace {
  resolve: (path: string) => Promise<MountNode>
  /** entries of a directory, with their nodes */
  list: (path: string) => Promise<Array<[string, MountNode]>>
  /** the UnixFS CID of a directory inside a revision */
  dirCid: (node: DirNode) => CID | undefined
}

const TYPES = ['models', 'datasets'] as const

/** 32-bit FNV-1a of a string, never 0 or 1 (1 is the root). */
export function inodeOf (key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h >>>= 0
  return h < 2 ? h + 2 : h
}

const notFound = (p: string): NotFoundError => new NotFoundError(`${p} not found in the mount`, ErrorCode.PATH_NOT_FOUND)

interface Timed<T> { at: number, value: T, pending?: Promise<T> }

/** Create the namespace of a mount over `repo`. */
export function createNamespace (repo: Repo, opts: NamespaceOptions = {}): Namespace {
  const ttl = opts.refTtlMs ?? 1000
  const maxTrees = opts.maxTrees ?? 64
  const now = opts.now ?? Date.now
  const started = now()
  const nodeCache = new NodeCache(256)

  // --- refs, re-read after the TTL (one read in flight per key) ---
  const timed = async <T>(slot: Timed<T> | undefined, set: (t: Timed<T>) => void, load: () => Promise<T>): Promise<T> => {
    if (slot != null && now() - slot.at < ttl) return slot.value
    if (slot?.pending != null) return await slot.pending
    const pending = load()
    const t: Timed<T> = { at: slot?.at ?? 0, value: slot?.value as T, pending }
    set(t)
    try {
      const value = await pending
      set({ at: now(), value })
      return value
    } catch (err) {
      set({ at: slot?.at ?? 0, value: slot?.value as T })
      throw err
    }
  }

  let listing: Timed<RepoRefs[]> | undefined
  const repoList = async (): Promise<RepoRefs[]> => await timed(listing, t => { listing = t }, async () => await repo.listRepos())

  const refsByRepo = new Map<string, Timed<RepoRefs | undefined>>()
  const repoRefs = async (full: string): Promise<RepoRefs | undefined> => {
    let name
    try { name = parseRepoName(full) } catch { return undefined }
    return await timed(refsByRepo.get(full), t => { refsByRepo.set(full, t) }, async () => await repo.refs.repo(name))
  }

  // --- commits (immutable), their file trees kept in a small LRU ---
  const trees = new Map<string, CommitTree>()
  const commits = new Map<string, Commit>()
  const commitOf = (cid: CID): Commit => {
    const key = cid.toString()
    let c = commits.get(key)
    if (c == null) {
      c = decodeCommit(cid, repo.blocks.getSync(cid))
      commits.set(key, c)
      if (commits.size > 1024) commits.delete(commits.keys().next().value as string)
    }
    return c
  }
  const loadTree = async (cid: CID, full: string): Promise<CommitTree> => {
    const key = cid.toString()
    let t = trees.get(key)
    if (t != null) { trees.delete(key); trees.set(key, t); return t }
    const commit = commitOf(cid)
    const manifest = await repo.manifest({ repo: parseRepoName(full), cid, commit })
    t = buildTree(cid, commit, manifest.files)
    trees.set(key, t)
    if (trees.size > maxTrees) trees.delete(trees.keys().next().value as string)
    return t
  }

  const buildTree = (cid: CID, commit: Commit, manifest: FileEntry[]): CommitTree => {
    const files = new Map<string, FileEntry>()
    const dirs = new Map<string, Map<string, 'file' | 'dir'>>([['', new Map()]])
    for (const f of manifest) {
      files.set(f.path, f)
      const parts = f.path.split('/')
      let dir = ''
      for (let i = 0; i < parts.length; i++) {
        const name = parts[i]
        const kids = dirs.get(dir) as Map<string, 'file' | 'dir'>
        if (i === parts.length - 1) { kids.set(name, 'file'); break }
        kids.set(name, 'dir')
        dir = dir === '' ? name : `${dir}/${name}`
        if (!dirs.has(dir)) dirs.set(dir, new Map())
      }
    }
    return { cid, commit, files, dirs, dirCids: new Map([['', commit.tree]]) }
  }

  // --- revisions ---
  const immutableRevs = new Map<string, CID>()
  const unknownRevs = new Map<string, number>()
  const resolveRev = async (full: string, rev: string | undefined, shown: string): Promise<{ cid: CID, mutable: boolean }> => {
    const refs = await repoRefs(full)
    if (refs == null) throw notFound(shown)
    if (rev == null) {
      const cid = refs.heads.main ?? refs.tags.main ?? Object.values(refs.heads)[0]
      if (cid == null) throw notFound(shown)
      return { cid, mutable: true }
    }
    const ref = rev.replaceAll('%2F', '/')
    const named = refs.heads[ref] ?? refs.tags[ref]
    if (named != null) return { cid: named, mutable: true }
    const key = `${full}@${rev}`
    const known = immutableRevs.get(key)
    if (known != null) return { cid: known, mutable: false }
    if (!/^[0-9a-f]{40}$/.test(rev) && !/^[a-z0-9]{20,}$/i.test(rev)) throw notFound(shown)
    const missAt = unknownRevs.get(key)
    if (missAt != null && now() - missAt < ttl) throw notFound(shown)
    let res
    try {
      res = await repo.resolve(full, rev)
    } catch (err) {
      if (isTenpakError(err, ErrorCode.REVISION_NOT_FOUND) || isTenpakError(err, ErrorCode.REPO_NOT_FOUND)) {
        // resolving a commit id walks the history: remember misses for a TTL
        unknownRevs.set(key, now())
        if (unknownRevs.size > 4096) unknownRevs.delete(unknownRevs.keys().next().value as string)
        throw notFound(shown)
      }
      throw err
    }
    const isCommitId = rev === res.cid.toString() || rev === commitHex(res.cid)
    if (isCommitId) {
      immutableRevs.set(key, res.cid)
      if (immutableRevs.size > 4096) immutableRevs.delete(immutableRevs.keys().next().value as string)
    }
    return { cid: res.cid, mutable: !isCommitId }
  }

  // --- paths ---
  type Where =
    | { level: 'root' }
    | { level: 'type', type: string }
    | { level: 'org', type: string, org: string }
    | { level: 'rev', full: string, rev?: string, inner: string[], revPath: string }

  const splitRev = (s: string): { name: string, rev?: string } => {
    const at = s.indexOf('@')
    return at < 0 ? { name: s } : { name: s.slice(0, at), rev: s.slice(at + 1) }
  }

  const orgExists = async (type: string, org: string): Promise<boolean> => {
    const prefix = `${type}/${org}/`
    return (await repoList()).some(r => r.name.full.startsWith(prefix))
  }

  const where = async (p: string): Promise<Where> => {
    const parts = p.split('/').filter(x => x !== '')
    if (parts.length === 0) return { level: 'root' }
    const type = parts[0]
    if (!(TYPES as readonly string[]).includes(type)) throw notFound(p)
    if (parts.length === 1) return { level: 'type', type }
    // TYPE/NAME[@REV]/…  (a repo without org) or TYPE/ORG/NAME[@REV]/…
    const first = splitRev(parts[1])
    if (first.rev == null && parts.length >= 2) {
      if (parts.length >= 3) {
        const second = splitRev(parts[2])
        const full = `${type}/${parts[1]}/${second.name}`
        if (second.rev !== '' && await repoRefs(full) != null) {
          return { level: 'rev', full, rev: second.rev, inner: parts.slice(3), revPath: parts.slice(0, 3).join('/') }
        }
      } else if (await orgExists(type, parts[1])) {
        return { level: 'org', type, org: parts[1] }
      }
    }
    const full = `${type}/${first.name}`
    if (first.rev !== '' && await repoRefs(full) != null) {
      return { level: 'rev', full, rev: first.rev, inner: parts.slice(2), revPath: parts.slice(0, 2).join('/') }
    }
    throw notFound(p)
  }

  const dir = (key: string, mtime = started): DirNode => ({ type: 'dir', ino: inodeOf(key), mtime })

  const nodeIn = (rev: RevContext, revPath: string, inner: string[]): MountNode => {
    const innerPath = inner.join('/')
    const key = `/${revPath}/${innerPath}\0${rev.commit.toString()}`
    const mtime = rev.tree.commit.time
    const f = rev.tree.files.get(innerPath)
    if (f != null) return { type: 'file', ino: inodeOf(key), mtime, entry: f, rev }
    if (rev.tree.dirs.has(innerPath)) return { type: 'dir', ino: inodeOf(key), mtime, rev, inner: innerPath }
    throw notFound(`/${revPath}/${innerPath}`)
  }

  const revContext = async (w: Extract<Where, { level: 'rev' }>, p: string): Promise<RevContext> => {
    const { cid, mutable } = await resolveRev(w.full, w.rev, p)
    return { repo: w.full, commit: cid, mutable, tree: await loadTree(cid, w.full) }
  }

  const resolve = async (p: string): Promise<MountNode> => {
    const w = await where(p)
    switch (w.level) {
      case 'root': return { type: 'dir', ino: 1, mtime: started }
      case 'type': return dir(`/${w.type}`)
      case 'org': return dir(`/${w.type}/${w.org}`)
      case 'rev': return nodeIn(await revContext(w, p), w.revPath, w.inner)
    }
  }

  const refNames = (r: RepoRefs): string[] => {
    const names = new Set<string>()
    for (const n of [...Object.keys(r.heads), ...Object.keys(r.tags)]) names.add(n.replaceAll('/', '%2F'))
    return [...names].sort()
  }

  // repos listed in a directory: NAME and NAME@REF for each branch and tag
  const repoEntries = async (list: RepoRefs[], prefix: string, base: string): Promise<Array<[string, MountNode]>> => {
    const out: Array<[string, MountNode]> = []
    for (const r of list) {
      if (!r.name.full.startsWith(prefix)) continue
      const name = r.name.full.slice(prefix.length)
      if (name.includes('/')) continue
      for (const n of [name, ...refNames(r).map(ref => `${name}@${ref}`)]) {
        // the revision root's stat needs only its commit, not the commit's file tree
        const { rev } = splitRev(n)
        let cid: CID
        try {
          cid = (await resolveRev(r.name.full, rev, `${base}/${n}`)).cid
        } catch (err) {
          if (isTenpakError(err, ErrorCode.PATH_NOT_FOUND)) continue
          throw err
        }
        const revPath = `${base}/${n}`.slice(1)
        out.push([n, { type: 'dir', ino: inodeOf(`/${revPath}/\0${cid.toString()}`), mtime: commitOf(cid).time }])
      }
    }
    return out
  }

  const list = async (p: string): Promise<Array<[string, MountNode]>> => {
    const w = await where(p)
    switch (w.level) {
      case 'root': return TYPES.map(t => [t, dir(`/${t}`)])
      case 'type': {
        const repos = await repoList()
        const orgs = new Set<string>()
        for (const r of repos) {
          if (!r.name.full.startsWith(`${w.type}/`)) continue
          const rest = r.name.full.slice(w.type.length + 1)
          if (rest.includes('/')) orgs.add(rest.split('/')[0])
        }
        const out: Array<[string, MountNode]> = [...orgs].sort().map(o => [o, dir(`/${w.type}/${o}`)])
        out.push(...await repoEntries(repos, `${w.type}/`, `/${w.type}`))
        return out
      }
      case 'org': return await repoEntries(await repoList(), `${w.type}/${w.org}/`, `/${w.type}/${w.org}`)
      case 'rev': {
        const rev = await revContext(w, p)
        const innerPath = w.inner.join('/')
        const kids = rev.tree.dirs.get(innerPath)
        if (kids == null) throw notFound(p)
        return [...kids.keys()].sort().map(n => [n, nodeIn(rev, w.revPath, [...w.inner, n])])
      }
    }
  }

  const dirCid = (node: DirNode): CID | undefined => {
    if (node.rev == null || node.inner == null) return undefined
    const tree = node.rev.tree
    const known = tree.dirCids.get(node.inner)
    if (known != null) return known
    let cid: CID | undefined = tree.commit.tree
    for (const part of node.inner.split('/')) {
      if (cid == null) return undefined
      const n = nodeCache.get(repo.blocks, cid)
      cid = n.links.find(l => l.name === part)?.cid
    }
    if (cid != null) tree.dirCids.set(node.inner, cid)
    return cid
  }

  return { resolve, list, dirCid }
}
