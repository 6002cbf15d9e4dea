/** The mount's decoded-chunk cache: a byte-bounded LRU (src/util/byte-lru.ts). */
export { ChunkCache, type ChunkCacheStats } from '../util/byte-lru.js'
