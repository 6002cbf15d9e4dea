/**
 * Standalone pack files outside a store (delta bundles, sync transfers):
 * write encoded entries into a pack at a given path, and read / verify /
 * import such a pack into a store. Same layout as store packs (docs/formats.md).
 */
import fs from 'node:fs'
import path from 'node:path'
import { createBlake3 } from '../hash/blake3.js'
import { toHex } from '../util/bytes.js'
import { verifyBlock, type CID } from '../hash/cid.js'
import { decodeChunk } from '../codec/codecs.js'
import { packHeader, encodePackIndex, decodePackFooter, decodePackIndex, PACK_FOOTER_SIZE, PACK_HEADER_SIZE, type PackEntry } from './pack-format.js'
import { packObjectKey, MAX_DELTA_DEPTH, type BlockStore } from './block-store.js'
import { fromSystemError, IntegrityError, ErrorCode } from '../errors.js'
import { preadFully } from '../util/pread.js'

/** An encoded entry to write. */
export interface EncodedEntry {
  cid: CID
  codec: number
  data: Uint8Array
  logicalLength: number
  base?: CID
}

/** The size of the pack {@link writePackFile} would write for `entries` (header, payloads, index trailer, footer). */
export function packFileSize (entries: Iterable<EncodedEntry>): number {
  let size = PACK_HEADER_SIZE
  const list: PackEntry[] = []
  for (const e of entries) {
    list.push(packEntryOf(e, size))
    size += e.data.length
  }
  return size + encodePackIndex(list, size).length
}

function packEntryOf (e: EncodedEntry, offset: number): PackEntry {
  const entry: PackEntry = { cid: e.cid, codec: e.codec, offset, storedLength: e.data.length, logicalLength: e.logicalLength }
  if (e.base != null) entry.base = e.base
  return entry
}

/** Write `entries` as a pack at `file` (fsynced); returns its id and size. */
export function writePackFile (file: string, entries: Iterable<EncodedEntry>): { packId: string, size: number, entries: number } {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const fd = fs.openSync(file, 'w')
  const h = createBlake3()
  let size = 0
  const list: PackEntry[] = []
  const write = (b: Uint8Array): void => {
    let o = 0
    while (o < b.length) o += fs.writeSync(fd, b, o, b.length - o)
    h.update(b)
    size += b.length
  }
  try {
    write(packHeader())
    for (const e of entries) {
      const entry = packEntryOf(e, size)
      write(e.data)
      list.push(entry)
    }
    write(encodePackIndex(list, size))
    fs.fsyncSync(fd)
  } catch (err) {
    fs.closeSync(fd)
    throw fromSystemError(err, `writing ${file}`)
  }
  fs.closeSync(fd)
  return { packId: toHex(h.digest()), size, entries: list.length }
}

/** Reads exactly `length` bytes at `offset` of an open pack file; ERR_BAD_PACK when it is shorter. */
function exactReader (fd: number, file: string): (offset: number, length: number) => Buffer {
  return (offset, length) => {
    const b = Buffer.allocUnsafe(length)
    if (preadFully(fd, b, offset) < length) throw new IntegrityError(`${file} is truncated`, ErrorCode.BAD_PACK)
    return b
  }
}

/** The bytes of a pack file from its index trailer to the end (what a bucket keeps as `<id>.idx`). */
export function readPackTail (file: string): Uint8Array {
  let fd: number
  try { fd = fs.openSync(file, 'r') } catch (err) { throw fromSystemError(err, file) }
  try {
    const size = fs.fstatSync(fd).size
    const read = exactReader(fd, file)
    if (size < PACK_FOOTER_SIZE + 8) throw new IntegrityError(`${file} is not a tenpak pack (too short)`, ErrorCode.BAD_PACK)
    const footer = decodePackFooter(read(size - PACK_FOOTER_SIZE, PACK_FOOTER_SIZE), size, file)
    return read(footer.indexOffset, size - footer.indexOffset)
  } finally {
    fs.closeSync(fd)
  }
}

/** A pack file opened for reading. */
export interface PackFileReader {
  entries: PackEntry[]
  size: number
  read: (e: PackEntry) => Uint8Array
  close: () => void
}

/** Open a pack file and check its footer and index. */
export function openPackFile (file: string): PackFileReader {
  let fd: number
  try { fd = fs.openSync(file, 'r') } catch (err) { throw fromSystemError(err, file) }
  const readAt = exactReader(fd, file)
  try {
    const size = fs.fstatSync(fd).size
    if (size < PACK_FOOTER_SIZE + 8) throw new IntegrityError(`${file} is not a tenpak pack (too short)`, ErrorCode.BAD_PACK)
    const footer = decodePackFooter(readAt(size - PACK_FOOTER_SIZE, PACK_FOOTER_SIZE), size, file)
    const entries = decodePackIndex(readAt(footer.indexOffset, footer.indexLength), footer, file)
    return { entries, size, read: (e) => readAt(e.offset, e.storedLength), close: () => { fs.closeSync(fd) } }
  } catch (err) {
    fs.closeSync(fd)
    throw err
  }
}

/**
 * Verify every entry of a pack file: decode it (its delta base from the same
 * pack or from `blocks`) and check its CID. Throws on the first bad entry,
 * naming it; nothing is written.
 */
export function verifyPackFile (pack: PackFileReader, blocks: Pick<BlockStore, 'getSync' | 'has'>): void {
  const inPack = new Map(pack.entries.map(e => [e.cid.toString(), e]))
  const memo = new Map<string, Uint8Array>()
  const decode = (e: PackEntry, depth: number): Uint8Array => {
    const k = e.cid.toString()
    const hit = memo.get(k)
    if (hit != null) return hit
    let base: Uint8Array | undefined
    if (e.base != null) {
      if (depth >= MAX_DELTA_DEPTH) throw new IntegrityError(`delta chain of ${k} is deeper than ${MAX_DELTA_DEPTH}`, ErrorCode.CORRUPT)
      const b = inPack.get(e.base.toString())
      if (b != null) base = decode(b, depth + 1)
      else if (blocks.has(e.base)) base = blocks.getSync(e.base)
      else throw new IntegrityError(`delta base ${e.base.toString()} of ${k} is neither in the pack nor in the store`, ErrorCode.NOT_FOUND)
    }
    let bytes: Uint8Array
    try {
      bytes = decodeChunk(e.codec, pack.read(e), e.logicalLength, base)
    } catch (err) {
      throw new IntegrityError(`entry ${k} does not decode: ${(err as Error).message}`, ErrorCode.HASH_MISMATCH, { cause: err })
    }
    verifyBlock(e.cid, bytes)
    // keep decoded bases only while small (bounded memory)
    if (memo.size < 64) memo.set(k, bytes)
    return bytes
  }
  for (const e of pack.entries) decode(e, 0)
}

/**
 * Import a verified pack file into a store: copy it into the store's packs
 * (named by its hash) and index the entries the store lacks.
 */
export async function importPackFile (file: string, blocks: BlockStore, tmpDir: string): Promise<{ packId: string, entries: number, size: number }> {
  const pack = openPackFile(file)
  const entries = pack.entries
  try {
    verifyPackFile(pack, blocks)
  } finally {
    pack.close()
  }
  const tmp = path.join(tmpDir, `pack-${process.pid}-import-${Date.now()}.tmp`)
  const h = createBlake3()
  try {
    fs.copyFileSync(file, tmp)
    const fd = fs.openSync(tmp, 'r+')
    try {
      const buf = Buffer.allocUnsafe(1 << 20)
      let n
      while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n))
      fs.fsyncSync(fd)
    } finally { fs.closeSync(fd) }
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw fromSystemError(err, `importing ${file}`)
  }
  const packId = toHex(h.digest())
  const size = fs.statSync(tmp).size
  await blocks.backend.save(packObjectKey(packId), { path: tmp })
  const batch = blocks.index.batch()
  let added = 0
  let logical = 0
  for (const e of entries) {
    logical += e.logicalLength
    if (blocks.has(e.cid)) continue
    batch.putLocation(e.cid, { packId, offset: e.offset, storedLength: e.storedLength, logicalLength: e.logicalLength, codec: e.codec, base: e.base })
    added++
  }
  batch.putPack(packId, { size, entries: entries.length, logicalBytes: logical })
  await batch.write()
  return { packId, entries: added, size }
}
