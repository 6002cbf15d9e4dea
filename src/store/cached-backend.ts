/**
 * A bounded, in-memory LRU of object ranges in front of a remote backend
 * (S3), for stores whose packs stay in the bucket. Packs are immutable, so a
 * cached range never goes stale. The cache holds encoded pack entries exactly
 * as the block store asks for them (one pack entry per cache entry); its byte
 * total never exceeds `cacheBytes` (a range larger than the whole budget is
 * returned without being cached). Async reads (`load`, `stream`) and listing
 * pass straight through: pack-index reads and /v1/packs downloads must not
 * evict the chunks being served.
 */
import { ChunkCache } from '../util/byte-lru.js'
import type { Backend, CachedRemoteBackend, ObjectRange } from './backend.js'
import { TenpakError, ErrorCode } from '../errors.js'
import type { AbortOptions } from '../util/options.js'

/** Default cache bound of a remote store (`serve --s3-cache-size`). */
export const DEFAULT_REMOTE_CACHE_BYTES = 256 * 1024 * 1024

/** Adjacent ranges closer than this are fetched with one GET. */
const COALESCE_GAP = 64 * 1024
/** Largest single coalesced GET. */
const MAX_COALESCED = 16 * 1024 * 1024
/** GETs of one prefetch in flight at once. */
const PREFETCH_CONCURRENCY = 4

/** Options for {@link createCachedBackend}. */
export interface CachedBackendOptions {
  /** cache bound in bytes (default 256 MiB; 0 disables caching) */
  cacheBytes?: number
  /**
   * A blocking ranged read, for synchronous callers whose range was not
   * prefetched (see s3-sync-loader.ts). Without it such reads fail with
   * ERR_UNSUPPORTED.
   */
  loadSync?: (key: string, offset: number, length: number) => Uint8Array
  /** released by close() (the sync loader's worker) */
  onClose?: () => Promise<void>
}

/** Wrap `inner` with a bounded range cache. */
export function createCachedBackend (inner: Backend, opts: CachedBackendOptions = {}): CachedRemoteBackend {
  const limit = Math.max(0, opts.cacheBytes ?? DEFAULT_REMOTE_CACHE_BYTES)
  const lru = new ChunkCache(limit)
  const inflight = new Map<string, Promise<void>>()
  let blockingFetches = 0
  let fetchedBytes = 0

  const id = (key: string, offset: number, length: number): string => `${key}@${offset}+${length}`

  // an entry already held keeps its place: a prefetch must not refresh what nobody read
  const insert = (k: string, v: Uint8Array): void => { if (!lru.has(k)) lru.set(k, v) }

  const readSync = (key: string, offset: number, length: number): Uint8Array => {
    const k = id(key, offset, length)
    const hit = lru.get(k)
    if (hit != null) return hit
    if (opts.loadSync == null) throw new TenpakError(ErrorCode.UNSUPPORTED, `${key} [${offset}, +${length}) was not prefetched and this backend has no blocking read`)
    blockingFetches++
    const b = opts.loadSync(key, offset, length)
    if (b.length !== length) throw new TenpakError(ErrorCode.IO, `short read of ${key}: ${b.length} of ${length} bytes`)
    fetchedBytes += b.length
    insert(k, b)
    return b
  }

  const fetchGroup = async (key: string, group: ObjectRange[], options: AbortOptions): Promise<void> => {
    const start = group[0].offset
    const end = Math.max(...group.map(r => r.offset + r.length))
    const buf = await inner.load(key, { offset: start, length: end - start }, options)
    fetchedBytes += buf.length
    // copies, so evicting one entry frees its bytes (a view would pin the whole GET)
    for (const r of group) insert(id(key, r.offset, r.length), buf.slice(r.offset - start, r.offset - start + r.length))
  }

  const prefetch = async (ranges: ObjectRange[], options: AbortOptions = {}): Promise<void> => {
    if (limit === 0) return
    const byKey = new Map<string, ObjectRange[]>()
    const waits: Array<Promise<void>> = []
    const want = new Set<string>()
    for (const r of ranges) {
      const k = id(r.key, r.offset, r.length)
      if (want.has(k) || r.length > limit) continue
      want.add(k)
      if (lru.has(k)) continue
      const p = inflight.get(k)
      if (p != null) { waits.push(p); continue }
      let l = byKey.get(r.key)
      if (l == null) { l = []; byKey.set(r.key, l) }
      l.push(r)
    }
    const jobs: Array<() => Promise<void>> = []
    for (const [key, list] of byKey) {
      list.sort((a, b) => a.offset - b.offset)
      let group: ObjectRange[] = []
      let end = 0
      const flush = (): void => {
        if (group.length === 0) return
        const g = group
        let done: () => void = () => {}
        const p = new Promise<void>(resolve => { done = resolve })
        for (const r of g) inflight.set(id(key, r.offset, r.length), p)
        jobs.push(async () => {
          try { await fetchGroup(key, g, options) } finally {
            for (const r of g) inflight.delete(id(key, r.offset, r.length))
            done()
          }
        })
        group = []
      }
      for (const r of list) {
        if (group.length > 0 && (r.offset - end > COALESCE_GAP || r.offset + r.length - group[0].offset > MAX_COALESCED)) flush()
        group.push(r)
        end = Math.max(end, r.offset + r.length)
      }
      flush()
    }
    let next = 0
    const run = async (): Promise<void> => { while (next < jobs.length) await jobs[next++]() }
    const runners = Array.from({ length: Math.min(PREFETCH_CONCURRENCY, jobs.length) }, run)
    // every runner settles (each job releases its in-flight marks) before an error is reported
    const results = await Promise.allSettled(runners)
    await Promise.all(waits)
    const failed = results.find(r => r.status === 'rejected')
    if (failed != null) throw (failed as PromiseRejectedResult).reason
  }

  return {
    save: async (key, source, options) => { await inner.save(key, source, options) },
    load: async (key, range, options) => await inner.load(key, range, options),
    stream: (key, range, options) => inner.stream(key, range, options),
    stat: async (key, options) => await inner.stat(key, options),
    list: (prefix, options) => inner.list(prefix, options),
    remove: async (key, options) => { await inner.remove(key, options) },
    async close () {
      lru.clear()
      await opts.onClose?.()
      await inner.close()
    },
    readSync,
    prefetch,
    cacheStats: () => {
      const st = lru.stats()
      return { hits: st.hits, misses: st.misses, blockingFetches, bytes: st.bytes, entries: st.entries, limit, fetchedBytes }
    }
  }
}
