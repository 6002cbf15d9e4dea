/**
 * Store statistics from the index and the refs: logical bytes (every file of
 * every reachable commit, as a user would keep them in plain files), stored
 * bytes (pack files), and where the difference went (dedup, deltas,
 * compression), with exact arithmetic:
 * storedBytes = logicalBytes − dedupSavedBytes + metadataBytes
 *               − compressionSavedBytes − deltaSavedBytes + packOverheadBytes.
 */
import type { Index } from '../index/index.js'
import type { BlockStore } from '../store/block-store.js'
import type { Refs } from './refs.js'
import { Codec } from '../hash/cid.js'
import { decodeCommit, decodeManifest } from '../objects/commit.js'
import { isDeltaCodec } from '../codec/types.js'

/** What `tenpak stats` reports. */
export interface StoreStats {
  /** bytes of all files of all commits reachable from refs */
  logicalBytes: number
  /** bytes of pack files */
  storedBytes: number
  /** blocks in the index (chunks and DAG nodes) */
  chunks: number
  packs: number
  repos: number
  commits: number
  /** logical bytes of distinct data chunks */
  uniqueDataBytes: number
  dedupSavedBytes: number
  deltaSavedBytes: number
  compressionSavedBytes: number
  /** logical bytes of DAG nodes, manifests, commits */
  metadataBytes: number
  /** pack headers and index trailers */
  packOverheadBytes: number
}

/** Compute store statistics. */
export async function computeStats (deps: { blocks: BlockStore, index: Index, refs: Refs }): Promise<StoreStats> {
  const { blocks, index, refs } = deps
  const repos = await refs.list()
  const seen = new Set<string>()
  let logicalBytes = 0
  const stack = repos.flatMap(r => [...Object.values(r.heads), ...Object.values(r.tags)])
  while (stack.length > 0) {
    const cid = stack.pop()
    if (cid == null) break
    const k = cid.toString()
    if (seen.has(k) || !blocks.has(cid)) continue
    seen.add(k)
    const c = decodeCommit(cid, blocks.getSync(cid))
    const m = decodeManifest(c.manifest, blocks.getSync(c.manifest))
    for (const f of m.files) logicalBytes += f.size
    stack.push(...c.parents)
  }
  let storedBytes = 0
  let packs = 0
  for await (const [, meta] of index.packs()) { storedBytes += meta.size; packs++ }
  let chunks = 0
  let uniqueDataBytes = 0
  let metadataBytes = 0
  let deltaSavedBytes = 0
  let compressionSavedBytes = 0
  let entryBytes = 0
  for await (const [cid, loc] of index.locations()) {
    chunks++
    entryBytes += loc.storedLength
    if (cid.code === Codec.RAW) uniqueDataBytes += loc.logicalLength
    else metadataBytes += loc.logicalLength
    if (isDeltaCodec(loc.codec)) deltaSavedBytes += loc.logicalLength - loc.storedLength
    else compressionSavedBytes += loc.logicalLength - loc.storedLength
  }
  return {
    logicalBytes,
    storedBytes,
    chunks,
    packs,
    repos: repos.length,
    commits: seen.size,
    uniqueDataBytes,
    dedupSavedBytes: logicalBytes - uniqueDataBytes,
    deltaSavedBytes,
    compressionSavedBytes,
    metadataBytes,
    packOverheadBytes: storedBytes - entryBytes
  }
}
