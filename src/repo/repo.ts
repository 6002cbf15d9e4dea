/**
 * The repo façade: the one object a library user, the CLI, the HTTP server
 * and the FUSE mount hold. It opens the store directory (packs, index, refs),
 * owns the write order (packs → index → ref CAS) and serialises writers.
 */
import fsp from 'node:fs/promises'
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { openIndex, type Index } from '../index/index.js'
import { createFsBackend } from '../store/fs-backend.js'
import type { Backend } from '../store/backend.js'
import { createBlockStore, cleanTmp, type BlockStore } from '../store/block-store.js'
import { createRefs, type Refs, type RepoRefs, type RefKind } from './refs.js'
import { parseRepoName, parseRepoRev, type RepoName } from './names.js'
import { CID, parseCid } from '../hash/cid.js'
import { toHex } from '../util/bytes.js'
import { decodeCommit, decodeManifest, decodeTensorTable, type Commit, type FileEntry, type Manifest } from '../objects/commit.js'
import { checkRepoPath } from '../objects/unixfs.js'
import { listSource, ingestFile, buildTree, writeCommit, sourceLayout, textLevelFor, externalTensorsOf, type IngestedFile, type SourceFile, type DeltaContext, type SimilarContext } from './add.js'
import { readRange, NodeCache } from './read.js'
import { Mutex } from './mutex.js'
import { createEncodePool } from './encode-pool.js'
import { createLossyCollector, parseLossyMode, type LossyReport } from './lossy-ingest.js'
import { verifyStore, rebuildIndex, type VerifyReport } from './verify.js'
import { AUTO_REPACK_PACKS, collectGarbage, consolidatePacks, SMALL_PACK_MAX, type GcReport, type RepackReport } from './gc.js'
import { computeStats, type StoreStats } from './stats.js'
import { TenpakError, NotFoundError, BadInputError, ErrorCode, fromSystemError } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'
import type { TensorInfo } from '../formats/types.js'
import type { ChunkParams } from '../chunk/types.js'

export type { VerifyReport, GcReport, RepackReport, StoreStats, RepoName, Commit, FileEntry, Manifest }

/** Inputs at least this large are encoded on worker threads. */
const POOL_MIN_BYTES = 32 * 1024 * 1024

/** The default store directory: $TENPAK_HOME, else ~/.tenpak. */
export function defaultStoreDir (env: NodeJS.ProcessEnv = process.env): string {
  return env.TENPAK_HOME != null && env.TENPAK_HOME !== '' ? env.TENPAK_HOME : path.join(os.homedir(), '.tenpak')
}

/** Options for {@link createRepo}. */
export interface CreateRepoOptions {
  /** store directory (created if missing) */
  dir: string
  /** pack size target in bytes */
  packTarget?: number
  chunkParams?: ChunkParams
  /**
   * Where packs live (default: files under `dir`). With a remote backend
   * (cached-backend.ts over S3) `dir` holds only the index and refs.
   */
  backend?: Backend
  /**
   * Merge small packs after an add once {@link AUTO_REPACK_PACKS} have
   * accumulated (gc.ts consolidatePacks; local stores only). Default true.
   */
  autoRepack?: boolean
}

/** Options for {@link Repo.add}. */
export interface AddOptions extends AbortOptions, ProgressOptions {
  message?: string
  branch?: string
  author?: string
  /** commit time (ms); defaults to now */
  time?: number
  /**
   * Base to store the files as deltas of: 'REPO[@REV]'. Default: the branch's
   * current head (a new version of the same repo), else the stored model whose
   * tensor signatures overlap most. `false`: no deltas.
   */
  base?: string | false
  /**
   * Make the revision lossy: every tensor piece paired with a float base piece
   * is replaced by base + its delta quantised as `int8`, `int4` or `1bit`
   * (ERR_BAD_ARGUMENT otherwise, or when there is no base). The result's
   * `lossy` field reports the error; the commit records the mode.
   */
  lossy?: string
}

/** What `add` reports. */
export interface AddResult {
  commit: string
  repo: string
  branch: string
  files: number
  logicalBytes: number
  /** bytes added to the store's packs */
  newStoredBytes: number
  /** file bytes whose chunks the store already had */
  dedupBytes: number
  /** true when the tree equals the branch head's and no commit was made */
  unchanged: boolean
  /** the base the files were stored as deltas of, and how it was chosen */
  base?: { repo: string, commit: string, chosen: 'named' | 'parent' | 'auto' }
  /** logical bytes stored as deltas, and the bytes those deltas took */
  deltaLogicalBytes: number
  deltaStoredBytes: number
  /** with `lossy`: the mode and the error per tensor and overall */
  lossy?: LossyReport
  /** when this add merged the store's small packs (see CreateRepoOptions.autoRepack) */
  repack?: RepackReport
  /** the add is committed, but merging small packs afterwards failed (the store is unchanged by it) */
  repackError?: string
}

/** A resolved revision. */
export interface Resolved {
  repo: RepoName
  cid: CID
  commit: Commit
}

/** One entry of `ls`. */
export interface LsEntry {
  path: string
  type: 'file' | 'directory'
  size: number
  cid?: string
  sha256?: string
  format?: string
}

/** A log entry. */
export interface LogEntry {
  commit: string
  parents: string[]
  message: string
  author: string
  time: number
  files: number
  logicalBytes: number
}

/** A store: repositories, their revisions and files. */
export interface Repo {
  readonly dir: string
  readonly blocks: BlockStore
  readonly refs: Refs
  add: (repo: string, src: string, options?: AddOptions) => Promise<AddResult>
  resolve: (repo: string, rev?: string) => Promise<Resolved>
  manifest: (resolved: Resolved) => Promise<Manifest>
  /** a file's manifest entry (ERR_ENTRY_NOT_FOUND when absent) */
  stat: (repo: string, rev: string | undefined, filePath: string) => Promise<FileEntry & { commit: CID }>
  ls: (repo: string, rev?: string, dirPath?: string) => Promise<LsEntry[]>
  log: (repo: string, options?: { branch?: string, limit?: number }) => Promise<LogEntry[]>
  /** stream bytes [start, end) of a file (end exclusive; defaults to the whole file) */
  read: (file: Pick<FileEntry, 'cid' | 'size'>, range?: { start?: number, end?: number }, options?: AbortOptions) => AsyncIterable<Uint8Array>
  tensors: (file: FileEntry) => Promise<TensorInfo[] | undefined>
  export: (repo: string, rev: string | undefined, outDir: string, options?: AbortOptions & ProgressOptions) => Promise<{ files: number, bytes: number }>
  listRepos: () => Promise<RepoRefs[]>
  /** point a branch or tag at a commit (undefined deletes it); with `expected`, only if it still holds that value (null: must not exist) */
  setRef: (repo: string, kind: RefKind, name: string, target: CID | undefined, options?: { expected?: CID | null }) => Promise<void>
  verify: (options?: { rebuildIndex?: boolean } & ProgressOptions) => Promise<VerifyReport>
  gc: (options?: ProgressOptions) => Promise<GcReport>
  stats: () => Promise<StoreStats>
  /** run `fn` holding the store's writer lock */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>
  close: () => Promise<void>
}

/** Open (creating if needed) the store at `opts.dir`. */
export async function createRepo (opts: CreateRepoOptions): Promise<Repo> {
  const dir = path.resolve(opts.dir)
  try {
    await fsp.mkdir(path.join(dir, 'refs'), { recursive: true })
    await fsp.mkdir(path.join(dir, 'tmp'), { recursive: true })
  } catch (err) {
    throw fromSystemError(err, `creating the store at ${dir}`)
  }
  const index: Index = await openIndex(path.join(dir, 'index'))
  const backend: Backend = opts.backend ?? createFsBackend(dir)
  const tmpDir = path.join(dir, 'tmp')
  await cleanTmp(tmpDir)
  const blocks = createBlockStore({ backend, index, tmpDir })
  const refs = createRefs(path.join(dir, 'refs'))
  const mutex = new Mutex()
  const nodeCache = new NodeCache()

  const getCommit = (cid: CID): Commit => decodeCommit(cid, blocks.getSync(cid))

  const resolve = async (repoStr: string, rev?: string): Promise<Resolved> => {
    const repo = parseRepoName(repoStr)
    const r = await refs.repo(repo)
    if (r == null) throw new NotFoundError(`repository ${repo.full} not found`, ErrorCode.REPO_NOT_FOUND)
    const want = rev ?? 'main'
    // own properties only: a revision named '__proto__' must not reach Object.prototype
    let cid: CID | undefined = (Object.hasOwn(r.heads, want) ? r.heads[want] : undefined) ?? (Object.hasOwn(r.tags, want) ? r.tags[want] : undefined)
    if (cid == null && rev == null) {
      const names = Object.keys(r.heads)
      if (names.length > 0) cid = r.heads[names[0]]
    }
    if (cid == null) cid = findCommit(r, want)
    if (cid == null) throw new NotFoundError(`revision ${want} not found in ${repo.full}`, ErrorCode.REVISION_NOT_FOUND)
    return { repo, cid, commit: getCommit(cid) }
  }

  // A commit id given as a CID string, or as its 40-hex form (first 20 bytes
  // of the BLAKE3 digest: what Hub clients expect a commit hash to look like),
  // is found by walking the history of the repo's refs.
  const findCommit = (r: RepoRefs, rev: string): CID | undefined => {
    let want: CID | undefined
    if (!/^[0-9a-f]{40}$/.test(rev)) {
      try { want = parseCid(rev) } catch { return undefined }
    }
    const seen = new Set<string>()
    const stack = [...Object.values(r.heads), ...Object.values(r.tags)]
    while (stack.length > 0) {
      const c = stack.pop() as CID
      const k = c.toString()
      if (seen.has(k)) continue
      seen.add(k)
      if (want != null ? c.equals(want) : commitHex(c) === rev) return c
      if (!blocks.has(c)) continue
      stack.push(...getCommit(c).parents)
    }
    return undefined
  }

  const manifestOf = async (res: Resolved): Promise<Manifest> => decodeManifest(res.commit.manifest, blocks.getSync(res.commit.manifest))

  const stat = async (repoStr: string, rev: string | undefined, filePath: string): Promise<FileEntry & { commit: CID }> => {
    const res = await resolve(repoStr, rev)
    const p = checkRepoPath(filePath).join('/')
    const m = await manifestOf(res)
    const f = m.files.find(x => x.path === p)
    if (f == null) throw new NotFoundError(`${p} not found in ${res.repo.full}@${rev ?? 'main'}`, ErrorCode.ENTRY_NOT_FOUND)
    return { ...f, commit: res.cid }
  }

  const read = (file: Pick<FileEntry, 'cid' | 'size'>, range: { start?: number, end?: number } = {}, options: AbortOptions = {}): AsyncIterable<Uint8Array> => {
    const start = range.start ?? 0
    const end = Math.min(range.end ?? file.size, file.size)
    if (start < 0 || start > end) throw new BadInputError(ErrorCode.BAD_RANGE, `range ${start}-${end} is outside a file of ${file.size} bytes`)
    return readRange(blocks, nodeCache, file.cid, file.size, start, end, options)
  }

  // The files of a base commit, with their tensor tables, for pairing.
  const deltaContext = async (commit: CID): Promise<DeltaContext> => {
    const c = getCommit(commit)
    const m = decodeManifest(c.manifest, blocks.getSync(c.manifest))
    const files = m.files.map(entry => ({ entry, tensors: entry.tensors != null ? decodeTensorTable(entry.tensors, blocks.getSync(entry.tensors)) : undefined }))
    return { blocks, cache: nodeCache, files }
  }

  // Base selection: named, else the branch head, else the stored model whose
  // tensor signatures (name, dtype, shape) overlap the new files' most.
  const chooseBase = async (named: string | false | undefined, parent: CID | undefined, self: string, files: SourceFile[]): Promise<{ repo: string, cid: CID, chosen: 'named' | 'parent' | 'auto' } | undefined> => {
    if (named === false) return undefined
    if (named != null) {
      const { repo: r, rev } = parseRepoRev(named)
      const res = await resolve(r.full, rev)
      return { repo: r.full, cid: res.cid, chosen: 'named' }
    }
    if (parent != null) return { repo: self, cid: parent, chosen: 'parent' }
    const sigs = new Set<string>()
    for (const f of files) for (const t of (await sourceLayout(f)).tensors ?? []) sigs.add(`${t.name}:${t.dtype}:${t.shape.join('x')}`)
    if (sigs.size === 0) return undefined
    let best: { repo: string, cid: CID, chosen: 'auto' } | undefined
    let bestScore = 0
    for (const r of await refs.list()) {
      if (r.name.type !== 'model' || r.name.full === self) continue
      for (const head of Object.values(r.heads)) {
        let score = 0
        for (const f of (await deltaContext(head)).files) for (const t of f.tensors ?? []) if (sigs.has(`${t.name}:${t.dtype}:${t.shape.join('x')}`)) score++
        if (score > bestScore) { bestScore = score; best = { repo: r.name.full, cid: head, chosen: 'auto' } }
      }
    }
    return best
  }

  const repoApi: Repo = {
    dir,
    blocks,
    refs,
    async add (repoStr, src, options = {}) {
      const repo = parseRepoName(repoStr)
      const branch = options.branch ?? 'main'
      const lossyMode = options.lossy != null ? parseLossyMode(options.lossy) : undefined
      if (lossyMode != null && options.base === false) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'a lossy revision is quantised against a base: --lossy cannot be used with --no-base')
      const files = await listSource(src)
      return await mutex.run(async () => {
        const parent = await refs.get(repo, 'heads', branch)
        const base = await chooseBase(options.base, parent, repo.full, files)
        if (lossyMode != null && base == null) {
          throw new BadInputError(ErrorCode.BAD_ARGUMENT, `a lossy revision is quantised against a base, and ${repo.full}@${branch} has none: name one with --base REPO[@REV]`)
        }
        const delta = base != null ? await deltaContext(base.cid) : undefined
        const lossy = lossyMode != null ? createLossyCollector(lossyMode) : undefined
        const writer = blocks.writer({ packTarget: opts.packTarget })
        // worker threads pay off on large inputs only (start-up ~50 ms)
        const pool = files.reduce((s, f) => s + f.size, 0) >= POOL_MIN_BYTES ? createEncodePool() : undefined
        try {
          const ingested: IngestedFile[] = []
          const similar: SimilarContext = { blocks, find: (sk) => index.similar(sk), stored: [] }
          // sketches of the chunks stored here, indexed once their packs are (they are hints: losing them costs nothing but size)
          const indexSketches = async (): Promise<void> => {
            if (similar.stored.length === 0) return
            const batch = index.batch()
            for (const [cid, sk] of similar.stored) if (blocks.has(cid)) batch.putSketch(cid, sk)
            await batch.write()
          }
          const textLevel = textLevelFor(files.reduce((s, f) => s + f.size, 0))
          const external = await externalTensorsOf(files)
          for (const f of files) ingested.push(await ingestFile(writer, f, { ...options, chunkParams: opts.chunkParams, delta, pool, lossy, similar, textLevel, externalTensors: external.get(f.path) }))
          const deltaLogicalBytes = ingested.reduce((s, f) => s + f.delta.deltaLogical, 0)
          const deltaStoredBytes = ingested.reduce((s, f) => s + f.delta.deltaStored, 0)
          const baseInfo = base != null ? { repo: base.repo, commit: base.cid.toString(), chosen: base.chosen } : undefined
          const tree = buildTree(writer, ingested)
          const logicalBytes = ingested.reduce((s, f) => s + f.entry.size, 0)
          const dedupBytes = ingested.reduce((s, f) => s + f.dupBytes, 0)
          const lossyReport = lossy?.report()
          // a revision is marked lossy only when some tensor was actually quantised
          const lossyTag = lossyReport != null && lossyReport.overall.tensors > 0 ? lossyReport.mode : undefined
          if (parent != null && getCommit(parent).tree.equals(tree.cid)) {
            await writer.flush()
            await indexSketches()
            return { commit: parent.toString(), repo: repo.full, branch, files: files.length, logicalBytes, newStoredBytes: writer.sealedBytes, dedupBytes, unchanged: true, base: baseInfo, deltaLogicalBytes, deltaStoredBytes, lossy: lossyReport }
          }
          const { commit } = writeCommit(writer, {
            tree: tree.cid,
            files: ingested.map(f => f.entry),
            parents: parent != null ? [parent] : [],
            message: (options.message ?? `add ${path.basename(src)}`) + (lossyTag != null ? ` [lossy ${lossyTag}]` : ''),
            author: options.author ?? os.userInfo().username,
            time: options.time ?? Date.now(),
            base: base != null && base.chosen !== 'parent' ? base.cid : undefined,
            lossy: lossyTag
          })
          await writer.flush()
          await indexSketches()
          await refs.cas(repo, 'heads', branch, parent, commit)
          const result: AddResult = { commit: commit.toString(), repo: repo.full, branch, files: files.length, logicalBytes, newStoredBytes: writer.sealedBytes, dedupBytes, unchanged: false, base: baseInfo, deltaLogicalBytes, deltaStoredBytes, lossy: lossyReport }
          if (opts.autoRepack !== false && !blocks.remote && writer.sealedBytes < SMALL_PACK_MAX) {
            try {
              const rep = await consolidatePacks({ blocks, backend, index }, { minPacks: AUTO_REPACK_PACKS, onProgress: options.onProgress })
              if (rep.packsMerged > 0) result.repack = rep
            } catch (err) {
              result.repackError = (err as Error).message
            }
          }
          return result
        } catch (err) {
          await writer.abort()
          throw err
        } finally {
          await pool?.close()
        }
      })
    },
    resolve,
    manifest: manifestOf,
    stat,
    async ls (repoStr, rev, dirPath = '') {
      const res = await resolve(repoStr, rev)
      const m = await manifestOf(res)
      const prefix = checkRepoPath(dirPath).join('/')
      const pre = prefix === '' ? '' : prefix + '/'
      const exact = m.files.find(f => f.path === prefix)
      if (exact != null) return [fileLs(exact)]
      const out: LsEntry[] = []
      const dirs = new Map<string, number>()
      for (const f of m.files) {
        if (!f.path.startsWith(pre)) continue
        const rest = f.path.slice(pre.length)
        const slash = rest.indexOf('/')
        if (slash < 0) out.push(fileLs(f))
        else {
          const d = pre + rest.slice(0, slash)
          dirs.set(d, (dirs.get(d) ?? 0) + f.size)
        }
      }
      if (out.length === 0 && dirs.size === 0 && prefix !== '') throw new NotFoundError(`${prefix} not found in ${res.repo.full}`, ErrorCode.ENTRY_NOT_FOUND)
      for (const [d, size] of dirs) out.push({ path: d, type: 'directory', size })
      return out.sort((a, b) => a.path < b.path ? -1 : 1)
    },
    async log (repoStr, options = {}) {
      const res = await resolve(repoStr, options.branch)
      const out: LogEntry[] = []
      let cur: CID | undefined = res.cid
      while (cur != null && out.length < (options.limit ?? Infinity)) {
        const c = getCommit(cur)
        const m = decodeManifest(c.manifest, blocks.getSync(c.manifest))
        out.push({ commit: cur.toString(), parents: c.parents.map(p => p.toString()), message: c.message, author: c.author, time: c.time, files: m.files.length, logicalBytes: m.files.reduce((s, f) => s + f.size, 0) })
        cur = c.parents[0]
      }
      return out
    },
    read,
    async tensors (file) {
      if (file.tensors == null) return undefined
      return decodeTensorTable(file.tensors, blocks.getSync(file.tensors))
    },
    async export (repoStr, rev, outDir, options = {}) {
      const res = await resolve(repoStr, rev)
      const m = await manifestOf(res)
      let bytes = 0
      for (const f of m.files) {
        const dest = path.join(outDir, ...checkRepoPath(f.path))
        try {
          await fsp.mkdir(path.dirname(dest), { recursive: true })
          const tmp = `${dest}.tenpak-tmp`
          const out = fs.createWriteStream(tmp)
          for await (const chunk of read(f, {}, options)) {
            if (!out.write(chunk)) await new Promise<void>(resolve => out.once('drain', () => resolve()))
            bytes += chunk.length
            options.onProgress?.({ type: 'export:bytes', bytes: chunk.length })
          }
          await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => err != null ? reject(err) : resolve()))
          await fsp.rename(tmp, dest)
        } catch (err) {
          throw fromSystemError(err, `writing ${dest}`)
        }
      }
      return { files: m.files.length, bytes }
    },
    listRepos: async () => await refs.list(),
    async setRef (repoStr, kind, name, target, options = {}) {
      const repo = parseRepoName(repoStr)
      await mutex.run(async () => {
        if (target != null) getCommit(target) // must be a stored commit
        const cur = options.expected === undefined ? await refs.get(repo, kind, name) : options.expected ?? undefined
        await refs.cas(repo, kind, name, cur, target)
      })
    },
    verify: async (options = {}) => await mutex.run(async () => {
      if (options.rebuildIndex === true) await rebuildIndex({ backend, index }, options)
      return await verifyStore({ blocks, backend, index, refs }, options)
    }),
    gc: async (options = {}) => await mutex.run(async () => {
      // the packs are shared with every other user of the bucket, whose refs this store does not see
      if (blocks.remote) throw new TenpakError(ErrorCode.UNSUPPORTED, 'gc of a store whose packs are in a remote bucket is not supported')
      return await collectGarbage({ blocks, backend, index, refs, tmpDir }, options)
    }),
    stats: async () => await computeStats({ blocks, index, refs }),
    exclusive: async (fn) => await mutex.run(fn),
    async close () {
      await mutex.run(async () => {
        await backend.close()
        await index.close()
      })
    }
  }
  return repoApi
}

/** The 40-hex form of a commit id, for Hub clients that expect git-like hashes. */
export function commitHex (cid: CID): string {
  return toHex(cid.multihash.digest.subarray(0, 20))
}

function fileLs (f: FileEntry): LsEntry {
  return { path: f.path, type: 'file', size: f.size, cid: f.cid.toString(), sha256: toHex(f.sha256), format: f.format }
}


export { TenpakError }
