/**
 * The local Hugging Face cache as a source of models for the store, so a
 * user sees `tenpak savings` on their own models. Layout (huggingface_hub):
 * `<cache>/models--org--name/{blobs,refs,snapshots/<revision>/…}` and
 * `datasets--org--name/…`; snapshot files are symlinks into `blobs/`, which
 * are followed. Each snapshot becomes a commit of `org/name` (or
 * `datasets/org/name`) on `main`, the snapshot a branch ref points at last,
 * and a tag named after the revision hash.
 */

import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { AddResult, Repo } from '../repo/repo.js'
import { parseRepoName } from '../repo/names.js'
import { parseCid } from '../hash/cid.js'
import { TenpakError, ErrorCode, NotFoundError, fromSystemError } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'

/**
 * The hub cache directory, as huggingface_hub resolves it: $HF_HUB_CACHE,
 * else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub.
 */
export function defaultHfCacheDir (env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE != null && env.HF_HUB_CACHE !== '') return env.HF_HUB_CACHE
  if (env.HF_HOME != null && env.HF_HOME !== '') return path.join(env.HF_HOME, 'hub')
  const cache = env.XDG_CACHE_HOME != null && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache')
  return path.join(cache, 'huggingface', 'hub')
}

/** One snapshot found in the cache. */
export interface HfCacheSnapshot {
  type: 'model' | 'dataset'
  /** the Hub id, e.g. `openai-community/gpt2` */
  hubId: string
  /** the tenpak repository name: `org/name` or `datasets/org/name` */
  repo: string
  /** the snapshot's revision (commit hash) */
  revision: string
  /** absolute snapshot directory */
  dir: string
  /** Hub refs (branch names) pointing at this revision, from `refs/` */
  refs: string[]
  /** files present (symlinks resolved) */
  files: number
  /** Σ sizes of the present files */
  bytes: number
  /** paths whose symlink target is missing (incomplete downloads): not imported */
  missing: string[]
  /** snapshot directory modification time (ms), for ordering */
  mtimeMs: number
}

/** What {@link scanHfCache} finds. */
export interface HfCacheScan {
  cacheDir: string
  /** import order: per repo, snapshots not on a branch first (oldest first), then those on `main` */
  snapshots: HfCacheSnapshot[]
  /** cache entries that are not imported, and why */
  skipped: Array<{ path: string, reason: string }>
}

async function readdirOrEmpty (dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw fromSystemError(err, `reading ${dir}`)
  }
}

async function walkSnapshot (dir: string): Promise<{ files: number, bytes: number, missing: string[] }> {
  let files = 0
  let bytes = 0
  const missing: string[] = []
  const walk = async (abs: string, rel: string): Promise<void> => {
    const ents = await fsp.readdir(abs, { withFileTypes: true })
    for (const e of ents) {
      const p = path.join(abs, e.name)
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      let st
      try {
        st = await fsp.stat(p) // follows the symlink into blobs/
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') { missing.push(r); continue }
        throw fromSystemError(err, `reading ${p}`)
      }
      if (st.isDirectory()) await walk(p, r)
      else if (st.isFile()) { files++; bytes += st.size }
    }
  }
  await walk(dir, '')
  return { files, bytes, missing }
}

/**
 * List the snapshots of the Hugging Face cache at `cacheDir` with their sizes
 * (following symlinks). Spaces, unparseable names and empty snapshots are
 * listed in `skipped`. A missing cache directory is ERR_PATH_NOT_FOUND.
 */
export async function scanHfCache (cacheDir: string): Promise<HfCacheScan> {
  const root = path.resolve(cacheDir)
  try {
    const st = await fsp.stat(root)
    if (!st.isDirectory()) throw new TenpakError(ErrorCode.BAD_ARGUMENT, `${root} is not a directory`)
  } catch (err) {
    throw fromSystemError(err, `the Hugging Face cache ${root}`)
  }
  const snapshots: HfCacheSnapshot[] = []
  const skipped: HfCacheScan['skipped'] = []
  for (const entry of (await readdirOrEmpty(root)).sort()) {
    const m = /^(models|datasets|spaces)--(.+)$/.exec(entry)
    if (m == null) continue // .locks, version.txt, …
    if (m[1] === 'spaces') { skipped.push({ path: entry, reason: 'Spaces are not imported' }); continue }
    const type = m[1] === 'models' ? 'model' : 'dataset'
    const hubId = m[2].split('--').join('/')
    let repo: string
    try {
      repo = parseRepoName(type === 'model' ? hubId : `datasets/${hubId}`).full
    } catch (err) {
      skipped.push({ path: entry, reason: (err as Error).message })
      continue
    }
    if (type === 'model') repo = repo.slice('models/'.length)
    const repoDir = path.join(root, entry)
    const refs = new Map<string, string[]>()
    for (const name of await readdirOrEmpty(path.join(repoDir, 'refs'))) {
      const p = path.join(repoDir, 'refs', name)
      const st = await fsp.stat(p).catch(() => null)
      if (st?.isFile() !== true) continue // refs/refs/pr/N and the like
      const rev = (await fsp.readFile(p, 'utf8')).trim()
      refs.set(rev, [...(refs.get(rev) ?? []), name])
    }
    const found: HfCacheSnapshot[] = []
    for (const revision of (await readdirOrEmpty(path.join(repoDir, 'snapshots'))).sort()) {
      const dir = path.join(repoDir, 'snapshots', revision)
      const st = await fsp.stat(dir).catch(() => null)
      if (st?.isDirectory() !== true) continue
      const { files, bytes, missing } = await walkSnapshot(dir)
      if (files === 0) { skipped.push({ path: `${entry}/snapshots/${revision}`, reason: missing.length > 0 ? 'every file is missing (incomplete download)' : 'empty snapshot' }); continue }
      found.push({ type, hubId, repo, revision, dir, refs: (refs.get(revision) ?? []).sort(), files, bytes, missing, mtimeMs: st.mtimeMs })
    }
    // main last so it ends up as the branch head, other snapshots oldest first
    const rank = (s: HfCacheSnapshot): number => s.refs.includes('main') ? 2 : s.refs.length > 0 ? 1 : 0
    found.sort((a, b) => rank(a) - rank(b) || a.mtimeMs - b.mtimeMs || (a.revision < b.revision ? -1 : 1))
    snapshots.push(...found)
  }
  return { cacheDir: root, snapshots, skipped }
}

/** One imported snapshot. */
export interface HfImportedSnapshot {
  repo: string
  revision: string
  /** the tag created or updated (the revision hash), if the revision is a valid tag name */
  tag: string | null
  /** the commit holding the snapshot */
  commit: string
  /** true when the revision was already in the store (tagged) and nothing was added */
  alreadyImported: boolean
  /** what `add` reported; null when already imported */
  result: AddResult | null
}

/**
 * Add every scanned snapshot to the store as a commit on `main` of its
 * repository (message naming the Hub revision) and tag it with the revision.
 * Snapshots are added in the scan's order; a revision already tagged in the
 * store is not added again (importing twice changes nothing), and an
 * unchanged tree makes no commit.
 */
export async function importHfCache (store: Pick<Repo, 'add' | 'setRef' | 'resolve'>, scan: HfCacheScan, options: AbortOptions & ProgressOptions & { onSnapshot?: (s: HfImportedSnapshot) => void } = {}): Promise<HfImportedSnapshot[]> {
  const out: HfImportedSnapshot[] = []
  for (const s of scan.snapshots) {
    const existing = await taggedCommit(store, s.repo, s.revision)
    if (existing != null) {
      const imported: HfImportedSnapshot = { repo: existing.repo, revision: s.revision, tag: s.revision, commit: existing.commit, alreadyImported: true, result: null }
      options.onSnapshot?.(imported)
      out.push(imported)
      continue
    }
    const result = await store.add(s.repo, s.dir, {
      branch: 'main',
      message: `import from the Hugging Face cache: ${s.hubId} revision ${s.revision}${s.refs.length > 0 ? ` (${s.refs.join(', ')})` : ''}`,
      signal: options.signal,
      onProgress: options.onProgress
    })
    let tag: string | null = null
    if (/^[A-Za-z0-9._-]{1,200}$/.test(s.revision)) {
      await store.setRef(s.repo, 'tags', s.revision, parseCid(result.commit))
      tag = s.revision
    }
    const imported: HfImportedSnapshot = { repo: result.repo, revision: s.revision, tag, commit: result.commit, alreadyImported: false, result }
    options.onSnapshot?.(imported)
    out.push(imported)
  }
  return out
}

/** The commit the revision's tag points at, if this snapshot was imported before. */
async function taggedCommit (store: Pick<Repo, 'resolve'>, repo: string, revision: string): Promise<{ repo: string, commit: string } | null> {
  try {
    const r = await store.resolve(repo, revision)
    return { repo: r.repo.full, commit: r.cid.toString() }
  } catch (err) {
    if (err instanceof NotFoundError) return null
    throw err
  }
}
