/**
 * verify: re-read every pack (whole-pack hash = pack id, index trailer hash,
 * every entry decoded and re-hashed), check the LevelDB index against the
 * packs, and check that everything a ref reaches is stored. rebuildIndex:
 * recreate the index from the packs alone.
 */
import type { Backend } from '../store/backend.js'
import type { Index, Location } from '../index/index.js'
import { packObjectKey, type BlockStore } from '../store/block-store.js'
import { decodePackFooter, decodePackIndex, PACK_FOOTER_SIZE, type PackEntry } from '../store/pack-format.js'
import { blake3 } from '../hash/blake3.js'
import { verifyBlock } from '../hash/cid.js'
import { decodeChunk } from '../codec/codecs.js'
import { toHex } from '../util/bytes.js'
import type { Refs } from './refs.js'
import { walkReachable } from './walk.js'
import type { ProgressOptions } from '../util/options.js'

/** One problem verify found. */
export interface VerifyProblem {
  kind: 'pack' | 'entry' | 'index' | 'missing'
  id: string
  error: string
}

/** What verify reports. */
export interface VerifyReport {
  ok: boolean
  packs: number
  entries: number
  reachable: number
  bad: VerifyProblem[]
}

const packIdOfKey = (key: string): string | undefined => /([0-9a-f]{64})\.pack$/.exec(key)?.[1]

/** Read and check a pack's index; returns its entries and the whole pack bytes. */
export async function readPack (backend: Backend, key: string): Promise<{ bytes: Uint8Array, entries: PackEntry[] }> {
  const bytes = await backend.load(key)
  const footer = decodePackFooter(bytes.subarray(bytes.length - PACK_FOOTER_SIZE), bytes.length, key)
  const entries = decodePackIndex(bytes.subarray(footer.indexOffset, footer.indexOffset + footer.indexLength), footer, key)
  return { bytes, entries }
}

/** Read only a pack's index (ranged reads of footer and trailer). */
export async function readPackIndex (backend: Backend, key: string): Promise<PackEntry[]> {
  const st = await backend.stat(key)
  if (st == null || st.size < PACK_FOOTER_SIZE) throw new Error(`${key} is missing or too short`)
  const footer = decodePackFooter(await backend.load(key, { offset: st.size - PACK_FOOTER_SIZE, length: PACK_FOOTER_SIZE }), st.size, key)
  const index = await backend.load(key, { offset: footer.indexOffset, length: footer.indexLength })
  return decodePackIndex(index, footer, key)
}

/** Verify the whole store. */
export async function verifyStore (deps: { blocks: BlockStore, backend: Backend, index: Index, refs: Refs }, options: ProgressOptions = {}): Promise<VerifyReport> {
  const { blocks, backend, index, refs } = deps
  const bad: VerifyProblem[] = []
  let packs = 0
  let entries = 0
  const packIds = new Set<string>()
  for await (const key of backend.list('packs/')) {
    const id = packIdOfKey(key)
    if (id == null) continue
    packs++
    packIds.add(id)
    let pack
    try {
      pack = await readPack(backend, key)
    } catch (err) {
      bad.push({ kind: 'pack', id, error: (err as Error).message })
      continue
    }
    if (toHex(blake3(pack.bytes)) !== id) bad.push({ kind: 'pack', id, error: 'pack bytes do not match the pack id' })
    for (const e of pack.entries) {
      entries++
      try {
        let base: Uint8Array | undefined
        if (e.base != null) base = blocks.getSync(e.base)
        const logical = decodeChunk(e.codec, pack.bytes.subarray(e.offset, e.offset + e.storedLength), e.logicalLength, base)
        verifyBlock(e.cid, logical)
      } catch (err) {
        bad.push({ kind: 'entry', id: `${e.cid.toString()} in pack ${id}`, error: (err as Error).message })
      }
      if (index.getLocation(e.cid) == null) bad.push({ kind: 'index', id: e.cid.toString(), error: `stored in pack ${id} but missing from the index (run verify --rebuild-index)` })
    }
    options.onProgress?.({ type: 'verify:pack', detail: id })
  }
  for await (const [cid, loc] of index.locations()) {
    if (!packIds.has(loc.packId)) bad.push({ kind: 'index', id: cid.toString(), error: `index points at missing pack ${loc.packId}` })
  }
  const reach = await walkReachable(blocks, refs)
  for (const m of reach.missing) bad.push({ kind: 'missing', id: m.cid, error: `reachable from ${m.from} but not stored` })
  return { ok: bad.length === 0, packs, entries, reachable: reach.cids.size, bad }
}

/** Recreate the index from the packs. Where a block is in several packs, the first listed wins. */
export async function rebuildIndex (deps: { backend: Backend, index: Index }, options: ProgressOptions = {}): Promise<{ packs: number, entries: number }> {
  const { backend, index } = deps
  await index.clear()
  let packs = 0
  let entries = 0
  const seen = new Set<string>()
  for await (const key of backend.list('packs/')) {
    const id = packIdOfKey(key)
    if (id == null) continue
    let list: PackEntry[]
    try {
      list = await readPackIndex(backend, key)
    } catch {
      continue // reported by verify
    }
    const st = await backend.stat(key)
    const batch = index.batch()
    let logical = 0
    for (const e of list) {
      logical += e.logicalLength
      const k = e.cid.toString()
      if (seen.has(k)) continue
      seen.add(k)
      const loc: Location = { packId: id, offset: e.offset, storedLength: e.storedLength, logicalLength: e.logicalLength, codec: e.codec }
      if (e.base != null) loc.base = e.base
      batch.putLocation(e.cid, loc)
      entries++
    }
    batch.putPack(id, { size: st?.size ?? 0, entries: list.length, logicalBytes: logical })
    await batch.write()
    packs++
    options.onProgress?.({ type: 'rebuild:pack', detail: id })
  }
  return { packs, entries }
}

export { packObjectKey }
