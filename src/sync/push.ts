/**
 * push: send a local branch to a remote. Walk the commit DAG from the branch
 * head, ask the remote in batches which objects it lacks, send only those in
 * transfer packs (deltas kept when the receiver has or gets the base), then
 * compare-and-swap the remote branch. A re-run after an interruption asks
 * again, so objects of packs that were completed are not sent twice, and a
 * pack the remote already holds (same id) is skipped. Tags of the repo that
 * point into the pushed history go along; a tag the remote holds at another
 * commit is left alone (and reported) unless `force`.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo/repo.js'
import { parseRepoName } from '../repo/names.js'
import { parseCid, type CID } from '../hash/cid.js'
import { TenpakError, NotFoundError, ErrorCode } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'
import { localClosure, batches, isAncestor, historyOf } from './objects.js'
import type { RemoteRepoRefs } from './remote.js'
import { writeTransferPack } from './transfer-pack.js'
import { DEFAULT_TRANSFER_PACK_BYTES, HAS_BATCH, type Remote } from './remote.js'

/** Options for {@link push}. */
export interface PushOptions extends AbortOptions, ProgressOptions {
  /** allow a non-fast-forward update of the remote branch */
  force?: boolean
  /** largest transfer pack in stored bytes (default 64 MiB) */
  maxPackBytes?: number
}

/** What a push did. */
export interface PushResult {
  repo: string
  branch: string
  commit: string
  /** the remote branch before the push (null: new) */
  previous: string | null
  upToDate: boolean
  objectsSent: number
  /** bytes of the packs sent */
  bytesSent: number
  /** stored bytes of the objects the remote already had */
  bytesSkipped: number
  objectsSkipped: number
  packsSent: number
  /** packs the remote already held (resumed push) */
  packsSkipped: number
  /** deltas sent expanded because the remote could not get their base */
  expanded: number
  /** tags created or moved at the remote */
  tags: string[]
  /** tags left alone because the remote holds them at another commit (push --force moves them) */
  tagsSkipped: string[]
}

/** Push `repoName@branch` of `repo` to `remote`. */
export async function push (repo: Repo, remote: Remote, repoName: string, branch = 'main', options: PushOptions = {}): Promise<PushResult> {
  const name = parseRepoName(repoName)
  const head = await repo.refs.get(name, 'heads', branch)
  if (head == null) throw new NotFoundError(`branch ${branch} of ${name.full} not found`, ErrorCode.REVISION_NOT_FOUND)
  const remoteRefs = (await remote.refs(options)).find(r => r.repo === name.full)
  const prevStr = remoteRefs != null && Object.hasOwn(remoteRefs.heads, branch) ? remoteRefs.heads[branch] : undefined
  const previous: CID | null = prevStr != null ? parseCid(prevStr) : null
  const result: PushResult = { repo: name.full, branch, commit: head.toString(), previous: previous?.toString() ?? null, upToDate: false, objectsSent: 0, bytesSent: 0, bytesSkipped: 0, objectsSkipped: 0, packsSent: 0, packsSkipped: 0, expanded: 0, tags: [], tagsSkipped: [] }
  if (previous != null && previous.equals(head)) {
    await pushTags(repo, remote, name.full, head, remoteRefs, result, options)
    return { ...result, upToDate: result.tags.length === 0 }
  }
  if (previous != null && options.force !== true && !isAncestor(repo.blocks, previous, head)) {
    throw new TenpakError(ErrorCode.REF_CONFLICT, `non-fast-forward: ${remote.url} ${name.full}@${branch} is at ${previous.toString()}, which is not in the history of ${head.toString()} (pull first, or push --force)`)
  }

  const all = localClosure(repo.blocks, [head])
  const missingSet = new Set<string>()
  for (let i = 0; i < all.length; i += HAS_BATCH) {
    for (const c of await remote.missing(all.slice(i, i + HAS_BATCH).map(r => r.cid), options)) missingSet.add(c.toString())
    options.onProgress?.({ type: 'push:has', bytes: 0, detail: { asked: Math.min(i + HAS_BATCH, all.length), of: all.length } })
  }
  const missing = all.filter(r => missingSet.has(r.cid.toString()))
  for (const r of all) if (!missingSet.has(r.cid.toString())) { result.bytesSkipped += r.size; result.objectsSkipped++ }
  const total = missing.reduce((s, r) => s + r.size, 0)
  options.onProgress?.({ type: 'push:start', total })

  const sent = new Set<string>()
  const receiverHas = (c: CID): boolean => !missingSet.has(c.toString()) || sent.has(c.toString())
  const tmpDir = path.join(repo.dir, 'tmp')
  for (const batch of batches(missing, options.maxPackBytes ?? DEFAULT_TRANSFER_PACK_BYTES)) {
    options.signal?.throwIfAborted()
    const pack = writeTransferPack(repo.blocks, tmpDir, batch, receiverHas)
    try {
      if (await remote.hasPack(pack.packId, options)) {
        result.packsSkipped++
      } else {
        await remote.sendPack(pack.file, pack.packId, pack.size, options)
        result.packsSent++
        result.bytesSent += pack.size
        result.objectsSent += pack.entries
        result.expanded += pack.expanded
      }
    } finally {
      fs.rmSync(pack.file, { force: true })
    }
    for (const r of batch) sent.add(r.cid.toString())
    options.onProgress?.({ type: 'push:pack', bytes: batch.reduce((s, r) => s + r.size, 0), detail: { packId: pack.packId } })
  }
  await remote.updateRef({ repo: name.full, branch, old: previous, new: head, force: options.force }, options)
  await pushTags(repo, remote, name.full, head, remoteRefs, result, options)
  return result
}

/** Send the repo's tags whose commits are in the history of `head` (which the remote now holds). */
async function pushTags (repo: Repo, remote: Remote, repoName: string, head: CID, remoteRefs: RemoteRepoRefs | undefined, result: PushResult, options: PushOptions): Promise<void> {
  const tags = (await repo.refs.repo(parseRepoName(repoName)))?.tags ?? {}
  if (Object.keys(tags).length === 0) return
  const history = historyOf(repo.blocks, head)
  for (const tag of Object.keys(tags).sort()) {
    const target = tags[tag]
    if (!history.has(target.toString())) continue
    const curStr = remoteRefs != null && Object.hasOwn(remoteRefs.tags, tag) ? remoteRefs.tags[tag] : undefined
    if (curStr === target.toString()) continue
    if (curStr != null && options.force !== true) { result.tagsSkipped.push(tag); continue }
    await remote.updateRef({ repo: repoName, branch: tag, kind: 'tags', old: curStr != null ? parseCid(curStr) : null, new: target, force: options.force }, options)
    result.tags.push(tag)
  }
}
