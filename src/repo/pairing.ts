/**
 * Base pairing: for a file being added as a fine-tune (or new version) of a
 * stored base file, find for each new chunk the base chunk it most likely
 * resembles, so the codec layer can store it as a delta. Tensors pair by
 * name, then by (shape, dtype) in order when names were renumbered, then by
 * shape alone (a dtype cast); piece i pairs with piece i. Other chunks
 * (headers, metadata, generic bytes) pair by their order among such chunks.
 * Interior DAG nodes pair by their post-order position.
 */
import type { CID } from '../hash/cid.js'
import { Codec, isInline } from '../hash/cid.js'
import type { BlockStore } from '../store/block-store.js'
import type { FileEntry } from '../objects/commit.js'
import type { TensorInfo, FileLayout } from '../formats/types.js'
import type { ChunkHint } from '../chunk/types.js'
import { leafSpans, type NodeCache } from './read.js'
import { createAnchors, type Anchors } from '../chunk/gear.js'

/** Where a base file's chunks are, by role. */
export interface BaseFile {
  entry: FileEntry
  tensors: TensorInfo[]
  /** leaves of each base tensor, in piece order */
  tensorLeaves: Map<string, CID[]>
  /** leaves outside every tensor, in file order */
  otherLeaves: CID[]
  /** all leaves with their offsets, in file order */
  leaves: Array<{ cid: CID, offset: number, length: number }>
  /** interior nodes in post-order (the order FileDagBuilder emits them) */
  nodes: CID[]
}

/** Index a stored file for pairing. */
export function loadBaseFile (blocks: Pick<BlockStore, 'getSync'>, cache: NodeCache, entry: FileEntry, tensors: TensorInfo[] | undefined): BaseFile {
  const leaves: BaseFile['leaves'] = []
  for (const s of leafSpans(blocks, cache, entry.cid, entry.size, 0, entry.size)) leaves.push({ cid: s.cid, offset: s.fileOffset, length: s.length })
  const tt = tensors ?? []
  const tensorLeaves = new Map<string, CID[]>()
  const otherLeaves: CID[] = []
  // tensors sorted by start; a leaf belongs to the tensor whose range holds its offset
  const byStart = [...tt].filter(t => t.end > t.start).sort((a, b) => a.start - b.start)
  let ti = 0
  for (const l of leaves) {
    while (ti < byStart.length && byStart[ti].end <= l.offset) ti++
    const t = byStart[ti]
    if (t != null && l.offset >= t.start && l.offset < t.end) {
      let list = tensorLeaves.get(t.name)
      if (list == null) { list = []; tensorLeaves.set(t.name, list) }
      list.push(l.cid)
    } else {
      otherLeaves.push(l.cid)
    }
  }
  const nodes: CID[] = []
  const post = (cid: CID): void => {
    if (cid.code === Codec.RAW) return
    const n = cache.get(blocks, cid)
    for (const l of n.links) post(l.cid)
    nodes.push(cid)
  }
  post(entry.cid)
  return { entry, tensors: tt, tensorLeaves, otherLeaves, leaves, nodes }
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)

/** Decide which base tensor each derived tensor pairs with. */
export function pairTensors (derived: TensorInfo[], base: TensorInfo[]): Map<string, TensorInfo> {
  const out = new Map<string, TensorInfo>()
  const used = new Set<string>()
  const baseByName = new Map(base.map(t => [t.name, t]))
  for (const t of derived) {
    const b = baseByName.get(t.name)
    if (b != null && count(b.shape) === count(t.shape)) { out.set(t.name, b); used.add(b.name) }
  }
  // renumbered or renamed tensors: same shape and dtype, in file order; then same shape (a cast)
  for (const key of [(t: TensorInfo) => `${t.dtype}:${t.shape.join('x')}`, (t: TensorInfo) => t.shape.join('x')]) {
    const pool = new Map<string, TensorInfo[]>()
    for (const b of base) {
      if (used.has(b.name)) continue
      const k = key(b)
      const list = pool.get(k) ?? []
      list.push(b)
      pool.set(k, list)
    }
    for (const t of derived) {
      if (out.has(t.name)) continue
      const b = pool.get(key(t))?.shift()
      if (b != null) { out.set(t.name, b); used.add(b.name) }
    }
  }
  return out
}

/** Per-file pairing used while ingesting: base chunk for each new chunk or node. */
export interface FilePairing {
  /** base chunk for a new chunk, and the base tensor's dtype */
  chunkBase: (hint: ChunkHint, offset: number, length: number) => { cid: CID, dtype?: string } | undefined
  /** base node for the k-th interior node the builder emits */
  nodeBase: (k: number) => CID | undefined
  /** base layout override: chunk an unparsed file at the base's leaf boundaries */
  layoutOverride?: FileLayout
}

/** Build the pairing of a derived file (with its layout) against a base file. */
export function pairFile (layout: FileLayout, size: number, base: BaseFile): FilePairing {
  const tensorPairs = pairTensors(layout.tensors ?? [], base.tensors)
  const otherOrdinal = { n: 0 }
  let layoutOverride: FileLayout | undefined
  // an unparsed file of the same length as its base: cut at the base's leaf
  // boundaries, so chunk i pairs with base leaf i by offset
  const sameLengthBytes = (layout.tensors == null || layout.tensors.length === 0) && base.tensors.length === 0 && size === base.entry.size && size > 0
  if (sameLengthBytes) {
    layoutOverride = {
      format: layout.format,
      segments: base.leaves.map(l => ({ start: l.offset, end: l.offset + l.length, kind: 'header' as const }))
    }
  }
  const leafByOffset = new Map(base.leaves.map(l => [l.offset, l.cid]))
  return {
    layoutOverride,
    chunkBase (hint, offset) {
      if (sameLengthBytes) {
        const cid = leafByOffset.get(offset)
        return cid != null ? { cid } : undefined
      }
      if (hint.kind === 'tensor' && hint.tensor != null) {
        const b = tensorPairs.get(hint.tensor)
        if (b == null) return undefined
        const cid = base.tensorLeaves.get(b.name)?.[hint.piece ?? 0]
        return cid != null ? { cid, dtype: b.dtype } : undefined
      }
      // a base kept whole (a small file, chunker.ts wholeMax) is every chunk's dictionary
      const cid = base.otherLeaves.length === 1 && base.tensors.length === 0 ? base.otherLeaves[0] : base.otherLeaves[otherOrdinal.n++]
      return cid != null ? { cid } : undefined
    },
    nodeBase: (k) => base.nodes[k]
  }
}

/** Choose the base file for a derived file: same path, else best tensor overlap, else same format and size. */
export function chooseBaseFile (path: string, layout: FileLayout, size: number, candidates: Array<{ entry: FileEntry, tensors?: TensorInfo[] }>): { entry: FileEntry, tensors?: TensorInfo[] } | undefined {
  const same = candidates.find(c => c.entry.path === path)
  if (same != null) return same
  const names = new Set((layout.tensors ?? []).map(t => `${t.name}:${t.shape.join('x')}`))
  let best: { entry: FileEntry, tensors?: TensorInfo[] } | undefined
  let bestScore = 0
  for (const c of candidates) {
    let score = 0
    for (const t of c.tensors ?? []) if (names.has(`${t.name}:${t.shape.join('x')}`)) score++
    if (score > bestScore) { best = c; bestScore = score }
  }
  if (best != null) return best
  const sameFormat = candidates.filter(c => c.entry.format === layout.format)
  if (sameFormat.length === 1) return sameFormat[0]
  return sameFormat.find(c => c.entry.size === size)
}

/** Largest base file whose leaves are read to carry its chunk ends over (anchors): reading them costs a decode of the whole base. */
export const MAX_ANCHOR_BASE_BYTES = 1 << 30

/** Anchored pairing of a content-defined file (records, text, bytes) with its base: see {@link anchorPairing}. */
export interface AnchorPairing {
  anchors: Anchors
  /** the base leaf a new chunk most likely lies in; call for every chunk, in order */
  baseFor: (offset: number, length: number, anchor: number | undefined) => CID | undefined
}

/**
 * For a derived file paired with a base file: the ends of the base's
 * non-tensor chunks as anchors for the chunker (so new records/bytes chunks
 * do not straddle base chunk boundaries), and a locator that maps each new
 * chunk to the base leaf holding the same content — by the last anchor
 * matched and the distance from it, which follows insertions and deletions
 * between versions, unlike pairing by ordinal. In a model (a file with
 * tensors: the bytes are container structure and metadata between and after
 * tensors) the locator answers only after an anchor was matched, since its
 * byte regions move with every re-serialisation; before that the caller's
 * ordinal pairing stands. Undefined when neither file has such bytes or the
 * base is larger than {@link MAX_ANCHOR_BASE_BYTES}.
 */
export function anchorPairing (blocks: Pick<BlockStore, 'getSync'>, layout: FileLayout, base: BaseFile): AnchorPairing | undefined {
  if (!layout.segments.some(s => s.kind === 'records' || s.kind === 'bytes')) return undefined
  if (base.entry.size > MAX_ANCHOR_BASE_BYTES || base.leaves.length < 2 || base.otherLeaves.length === 0) return undefined
  const isModel = (layout.tensors?.length ?? 0) > 0 || base.tensors.length > 0
  const other = new Set(base.otherLeaves.map(c => c.toString()))
  const chunks = function * (): Generator<{ index: number, bytes: Uint8Array, end: number }> {
    for (let k = 0; k < base.leaves.length - 1; k++) {
      const l = base.leaves[k]
      if (!other.has(l.cid.toString())) continue // tensor pieces: never read here
      yield { index: k, bytes: blocks.getSync(l.cid), end: l.offset + l.length }
    }
  }
  const leaves = base.leaves
  const size = base.entry.size
  let lastBase = 0
  let lastDerived = 0
  let anchored = false
  const leafAt = (o: number): number => {
    let lo = 0
    let hi = leaves.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (leaves[mid].offset <= o) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  return {
    anchors: createAnchors(chunks()),
    baseFor (offset, length, anchor) {
      const mapped = Math.min(size - 1, Math.max(0, lastBase + (offset - lastDerived) + Math.floor(length / 2)))
      // an inline leaf (a JSON array's ']', a short header) is no dictionary: take its nearest stored neighbour
      let k = leafAt(mapped)
      if (isInline(leaves[k].cid)) {
        if (k > 0 && !isInline(leaves[k - 1].cid)) k--
        else if (k + 1 < leaves.length && !isInline(leaves[k + 1].cid)) k++
      }
      const cid = isModel && !anchored ? undefined : leaves[k].cid
      if (anchor !== undefined && anchor < leaves.length) {
        lastBase = leaves[anchor].offset + leaves[anchor].length
        lastDerived = offset + length
        anchored = true
      }
      return cid
    }
  }
}
