/**
 * Verified bytes for the server: file ranges as synchronous iterables of
 * leaves (so the socket writer can batch many leaves per event-loop turn),
 * behind a byte-bounded LRU of decoded, already verified chunks. Every chunk
 * not in the cache is read through BlockStore.getSync, which decodes and
 * re-hashes it; the cache only keeps bytes that passed that check.
 * On a store whose packs are remote (serve --store s3://…) file ranges are
 * async instead: each window of leaves is prefetched (ranged GETs into the
 * backend's bounded cache) before it is decoded, the next window's fetch
 * running while the current one is written.
 */
import { ChunkCache } from '../util/byte-lru.js'
import type { BlockStore } from '../store/block-store.js'
import { leafSpans, NodeCache, type LeafSpan } from '../repo/read.js'
import type { CID } from '../hash/cid.js'
import type { ByteRange } from './range.js'

/** Chunks larger than this are never cached (one would evict too much). */
const MAX_CACHED_CHUNK = 4 << 20

/** Default decoded-chunk cache budget. */
export const DEFAULT_CHUNK_CACHE_BYTES = 64 << 20

/** Verified block and file reads with a decoded-chunk cache. */
export interface ChunkSource {
  /** a block's logical bytes, verified */
  get: (cid: CID) => Uint8Array
  /** the leaves covering [start, end) of the file rooted at `root` */
  spans: (root: CID, size: number, start: number, end: number) => Generator<LeafSpan>
  /** bytes [start, end) of a file, leaf by leaf (async when the store's packs are remote) */
  file: (root: CID, size: number, range: ByteRange) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>
  /** cache counters, for /healthz and benchmarks */
  stats: () => { hits: number, misses: number, bytes: number, entries: number }
}

/** Options for {@link createChunkSource}. */
export interface ChunkSourceOptions {
  blocks: Pick<BlockStore, 'getSync'>
  /** decoded-chunk cache budget in bytes (0 disables it) */
  cacheBytes?: number
  /** for remote packs: fetch what a window of leaves needs before it is read (BlockStore.prefetch) */
  prefetch?: (cids: CID[]) => Promise<void>
  /** stored bytes of leaves per prefetch window (default 8 MiB) */
  prefetchWindow?: number
}

/** Create a chunk source over a block store. */
export function createChunkSource (opts: ChunkSourceOptions): ChunkSource {
  const { blocks } = opts
  const budget = opts.cacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES
  const nodes = new NodeCache(4096)
  const lru = new ChunkCache(Math.max(0, budget))

  const get = (cid: CID): Uint8Array => {
    if (budget <= 0) return blocks.getSync(cid)
    const key = cid.toString()
    const hit = lru.get(key)
    if (hit != null) return hit
    const b = blocks.getSync(cid)
    if (b.length <= MAX_CACHED_CHUNK) lru.set(key, b)
    return b
  }

  const spans = (root: CID, size: number, start: number, end: number): Generator<LeafSpan> => leafSpans(blocks, nodes, root, size, start, end)

  function * file (root: CID, size: number, range: ByteRange): Generator<Uint8Array> {
    for (const s of spans(root, size, range.start, range.end)) {
      const leaf = get(s.cid)
      yield s.start === 0 && s.end === leaf.length ? leaf : leaf.subarray(s.start, s.end)
    }
  }

  const prefetch = opts.prefetch
  const windowBytes = Math.max(1, opts.prefetchWindow ?? 8 << 20)
  // a failed prefetch is not an answer: the read that follows retries and reports it
  const fetchWindow = async (w: LeafSpan[]): Promise<void> => {
    const want = w.filter(s => !lru.has(s.cid.toString())).map(s => s.cid)
    if (want.length > 0 && prefetch != null) await prefetch(want).catch(() => {})
  }

  async function * fileRemote (root: CID, size: number, range: ByteRange): AsyncGenerator<Uint8Array> {
    // the file's root node is read first by the walk: fetch it without blocking
    if (!lru.has(root.toString()) && prefetch != null) await prefetch([root]).catch(() => {})
    const it = spans(root, size, range.start, range.end)
    const nextWindow = (): LeafSpan[] => {
      const w: LeafSpan[] = []
      let n = 0
      for (let r = it.next(); r.done !== true; r = it.next()) {
        w.push(r.value)
        n += r.value.length
        if (n >= windowBytes || w.length >= 256) break
      }
      return w
    }
    let cur = nextWindow()
    let curFetch = fetchWindow(cur)
    while (cur.length > 0) {
      const next = nextWindow()
      const nextFetch = next.length > 0 ? fetchWindow(next) : Promise.resolve()
      await curFetch
      for (const s of cur) {
        const leaf = get(s.cid)
        yield s.start === 0 && s.end === leaf.length ? leaf : leaf.subarray(s.start, s.end)
      }
      cur = next
      curFetch = nextFetch
    }
  }

  return { get, spans, file: prefetch != null ? fileRemote : file, stats: () => { const st = lru.stats(); return { hits: st.hits, misses: st.misses, bytes: st.bytes, entries: st.entries } } }
}
