/**
 * gc: remove what no ref reaches. Packs with nothing live are deleted;
 * packs mostly dead are rewritten with their live entries (kept encoded, as
 * they were) and then deleted. Runs under the store's writer lock, so a
 * concurrent add in this process waits; other processes cannot open the
 * store while it runs (LevelDB lock). Order: new pack + index entries first,
 * old pack removed last, so a crash never loses a live block.
 */
import type { Backend } from '../store/backend.js'
import type { Index } from '../index/index.js'
import { packObjectKey, cleanTmp, type BlockStore } from '../store/block-store.js'
import type { Refs } from './refs.js'
import { walkReachable } from './walk.js'
import type { ProgressOptions } from '../util/options.js'
import { readPack } from './verify.js'
import { TenpakError, ErrorCode } from '../errors.js'

/** What gc reports. */
export interface GcReport {
  packsRemoved: number
  packsRewritten: number
  blocksRemoved: number
  bytesFreed: number
  tmpRemoved: number
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
  const report: GcReport = { packsRemoved: 0, packsRewritten: 0, blocksRemoved: 0, bytesFreed: 0, tmpRemoved: await cleanTmp(deps.tmpDir) }
  const packs: Array<[string, number]> = []
  for await (const [id, meta] of index.packs()) packs.push([id, meta.size])
  for (const [packId, size] of packs) {
    const key = packObjectKey(packId)
    const { bytes, entries } = await readPack(backend, key)
    // only entries whose index location is this pack belong to it; others are duplicates held elsewhere
    const owned = entries.filter(e => index.getLocation(e.cid)?.packId === packId)
    const live = owned.filter(e => reach.cids.has(e.cid.toString()))
    const dead = owned.filter(e => !reach.cids.has(e.cid.toString()))
    const liveBytes = live.reduce((s, e) => s + e.storedLength, 0)
    if (live.length === owned.length && owned.length === entries.length) continue
    if (live.length > 0 && (size - liveBytes) / size < REPACK_DEAD_FRACTION && owned.length === entries.length) continue
    if (live.length > 0) {
      // the new pack's index batch repoints the live entries before the old pack goes
      const writer = blocks.writer()
      for (const e of live) {
        const enc = { codec: e.codec, data: bytes.subarray(e.offset, e.offset + e.storedLength), base: e.base }
        writer.put(e.cid, new Uint8Array(0), { encoded: enc, logicalLength: e.logicalLength, force: true })
      }
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
  return report
}
