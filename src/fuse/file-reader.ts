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
export async function readInto (deps: ReaderDeps, file: Pick<FileEntry, 'cid' | 'size'>, buf: Uint8Array, offset: number, length: number, state: ReadState): Promise<number> {
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

function track (deps: ReaderDeps, file: Pick<FileEntry, 'cid' | 'size'>, state: ReadState, offset: number, end: number): void {
  const sequential = state.end >= 0 && offset <= state.end + SEQ_WINDOW && offset + SEQ_WINDOW >= state.end
  state.streak = sequential ? state.streak + 1 : 0
  state.seqBytes = sequential ? state.seqBytes + (end - offset) : 0
  if (!sequential) state.aheadTo = 0
  state.end = sequential ? Math.max(state.end, end) : end
  if (state.streak < 2 || deps.maxReadahead <= 0) return
  const window = Math.min(deps.maxReadahead, Math.max(MIN_READAHEAD, state.seqBytes))
  const target = Math.min(file.size, state.end + window)
  const from = Math.max(state.end, state.aheadTo)
  // extend in steps of at least a quarter window, so each read does not walk the DAG for one leaf
  if (target - from < window / 4 && target < file.size) return
  if (from < target) {
    for (const s of leafSpans(deps.blocks, deps.nodes, file.cid, file.size, from, target)) deps.fetcher.prefetch(s.cid)
  }
  state.aheadTo = Math.max(state.aheadTo, target)
}
