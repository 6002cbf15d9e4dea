/**
 * Verified bytes for the server: file ranges as synchronous iterables of
 * leaves (so the socket writer can batch many leaves per event-loop turn),
 * behind a byte-bounded LRU of decoded, already verified chunks. Every chunk
 * not in the cache is read through BlockStore.getSync, which decodes and
 * re-hashes it; the cache only keeps bytes that passed that check.
 */
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
  /** bytes [start, end) of a file, leaf by leaf */
  file: (root: CID, size: number, range: ByteRange) => Iterable<Uint8Array>
  /** cache counters, for /healthz and benchmarks */
  stats: () => { hits: number, misses: number, bytes: number, entries: number }
}

/** Options for {@link createChunkSource}. */
export interface ChunkSourceOptions {
  blocks: Pick<BlockStore, 'getSync'>
  /** decoded-chunk cache budget in bytes (0 disables it) */
  cacheBytes?: number
}

/** Create a chunk source over a block store. */
export function createChunkSource (opts: ChunkSourceOptions): ChunkSource {
  const { blocks } = opts
  const budget = opts.cacheBytes ?? DEFAULT_CHUNK_CACHE_BYTES
  const nodes = new NodeCache(4096)
  const lru = new Map<string, Uint8Array>()
  let bytes = 0
  let hits = 0
  let misses = 0

  const get = (cid: CID): Uint8Array => {
    if (budget <= 0) return blocks.getSync(cid)
    const key = cid.toString()
    const hit = lru.get(key)
    if (hit != null) {
      hits++
      lru.delete(key)
      lru.set(key, hit)
      return hit
    }
    misses++
    const b = blocks.getSync(cid)
    if (b.length <= MAX_CACHED_CHUNK && b.length <= budget) {
      lru.set(key, b)
      bytes += b.length
      while (bytes > budget) {
        const [k, v] = lru.entries().next().value as [string, Uint8Array]
        lru.delete(k)
        bytes -= v.length
      }
    }
    return b
  }

  const spans = (root: CID, size: number, start: number, end: number): Generator<LeafSpan> => leafSpans(blocks, nodes, root, size, start, end)

  function * file (root: CID, size: number, range: ByteRange): Generator<Uint8Array> {
    for (const s of spans(root, size, range.start, range.end)) {
      const leaf = get(s.cid)
      yield s.start === 0 && s.end === leaf.length ? leaf : leaf.subarray(s.start, s.end)
    }
  }

  return { get, spans, file, stats: () => ({ hits, misses, bytes, entries: lru.size }) }
}
