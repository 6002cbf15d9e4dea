/**
 * A byte-bounded LRU of byte arrays keyed by string: the mount's decoded
 * chunks (one per mounted store, shared by every open file: leaves are
 * content-addressed, so a chunk shared by two files or two revisions is
 * decoded once), the server's verified chunks, and the S3 pack-range cache.
 */

/** Counters a cache reports. */
export interface ChunkCacheStats {
  /** bytes held now */
  bytes: number
  /** entries held now */
  entries: number
  hits: number
  misses: number
  evictions: number
}

/** LRU of byte arrays bounded by their total length. */
export class ChunkCache {
  private readonly map = new Map<string, Uint8Array>()
  private size = 0
  private hits = 0
  private misses = 0
  private evictions = 0

  /** @param maxBytes - upper bound of the bytes held (one entry larger than this is not kept) */
  constructor (readonly maxBytes: number) {}

  /** The chunk under `key`, refreshed as most recently used; undefined on a miss. */
  get (key: string): Uint8Array | undefined {
    const v = this.map.get(key)
    if (v == null) { this.misses++; return undefined }
    this.map.delete(key)
    this.map.set(key, v)
    this.hits++
    return v
  }

  /** Current total bytes held. */
  get bytes (): number {
    return this.size
  }

  /** Current entry count. */
  get entries (): number {
    return this.map.size
  }

  /** Whether `key` is held (does not count as a use). */
  has (key: string): boolean {
    return this.map.has(key)
  }

  /** Keep `value` under `key`, evicting least recently used entries to stay within maxBytes. */
  set (key: string, value: Uint8Array): void {
    if (value.length > this.maxBytes) return
    const old = this.map.get(key)
    if (old != null) { this.map.delete(key); this.size -= old.length }
    this.map.set(key, value)
    this.size += value.length
    while (this.size > this.maxBytes) {
      const [k, v] = this.map.entries().next().value as [string, Uint8Array]
      this.map.delete(k)
      this.size -= v.length
      this.evictions++
    }
  }

  /** Drop everything. */
  clear (): void {
    this.map.clear()
    this.size = 0
  }

  /** Current counters. */
  stats (): ChunkCacheStats {
    return { bytes: this.size, entries: this.map.size, hits: this.hits, misses: this.misses, evictions: this.evictions }
  }
}
