/**
 * The backend interface: where immutable pack objects live. Five verbs, as in
 * restic: save, ranged load, stat, list, remove. Retry, caching and limits are
 * wrappers around a backend, never inside one.
 */
import type { AbortOptions } from '../util/options.js'

/** Size of a stored object. */
export interface ObjectStat {
  size: number
}

/** A place that keeps immutable named objects (pack files). */
export interface Backend {
  /** Store `source` under `key`, atomically: a reader sees all of it or nothing. `source` may be a local file path. */
  save: (key: string, source: { path: string } | Uint8Array, options?: AbortOptions) => Promise<void>
  /** Read `length` bytes at `offset` (whole object when omitted). */
  load: (key: string, range?: { offset: number, length: number }, options?: AbortOptions) => Promise<Uint8Array>
  /** Stream bytes [offset, offset+length) (whole object when omitted). */
  stream: (key: string, range?: { offset: number, length: number }, options?: AbortOptions) => AsyncIterable<Uint8Array>
  /** Size of `key`, or undefined if absent. */
  stat: (key: string, options?: AbortOptions) => Promise<ObjectStat | undefined>
  /** Keys under `prefix`. */
  list: (prefix: string, options?: AbortOptions) => AsyncIterable<string>
  /** Remove `key` (no error when absent). */
  remove: (key: string, options?: AbortOptions) => Promise<void>
  /** Release open handles. */
  close: () => Promise<void>
}

/** Bytes [offset, offset+length) of one object. */
export interface ObjectRange {
  key: string
  offset: number
  length: number
}

/**
 * A remote backend fronted by a bounded cache of object ranges (see
 * cached-backend.ts). The block store's synchronous decode path reads through
 * `readSync`; async callers `prefetch` the ranges they are about to read so
 * that `readSync` finds them cached and does not block.
 */
export interface CachedRemoteBackend extends Backend {
  /** the range from the cache, else a blocking fetch (then cached) */
  readSync: (key: string, offset: number, length: number) => Uint8Array
  /** fetch the ranges not cached yet (adjacent ones coalesced into one GET) */
  prefetch: (ranges: ObjectRange[], options?: AbortOptions) => Promise<void>
  /** cache counters; `limit` is the configured bound in bytes */
  cacheStats: () => { hits: number, misses: number, blockingFetches: number, bytes: number, entries: number, limit: number, fetchedBytes: number }
}

/** True when `b` is a {@link CachedRemoteBackend}. */
export function isCachedRemote (b: Backend): b is CachedRemoteBackend {
  return typeof (b as Partial<CachedRemoteBackend>).prefetch === 'function' && typeof (b as Partial<CachedRemoteBackend>).readSync === 'function'
}
