/**
 * fetch and pull: bring a remote branch's objects into the local store and
 * (pull) move the local branch. The remote lists the closure of the wanted
 * commit; only objects the store lacks are fetched, in packs of bounded
 * size, each verified (every CID re-hashed) and imported before the next.
 * An interrupted pull re-run fetches only what is still missing. The
 * remote's tags of the repo that point into the pulled history are set
 * locally too (a local tag at another commit is kept unless `force`).
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo/repo.js'
import { parseRepoName } from '../repo/names.js'
import { parseCid, type CID } from '../hash/cid.js'
import { importPackFile } from '../store/pack-file.js'
import { TenpakError, NotFoundError, ErrorCode } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'
import { batches, isAncestor, historyOf } from './objects.js'
import { transferTmpPath } from './transfer-pack.js'
import { DEFAULT_TRANSFER_PACK_BYTES, type Remote } from './remote.js'

/** Options for {@link pull} and {@link fetchObjects}. */
export interface PullOptions extends AbortOptions, ProgressOptions {
  /** move the local branch even when that is not a fast-forward */
  force?: boolean
  /** largest pack asked for in one request (stored bytes, default 64 MiB) */
  maxPackBytes?: number
}

/** What a fetch of objects did. */
export interface FetchResult {
  objectsReceived: number
  /** bytes of the packs received */
  bytesReceived: number
  /** stored bytes of the objects the local store already had */
  bytesSkipped: number
  packsReceived: number
}

/** What a pull did. */
export interface PullResult extends FetchResult {
  repo: string
  branch: string
  commit: string
  previous: string | null
  upToDate: boolean
  /** tags created or moved locally */
  tags: string[]
  /** remote tags not taken because a local tag of that name points elsewhere (pull --force takes them) */
  tagsSkipped: string[]
}

/** Fetch the closure of `roots` from `remote` into `repo` (objects only; no ref moves). */
export async function fetchObjects (repo: Repo, remote: Remote, roots: CID[], options: PullOptions = {}): Promise<FetchResult> {
  const result: FetchResult = { objectsReceived: 0, bytesReceived: 0, bytesSkipped: 0, packsReceived: 0 }
  const closure = await remote.closure(roots, repo.blocks, options)
  const need = closure.filter(r => !repo.blocks.has(r.cid))
  for (const r of closure) if (repo.blocks.has(r.cid)) result.bytesSkipped += r.size
  options.onProgress?.({ type: 'fetch:start', total: need.reduce((s, r) => s + r.size, 0) })
  const tmpDir = path.join(repo.dir, 'tmp')
  for (const batch of batches(need, options.maxPackBytes ?? DEFAULT_TRANSFER_PACK_BYTES)) {
    options.signal?.throwIfAborted()
    const file = transferTmpPath(tmpDir, 'fetch')
    try {
      await remote.fetchPack(batch, file, options)
      const size = fs.statSync(file).size
      const imported = await repo.exclusive(async () => await importPackFile(file, repo.blocks, tmpDir))
      result.objectsReceived += imported.entries
      result.bytesReceived += size
      result.packsReceived++
    } finally {
      fs.rmSync(file, { force: true })
    }
    options.onProgress?.({ type: 'fetch:pack', bytes: batch.reduce((s, r) => s + r.size, 0) })
  }
  return result
}

/** Pull `repoName@branch` from `remote` into `repo` and move the local branch (fast-forward unless `force`). */
export async function pull (repo: Repo, remote: Remote, repoName: string, branch = 'main', options: PullOptions = {}): Promise<PullResult> {
  const name = parseRepoName(repoName)
  const r = (await remote.refs(options)).find(x => x.repo === name.full)
  const targetStr = r != null && Object.hasOwn(r.heads, branch) ? r.heads[branch] : undefined
  if (targetStr == null) throw new NotFoundError(`${remote.url} has no branch ${branch} of ${name.full}`, ErrorCode.REVISION_NOT_FOUND)
  const target = parseCid(targetStr)
  const cur = await repo.refs.get(name, 'heads', branch)
  const base = { repo: name.full, branch, commit: target.toString(), previous: cur?.toString() ?? null }
  if (cur != null && cur.equals(target)) {
    const t = await pullTags(repo, name.full, target, r?.tags ?? {}, options)
    return { ...base, ...t, upToDate: t.tags.length === 0, objectsReceived: 0, bytesReceived: 0, bytesSkipped: 0, packsReceived: 0 }
  }
  const fetched = await fetchObjects(repo, remote, [target], options)
  if (cur != null && options.force !== true && !isAncestor(repo.blocks, cur, target)) {
    throw new TenpakError(ErrorCode.REF_CONFLICT, `non-fast-forward: local ${name.full}@${branch} (${cur.toString()}) is not in the history of ${remote.url}'s ${target.toString()} (objects were fetched; use --force to move the branch)`)
  }
  await repo.setRef(name.full, 'heads', branch, target, { expected: cur ?? null })
  const t = await pullTags(repo, name.full, target, r?.tags ?? {}, options)
  return { ...base, upToDate: false, ...fetched, ...t }
}

/** Set the remote's tags that point into the history of `head` (held locally now). */
async function pullTags (repo: Repo, repoName: string, head: CID, remoteTags: Record<string, string>, options: PullOptions): Promise<{ tags: string[], tagsSkipped: string[] }> {
  const out = { tags: [] as string[], tagsSkipped: [] as string[] }
  const names = Object.keys(remoteTags).sort()
  if (names.length === 0) return out
  const name = parseRepoName(repoName)
  const history = historyOf(repo.blocks, head)
  for (const tag of names) {
    if (!history.has(remoteTags[tag])) continue
    const target = parseCid(remoteTags[tag])
    const cur = await repo.refs.get(name, 'tags', tag)
    if (cur != null && cur.equals(target)) continue
    if (cur != null && options.force !== true) { out.tagsSkipped.push(tag); continue }
    await repo.setRef(name.full, 'tags', tag, target, { expected: cur ?? null })
    out.tags.push(tag)
  }
  return out
}
