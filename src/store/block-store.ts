/**
 * The block store: blocks (chunks and DAG nodes) kept as encoded entries of
 * immutable packs in a Backend, located through the Index. Every read decodes
 * and re-hashes the block (BLAKE3) before returning it. Writes go through a
 * PackWriter that follows the write order in docs/design.md:
 * pack data (fsync) → pack index (in the pack) → one LevelDB batch.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { isCachedRemote, type Backend, type ObjectRange } from './backend.js'
import type { Index, Location } from '../index/index.js'
import { CID, isInline, verifyBlock } from '../hash/cid.js'
import { createBlake3 } from '../hash/blake3.js'
import { toHex } from '../util/bytes.js'
import { encodeChunk, decodeChunk } from '../codec/codecs.js'
import type { EncodeHint } from '../codec/types.js'
import { packHeader, encodePackIndex, PACK_HEADER_SIZE, type PackEntry } from './pack-format.js'
import { fromSystemError, NotFoundError, IntegrityError, ErrorCode } from '../errors.js'
import type { AbortOptions } from '../util/options.js'
import { ChunkCache, type ChunkCacheStats } from '../util/byte-lru.js'

/** Default pack size target: packs are sealed once they pass it. */
export const DEFAULT_PACK_TARGET = 64 * 1024 * 1024

/**
 * Longest chain of delta bases a read follows (docs/design.md): a hard bound
 * against corrupt (cyclic) chains. How deep `add` lets a chain grow is
 * {@link chainDepthLimit}, never more than this.
 */
export const MAX_DELTA_DEPTH = 256

/**
 * Bytes of decoded direct delta bases a block store keeps (an LRU): a
 * series read version after version decodes two deltas per version instead
 * of its whole chain (reading all 176 oil versions, each up to 175 deep:
 * 9.9 s → ~1 s).
 */
export const BASE_CACHE_BYTES = 8 * 1024 * 1024

/** Chains are allowed at least this deep whatever their chunks' size. */
export const MIN_CHAIN_DEPTH = 16

/**
 * Logical bytes one read may decode along a delta chain, as `add` budgets
 * it: a chunk of n bytes may sit at depth up to budget / n (within
 * [MIN_CHAIN_DEPTH, MAX_DELTA_DEPTH]). So a 256 KiB tensor piece keeps
 * chains of 32 (a fine-tune series) and a 50 KB CSV version chains of 160
 * (a daily-updated file: each version one small delta on the last), and no
 * read decodes more than ~8 MiB to return one chunk.
 */
export const DELTA_DECODE_BUDGET = 8 * 1024 * 1024

/**
 * The budget for chunks of text, records and unparsed bytes, whose deltas are
 * zstd patches: decoding one runs at memory speed (~1–2 GB/s here, against
 * ~0.5–1 GB/s for tensor residuals), so 32 MiB costs a read ~20–30 ms. It lets
 * a 178 KB CSV chain 188 versions deep instead of 47: on the oil-price
 * series each chain reset re-expressed ~45 versions of edits against an older
 * version (2.8–5.2 KB where the next version's own patch is ~75 B).
 */
export const PATCH_DECODE_BUDGET = 32 * 1024 * 1024

/** Chunk kinds (encode hints) whose deltas are zstd patches of text or bytes: {@link PATCH_DECODE_BUDGET}. */
const PATCH_KINDS: ReadonlySet<string> = new Set(['records', 'bytes'])

/**
 * How deep `add` lets a delta chain of `logicalLength`-byte chunks grow (see
 * {@link DELTA_DECODE_BUDGET}; {@link PATCH_DECODE_BUDGET} for chunks of kind
 * 'records' or 'bytes').
 */
export function chainDepthLimit (logicalLength: number, kind?: string): number {
  const budget = kind != null && PATCH_KINDS.has(kind) ? PATCH_DECODE_BUDGET : DELTA_DECODE_BUDGET
  const byBudget = Math.floor(budget / Math.max(1, logicalLength))
  return Math.min(MAX_DELTA_DEPTH, Math.max(MIN_CHAIN_DEPTH, byBudget))
}

/** Object key of a pack. */
export const packObjectKey = (packId: string): string => `packs/${packId.slice(0, 2)}/${packId}.pack`

/** Object key of a pack's index copy in a bucket (the pack's index trailer and footer, docs/formats.md). */
export const packIndexObjectKey = (packId: string): string => `packs/${packId.slice(0, 2)}/${packId}.idx`

/** Result of a put. */
export interface PutResult {
  /** false when the block was already stored (dedup) */
  stored: boolean
  /** encoded bytes written (0 when deduplicated) */
  storedBytes: number
}

/** What a caller may say about a new block beyond its bytes. */
export interface PutOptions {
  hint?: EncodeHint
  /** an already encoded form (a delta chosen by the caller, an entry copied from another pack), used instead of encodeChunk */
  encoded?: { codec: number, data: Uint8Array, base?: CID }
  /** logical length when only `encoded` is given (bytes may then be empty) */
  logicalLength?: number
  /** store even if the index has it (gc moving a live entry to a new pack) */
  force?: boolean
}

/** A sealed pack, as reported to listeners. */
export interface SealedPack {
  packId: string
  size: number
  entries: PackEntry[]
}

/** Appends blocks to packs; call `flush()` to seal and index what was written. */
export interface PackWriter {
  put: (cid: CID, bytes: Uint8Array, options?: PutOptions) => PutResult
  /** whether `cid` is stored or pending in this writer */
  has: (cid: CID) => boolean
  /** seal the open pack and index it */
  flush: () => Promise<void>
  /** drop the open pack (nothing it held becomes visible) */
  abort: () => Promise<void>
  /** encoded payload bytes appended so far */
  readonly writtenBytes: number
  /** bytes of the packs this writer sealed (what it added to the store) */
  readonly sealedBytes: number
}

/** Blocks by CID. */
export interface BlockStore {
  get: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>
  /** like get, but synchronous (hot read paths) */
  getSync: (cid: CID) => Uint8Array
  has: (cid: CID) => boolean
  location: (cid: CID) => Location | undefined
  /** read an entry's stored bytes as they are in the pack (sync, push) */
  getEncoded: (cid: CID) => { location: Location, data: Uint8Array }
  /** counters of the decoded-base cache ({@link BASE_CACHE_BYTES}) */
  baseCacheStats: () => ChunkCacheStats
  writer: (options?: { packTarget?: number }) => PackWriter
  /**
   * Make the next reads of `cids` (and of the delta bases they need) cheap:
   * on a store whose packs are remote, fetch their encoded bytes into the
   * backend's cache; on a local store, nothing to do.
   */
  prefetch: (cids: CID[], options?: AbortOptions) => Promise<void>
  /** packs are read over the network (through a bounded cache), not from local files */
  readonly remote: boolean
  readonly backend: Backend
  readonly index: Index
}

/** Options for {@link createBlockStore}. */
export interface BlockStoreOptions {
  backend: Backend
  index: Index
  /** local directory for packs being written */
  tmpDir: string
  /** called after each pack is sealed and indexed */
  onSeal?: (pack: SealedPack) => void
}

/** Create a block store over a backend and an index. */
export function createBlockStore (opts: BlockStoreOptions): BlockStore {
  const { backend, index, tmpDir } = opts

  const readEncoded = (cid: CID): { location: Location, data: Uint8Array } => {
    const location = index.getLocation(cid)
    if (location == null) throw new NotFoundError(`block ${cid.toString()} not found`)
    const data = readSync(packObjectKey(location.packId), location.offset, location.storedLength)
    return { location, data }
  }

  // Local packs are read synchronously through the fs backend's open handles;
  // remote ones through their range cache (cached-backend.ts), which blocks
  // only for ranges nobody prefetched.
  const syncReader = (backend as Backend & { readSync?: (key: string, offset: number, length: number) => Uint8Array }).readSync
  const readSync = (key: string, offset: number, length: number): Uint8Array => {
    if (syncReader == null) throw new IntegrityError('backend cannot be read synchronously', ErrorCode.UNSUPPORTED)
    return syncReader(key, offset, length)
  }

  const decodeVerified = (cid: CID, location: Location, data: Uint8Array, depth: number): Uint8Array => {
    let base: Uint8Array | undefined
    if (location.base != null) {
      if (depth >= MAX_DELTA_DEPTH) throw new IntegrityError(`delta chain of ${cid.toString()} is deeper than ${MAX_DELTA_DEPTH}`, ErrorCode.CORRUPT)
      base = getAt(location.base, depth + 1)
    }
    const bytes = decodeChunk(location.codec, data, location.logicalLength, base)
    verifyBlock(cid, bytes)
    return bytes
  }

  // Decoded direct bases (blocks read at depth 1: they only ever go to decodeChunk as a base,
  // never to a caller). Reading a block again then decodes one delta, and reading version k+1
  // of a series after version k decodes two, instead of the whole chain each time. Only depth 1:
  // keeping every level of a chain retains fresh memory whose page faults cost the first read
  // more than the cache saves it (measured on the oil series: 16 → ~90 ms).
  const bases = new ChunkCache(BASE_CACHE_BYTES)
  const getAt = (cid: CID, depth: number): Uint8Array => {
    if (isInline(cid)) return cid.multihash.digest
    const key = depth > 0 ? cid.toString() : undefined
    const hit = key != null ? bases.get(key) : undefined
    if (hit != null) return hit
    const { location, data } = readEncoded(cid)
    const bytes = decodeVerified(cid, location, data, depth)
    if (key != null && depth === 1 && location.base != null) bases.set(key, bytes)
    return bytes
  }

  const prefetch = async (cids: CID[], options: AbortOptions = {}): Promise<void> => {
    if (!isCachedRemote(backend)) return
    const ranges: ObjectRange[] = []
    const seen = new Set<string>()
    let frontier = cids
    // a delta needs its base chain, bounded as in decodeVerified
    for (let depth = 0; depth <= MAX_DELTA_DEPTH && frontier.length > 0; depth++) {
      const next: CID[] = []
      for (const cid of frontier) {
        const k = cid.toString()
        if (seen.has(k) || isInline(cid)) continue
        seen.add(k)
        const loc = index.getLocation(cid)
        if (loc == null) continue // the read itself reports ERR_NOT_FOUND
        ranges.push({ key: packObjectKey(loc.packId), offset: loc.offset, length: loc.storedLength })
        if (loc.base != null) next.push(loc.base)
      }
      frontier = next
    }
    await backend.prefetch(ranges, options)
  }

  const store: BlockStore = {
    backend,
    index,
    prefetch,
    remote: isCachedRemote(backend),
    async get (cid, options) {
      if (store.remote) await prefetch([cid], options)
      return getAt(cid, 0)
    },
    getSync (cid) { return getAt(cid, 0) },
    has (cid) { return isInline(cid) || index.has(cid) },
    location (cid) { return index.getLocation(cid) },
    getEncoded: readEncoded,
    baseCacheStats: () => bases.stats(),
    writer (wopts = {}) {
      return createPackWriter({ backend, index, tmpDir, packTarget: wopts.packTarget ?? DEFAULT_PACK_TARGET, onSeal: opts.onSeal })
    }
  }
  return store
}

interface WriterDeps {
  backend: Backend
  index: Index
  tmpDir: string
  packTarget: number
  onSeal?: (pack: SealedPack) => void
}

function createPackWriter (deps: WriterDeps): PackWriter {
  const { backend, index, tmpDir, packTarget } = deps
  // blocks written by this writer and not yet in the index (dedup within one add)
  const pending = new Set<string>()
  let tmpPath: string | undefined
  let fd: number | undefined
  let hasher = createBlake3()
  let size = 0
  let entries: PackEntry[] = []
  let logical = 0
  let written = 0
  let sealedBytes = 0

  const write = (bytes: Uint8Array): void => {
    try {
      let off = 0
      while (off < bytes.length) off += fs.writeSync(fd as number, bytes, off, bytes.length - off)
    } catch (err) {
      throw fromSystemError(err, 'writing a pack')
    }
    hasher.update(bytes)
    size += bytes.length
  }

  const open = (): void => {
    fs.mkdirSync(tmpDir, { recursive: true })
    tmpPath = path.join(tmpDir, `pack-${process.pid}-${toHex(randomBytes(8))}.tmp`)
    try {
      fd = fs.openSync(tmpPath, 'w')
    } catch (err) {
      throw fromSystemError(err, 'creating a pack')
    }
    hasher = createBlake3()
    size = 0
    entries = []
    logical = 0
    write(packHeader())
  }

  const discard = (): void => {
    if (fd != null) { try { fs.closeSync(fd) } catch {} }
    if (tmpPath != null) { try { fs.rmSync(tmpPath, { force: true }) } catch {} }
    fd = undefined
    tmpPath = undefined
  }

  const seal = async (): Promise<void> => {
    if (fd == null || tmpPath == null) return
    if (entries.length === 0) { discard(); return }
    try {
      write(encodePackIndex(entries, size))
      fs.fsyncSync(fd)
      fs.closeSync(fd)
      fd = undefined
    } catch (err) {
      discard()
      throw fromSystemError(err, 'sealing a pack')
    }
    const packId = toHex(hasher.digest())
    const sealedEntries = entries
    const packSize = size
    try {
      await backend.save(packObjectKey(packId), { path: tmpPath })
    } catch (err) {
      discard()
      throw err
    }
    tmpPath = undefined
    const batch = index.batch()
    for (const e of sealedEntries) {
      const loc: Location = { packId, offset: e.offset, storedLength: e.storedLength, logicalLength: e.logicalLength, codec: e.codec }
      if (e.base != null) loc.base = e.base
      batch.putLocation(e.cid, loc)
    }
    batch.putPack(packId, { size: packSize, entries: sealedEntries.length, logicalBytes: logical })
    await batch.write()
    sealedBytes += packSize
    for (const e of sealedEntries) pending.delete(e.cid.toString())
    deps.onSeal?.({ packId, size: packSize, entries: sealedEntries })
  }

  return {
    get writtenBytes () { return written },
    get sealedBytes () { return sealedBytes },
    has (cid) { return isInline(cid) || pending.has(cid.toString()) || index.has(cid) },
    put (cid, bytes, options = {}) {
      if (isInline(cid)) return { stored: false, storedBytes: 0 }
      const key = cid.toString()
      if (pending.has(key) || (options.force !== true && index.has(cid))) return { stored: false, storedBytes: 0 }
      const enc = options.encoded ?? encodeChunk(bytes, options.hint ?? {})
      if (fd == null) open()
      const offset = size
      write(enc.data)
      const logicalLength = options.logicalLength ?? bytes.length
      const entry: PackEntry = { cid, codec: enc.codec, offset, storedLength: enc.data.length, logicalLength }
      const base = (enc as { base?: CID }).base
      if (base != null) entry.base = base
      entries.push(entry)
      pending.add(key)
      logical += logicalLength
      written += enc.data.length
      return { stored: true, storedBytes: enc.data.length }
    },
    async flush () {
      await seal()
    },
    async abort () {
      discard()
      pending.clear()
    }
  }
}

/** Remove leftovers of packs that were being written by processes no longer running. */
export async function cleanTmp (tmpDir: string): Promise<number> {
  let removed = 0
  let names: string[] = []
  try { names = await fsp.readdir(tmpDir) } catch { return 0 }
  for (const n of names) {
    const m = /^pack-(\d+)-/.exec(n)
    if (m == null) continue
    const pid = Number(m[1])
    let alive = true
    try { process.kill(pid, 0) } catch { alive = false }
    if (!alive) { await fsp.rm(path.join(tmpDir, n), { force: true }); removed++ }
  }
  return removed
}

export { PACK_HEADER_SIZE }
