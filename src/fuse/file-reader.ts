/**
 * Serving a read of a mounted file: map [offset, offset+length) to the leaves
 * that hold it (leafSpans over the file DAG), take them from the chunk cache
 * or decode them (only those leaves), and copy them into the kernel's buffer.
 *
 * Each open file keeps a little state to detect sequential reading: the
 * kernel issues 128 KiB reads, several at once and not always in order, so
 * a read that starts within `SEQ_WINDOW` of where the previous ones ended
 * counts as sequential. After two such reads, leaves ahead of the reader are
 * decoded at readahead priority. The window is as large as what the reader
 * has read sequentially so far (at least 256 KiB, at most `maxReadahead`):
 * a loader streaming a file soon gets the full window, while a few scattered
 * reads (say, page-cache misses of a file read before) decode little extra.
 *
 * Files with a tensor table (safetensors, GGUF) bound readahead by tensor:
 * it stops at the end of the tensor being read, and in a new tensor it grows
 * again from what was read of that tensor. A loader that reads every tensor
 * in order loses little; one that reads a few tensors of a large file does
 * not pay for decoding the starts of the tensors after them.
 */
import type { BlockStore } from '../store/block-store.js'
import { leafSpans, type NodeCache, type LeafSpan } from '../repo/read.js'
import type { FileEntry } from '../objects/commit.js'
import { Priority, type LeafFetcher } from './leaf-fetcher.js'

/** Reads starting this close to the previous end count as sequential. */
const SEQ_WINDOW = 1 << 20

/** Smallest readahead window once a reader is sequential. */
const MIN_READAHEAD = 256 << 10

/** Sequential-read tracking of one open file. */
export interface ReadState {
  /** end of the furthest read so far */
  end: number
  /** consecutive sequential reads */
  streak: number
  /** bytes read by those reads */
  seqBytes: number
  /** readahead requested up to this offset */
  aheadTo: number
}

/** A file as the reader needs it: its DAG root, size and optional segment starts. */
export interface ReadFile {
  cid: FileEntry['cid']
  size: number
  /** ascending start offsets of the file's segments (tensors), first 0; readahead stays inside one */
  segments?: number[]
}

/** A fresh read state. */
export function newReadState (): ReadState {
  return { end: -1, streak: 0, seqBytes: 0, aheadTo: 0 }
}

/** What a file read needs. */
export interface ReaderDeps {
  blocks: Pick<BlockStore, 'getSync'>
  nodes: NodeCache
  fetcher: LeafFetcher
  /** largest readahead window in bytes (0 disables readahead) */
  maxReadahead: number
}

/**
 * Fill `buf` with bytes [offset, offset + length) of `file` (fewer at the end
 * of the file) and return how many were written.
 */
export async function readInto (deps: ReaderDeps, file: ReadFile, buf: Uint8Array, offset: number, length: number, state: ReadState): Promise<number> {
  const end = Math.min(file.size, offset + length)
  if (offset >= end) return 0
  const spans = [...leafSpans(deps.blocks, deps.nodes, file.cid, file.size, offset, end)]
  track(deps, file, state, offset, end)

  // all cached: copy now, without a trip through the event loop
  const leaves: Array<Uint8Array | undefined> = spans.map(s => deps.fetcher.cached(s.cid))
  if (leaves.some(l => l == null)) {
    const got = await Promise.all(spans.map(async (s, i) => leaves[i] ?? await deps.fetcher.get(s.cid, Priority.READ)))
    for (let i = 0; i < got.length; i++) leaves[i] = got[i]
  }
  return copy(spans, leaves as Uint8Array[], buf)
}

function copy (spans: LeafSpan[], leaves: Uint8Array[], buf: Uint8Array): number {
  let pos = 0
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]
    const leaf = leaves[i]
    buf.set(s.start === 0 && s.end === leaf.length ? leaf : leaf.subarray(s.start, s.end), pos)
    pos += s.end - s.start
  }
  return pos
}

function track (deps: ReaderDeps, file: ReadFile, state: ReadState, offset: number, end: number): void {
  const sequential = state.end >= 0 && offset <= state.end + SEQ_WINDOW && offset + SEQ_WINDOW >= state.end
  state.streak = sequential ? state.streak + 1 : 0
  state.seqBytes = sequential ? state.seqBytes + (end - offset) : 0
  if (!sequential) state.aheadTo = 0
  state.end = sequential ? Math.max(state.end, end) : end
  if (state.streak < 2 || deps.maxReadahead <= 0) return
  let segStart = 0
  let segEnd = file.size
  if (file.segments != null && file.segments.length > 0) {
    // the segment holding the last byte read so far
    const i = lastAtOrBefore(file.segments, state.end - 1)
    segStart = file.segments[i]
    segEnd = i + 1 < file.segments.length ? file.segments[i + 1] : file.size
  }
  const read = Math.min(state.seqBytes, state.end - segStart)
  const window = Math.min(deps.maxReadahead, Math.max(MIN_READAHEAD, read))
  const target = Math.min(segEnd, state.end + window)
  const from = Math.max(state.end, state.aheadTo)
  // extend in steps of at least a quarter window, so each read does not walk the DAG for one leaf
  if (target - from < window / 4 && target < segEnd) return
  if (from < target) {
    for (const s of leafSpans(deps.blocks, deps.nodes, file.cid, file.size, from, target)) deps.fetcher.prefetch(s.cid)
  }
  state.aheadTo = Math.max(state.aheadTo, target)
}

/** Index of the last element of ascending `xs` that is ≤ x (0 if none). */
function lastAtOrBefore (xs: number[], x: number): number {
  let lo = 0
  let hi = xs.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (xs[mid] <= x) lo = mid
    else hi = mid - 1
  }
  return lo
}
