/**
 * gc: remove what no ref reaches, then merge the small packs left (consolidatePacks,
 * which add also runs once AUTO_REPACK_PACKS have accumulated). Packs with nothing live are deleted;
 * packs mostly dead are rewritten with their live entries (kept encoded, as
 * they were) and then deleted. Runs under the store's writer lock, so a
 * concurrent add in this process waits; other processes cannot open the
 * store while it runs (LevelDB lock). Order: new pack + index entries first,
 * old pack removed last, so a crash never loses a live block.
 */
import type { Backend } from '../store/backend.js'
import type { Index } from '../index/index.js'
import { packObjectKey, cleanTmp, type BlockStore, type PackWriter } from '../store/block-store.js'
import type { Refs } from './refs.js'
import { walkReachable } from './walk.js'
import type { ProgressOptions } from '../util/options.js'
import { readPack } from './verify.js'
import { TenpakError, ErrorCode } from '../errors.js'
import type { PackEntry } from '../store/pack-format.js'
import { CID, Codec } from '../hash/cid.js'
import { CodecId } from '../codec/types.js'
import { encodeDelta } from '../codec/delta.js'
import { decodeCommit, type Commit } from '../objects/commit.js'
import { deltaDepth } from './add.js'

/** What gc reports. */
export interface GcReport {
  packsRemoved: number
  packsRewritten: number
  blocksRemoved: number
  bytesFreed: number
  tmpRemoved: number
  /** small packs merged into one afterwards (consolidatePacks) */
  packsMerged: number
}

/** Rewrite a pack when at least this fraction of its bytes is dead. */
export const REPACK_DEAD_FRACTION = 0.3

/** Collect garbage. */
export async function collectGarbage (deps: { blocks: BlockStore, backend: Backend, index: Index, refs: Refs, tmpDir: string }, options: ProgressOptions = {}): Promise<GcReport> {
  const { blocks, backend, index, refs } = deps
  const reach = await walkReachable(blocks, refs)
  if (reach.missing.length > 0) {
    // never delete anything while the store is damaged: what is "unreachable" may be misjudged
    throw new TenpakError(ErrorCode.CORRUPT, `gc refused: ${reach.missing.length} reachable block(s) are missing (run tenpak verify)`)
  }
  const report: GcReport = { packsRemoved: 0, packsRewritten: 0, blocksRemoved: 0, bytesFreed: 0, tmpRemoved: await cleanTmp(deps.tmpDir), packsMerged: 0 }
  const packs: Array<[string, number]> = []
  for await (const [id, meta] of index.packs()) packs.push([id, meta.size])
  for (const [packId, size] of packs) {
    const key = packObjectKey(packId)
    const { bytes, entries } = await readPack(backend, key)
    const owned = ownedEntries(index, packId, entries)
    const live = owned.filter(e => reach.cids.has(e.cid.toString()))
    const dead = owned.filter(e => !reach.cids.has(e.cid.toString()))
    const liveBytes = live.reduce((s, e) => s + e.storedLength, 0)
    if (live.length === owned.length && owned.length === entries.length) continue
    if (live.length > 0 && (size - liveBytes) / size < REPACK_DEAD_FRACTION && owned.length === entries.length) continue
    if (live.length > 0) {
      // the new pack's index batch repoints the live entries before the old pack goes
      const writer = blocks.writer()
      for (const e of live) moveEntry(writer, e, { codec: e.codec, data: bytes.subarray(e.offset, e.offset + e.storedLength), base: e.base })
      await writer.flush()
      report.bytesFreed -= writer.sealedBytes
      report.packsRewritten++
    } else {
      report.packsRemoved++
    }
    const batch = index.batch()
    for (const e of dead) batch.delLocation(e.cid)
    batch.delPack(packId)
    await batch.write()
    await backend.remove(key)
    report.blocksRemoved += dead.length
    report.bytesFreed += size
    options.onProgress?.({ type: 'gc:pack', detail: packId })
  }
  // then, as git gc repacks, the small packs that remain become one
  const merged = await consolidatePacks(deps, options)
  report.packsMerged = merged.packsMerged
  report.bytesFreed += merged.bytesBefore - merged.bytesAfter
  return report
}

/** The entries of a pack its index locates there; the others are duplicates held elsewhere. */
function ownedEntries (index: Index, packId: string, entries: PackEntry[]): PackEntry[] {
  return entries.filter(e => index.getLocation(e.cid)?.packId === packId)
}

/** Copy a pack entry into `writer` encoded as `enc` (as stored, or re-encoded): its new pack's index batch repoints it. */
function moveEntry (writer: PackWriter, e: PackEntry, enc: { codec: number, data: Uint8Array, base?: CID }): void {
  writer.put(e.cid, new Uint8Array(0), { encoded: enc, logicalLength: e.logicalLength, force: true })
}

/** Packs smaller than this are "small": consolidation merges them into one. */
export const SMALL_PACK_MAX = 4 * 1024 * 1024

/**
 * `add` consolidates once this many small packs have accumulated: each add
 * writes a pack of its own, and a store of daily versions would otherwise keep
 * one pack per version, each with its own header, footer and index naming
 * its bases by digest (on the 190-version sp500 series, 12 KB of headers and
 * footers and 11 KB of base digests). As git's gc.autoPackLimit, scaled to
 * packs this small: re-merging ≤ 4 MiB every few adds is cheap.
 */
export const AUTO_REPACK_PACKS = 8

/** Most bytes of small packs one consolidation reads (and so holds in memory): the pack target. */
export const REPACK_MAX_BYTES = 64 * 1024 * 1024

/**
 * A commit or manifest re-encoded at consolidation patches against its
 * parent's, whose own chain it extends; chains of these small objects stop
 * here (reading HEAD's commit then decodes at most this many ~150-byte
 * patches) and the next one is kept whole.
 */
export const METADATA_CHAIN_MAX = 32

/** What a consolidation did. */
export interface RepackReport {
  /** small packs merged (and removed) */
  packsMerged: number
  /** their total size, and the size of what replaced them */
  bytesBefore: number
  bytesAfter: number
  /** commits and manifests now stored as patches of their parent's */
  reencoded: number
}

/**
 * Merge the store's small packs (< {@link SMALL_PACK_MAX}) into one, at most
 * {@link REPACK_MAX_BYTES} of them per call, when there are at least
 * `minPacks` (default 2). Every entry a small pack owns moves, live or not
 * (gc is what removes dead ones), kept encoded as it was; bases inside the
 * merged pack are then named by position (pack v3) instead of by digest.
 * Commits and manifests stored whole become patches of their parent
 * commit's (a new version's commit differs from its parent's in a few
 * digests, a time and a message; a commit as DELTA_CHILD, whose dictionary
 * holds the parent's CID it links to), when that saves bytes and the chain stays
 * within {@link METADATA_CHAIN_MAX}. Same crash order as gc: the new pack and
 * its index entries first, the old packs removed last.
 */
export async function consolidatePacks (deps: { blocks: BlockStore, backend: Backend, index: Index }, options: ProgressOptions & { minPacks?: number } = {}): Promise<RepackReport> {
  const { blocks, backend, index } = deps
  const report: RepackReport = { packsMerged: 0, bytesBefore: 0, bytesAfter: 0, reencoded: 0 }
  const small: Array<[string, number]> = []
  for await (const [id, meta] of index.packs()) if (meta.size < SMALL_PACK_MAX) small.push([id, meta.size])
  if (small.length < Math.max(2, options.minPacks ?? 2)) return report
  // smallest first, so that a large backlog is merged a bounded batch at a time
  small.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
  const take: Array<[string, number]> = []
  let total = 0
  for (const p of small) {
    if (take.length >= 2 && total + p[1] > REPACK_MAX_BYTES) break
    take.push(p)
    total += p[1]
  }
  const moving: Array<{ e: PackEntry, data: Uint8Array }> = []
  for (const [packId] of take) {
    const { bytes, entries } = await readPack(backend, packObjectKey(packId))
    for (const e of ownedEntries(index, packId, entries)) moving.push({ e, data: bytes.subarray(e.offset, e.offset + e.storedLength) })
  }
  const reencoded = reencodeMetadata(blocks, moving)
  const writer = blocks.writer()
  for (const { e, data } of moving) moveEntry(writer, e, reencoded.get(e.cid.toString()) ?? { codec: e.codec, data, base: e.base })
  await writer.flush()
  const batch = index.batch()
  for (const [packId] of take) batch.delPack(packId)
  await batch.write()
  for (const [packId, size] of take) {
    await backend.remove(packObjectKey(packId))
    report.bytesBefore += size
    options.onProgress?.({ type: 'repack:pack', detail: packId })
  }
  report.packsMerged = take.length
  report.bytesAfter = writer.sealedBytes
  report.reencoded = reencoded.size
  return report
}

/**
 * New encodings for the commits and manifests among `moving` that are stored
 * whole: a patch against the parent commit's commit (manifest), kept when it
 * saves more than naming the base costs. Oldest first, so a parent re-encoded
 * here counts with its new depth.
 */
function reencodeMetadata (blocks: BlockStore, moving: Array<{ e: PackEntry }>): Map<string, { codec: number, data: Uint8Array, base: CID }> {
  const out = new Map<string, { codec: number, data: Uint8Array, base: CID }>()
  // each commit is read as a commit, as its child's parent and as a delta's target or base: once
  const read = new Map<string, Uint8Array>()
  const bytesOf = (cid: CID): Uint8Array => {
    const key = cid.toString()
    let b = read.get(key)
    if (b == null) { b = blocks.getSync(cid); read.set(key, b) }
    return b
  }
  const here = new Set(moving.map(m => m.e.cid.toString()))
  const whole = new Set(moving.filter(m => m.e.codec === CodecId.RAW && m.e.base == null && m.e.cid.code === Codec.DAG_CBOR).map(m => m.e.cid.toString()))
  const commits = new Map<string, Commit>()
  for (const m of moving) {
    if (!whole.has(m.e.cid.toString())) continue
    try {
      const c = decodeCommit(m.e.cid, bytesOf(m.e.cid))
      if (c.parents.length > 0) commits.set(m.e.cid.toString(), c)
    } catch { /* a manifest, a tensor table or another object: not a commit */ }
  }
  const depth = new Map<string, number>()
  const depthOf = (cid: CID): number => depth.get(cid.toString()) ?? deltaDepth(blocks, cid)
  const plan = (target: CID, base: CID, kind: 'child' | 'header'): void => {
    const key = target.toString()
    if (!whole.has(key) || out.has(key) || !blocks.has(base)) return
    const d = depthOf(base) + 1
    if (d > METADATA_CHAIN_MAX) return
    const bytes = bytesOf(target)
    const enc = encodeDelta(bytes, bytesOf(base), { kind }, { patchLevel: 19 })
    // a base in the merged pack costs ~2 bytes of index, one elsewhere its digest
    const cost = here.has(base.toString()) ? 2 : 34
    if (enc == null || enc.data.length + cost >= bytes.length) return
    out.set(key, { codec: enc.codec, data: enc.data, base })
    depth.set(key, d)
  }
  // a commit's parent before the commit, so its depth is known when the commit's is planned
  const done = new Set<string>()
  for (const start of commits.keys()) {
    const line: string[] = []
    for (let k: string | undefined = start; k != null && commits.has(k) && !done.has(k); k = commits.get(k)?.parents[0].toString()) {
      line.push(k)
      done.add(k)
    }
    for (const key of line.reverse()) {
      const c = commits.get(key) as Commit
      let parent: Commit
      try {
        parent = decodeCommit(c.parents[0], bytesOf(c.parents[0]))
      } catch { continue } // the parent is not here (a shallow pull): stays whole
      plan(c.manifest, parent.manifest, 'header')
      // the commit names its parent, the base: DELTA_CHILD has that CID in its dictionary
      plan(CID.parse(key), c.parents[0], 'child')
    }
  }
  return out
}
