/**
 * Pack file layout v1 (docs/formats.md): a header, entry payloads, an index
 * trailer listing every entry, and a fixed footer. Packs are immutable and
 * self-describing, so the LevelDB index can be rebuilt from packs alone.
 * Structure only: no I/O.
 */
import { blake3 } from '../hash/blake3.js'
import { CID } from '../hash/cid.js'
import { equals } from '../util/bytes.js'
import { IntegrityError, ErrorCode } from '../errors.js'

/** "TPAK" v1 */
export const PACK_MAGIC = Buffer.from('TPAK')
export const PACK_VERSION = 1
export const PACK_HEADER_SIZE = 8
/** footer: indexOffset u64 | indexLength u32 | entryCount u32 | blake3(index) 32 | "TPKX" | version u8 | 3 reserved */
export const PACK_FOOTER_SIZE = 56
export const FOOTER_MAGIC = Buffer.from('TPKX')

/** One pack entry as listed in the pack's index. */
export interface PackEntry {
  cid: CID
  codec: number
  /** absolute offset of the payload in the pack */
  offset: number
  storedLength: number
  logicalLength: number
  /** base chunk for delta codecs */
  base?: CID
}

/** The 8-byte pack header. */
export function packHeader (): Uint8Array {
  const b = Buffer.alloc(PACK_HEADER_SIZE)
  PACK_MAGIC.copy(b, 0)
  b.writeUInt8(PACK_VERSION, 4)
  return b
}

/** Serialise the index trailer and footer for `entries`, which starts at `indexOffset`. */
export function encodePackIndex (entries: PackEntry[], indexOffset: number): Uint8Array {
  const parts: Buffer[] = []
  for (const e of entries) {
    const cid = e.cid.bytes
    const base = e.base?.bytes
    const b = Buffer.alloc(1 + cid.length + 1 + 8 + 4 + 4 + 1 + (base?.length ?? 0))
    let o = 0
    o = b.writeUInt8(cid.length, o)
    b.set(cid, o); o += cid.length
    o = b.writeUInt8(e.codec, o)
    o = b.writeBigUInt64LE(BigInt(e.offset), o)
    o = b.writeUInt32LE(e.storedLength, o)
    o = b.writeUInt32LE(e.logicalLength, o)
    o = b.writeUInt8(base?.length ?? 0, o)
    if (base != null) b.set(base, o)
    parts.push(b)
  }
  const index = Buffer.concat(parts)
  const footer = Buffer.alloc(PACK_FOOTER_SIZE)
  footer.writeBigUInt64LE(BigInt(indexOffset), 0)
  footer.writeUInt32LE(index.length, 8)
  footer.writeUInt32LE(entries.length, 12)
  footer.set(blake3(index), 16)
  FOOTER_MAGIC.copy(footer, 48)
  footer.writeUInt8(PACK_VERSION, 52)
  return Buffer.concat([index, footer])
}

/** Where the index trailer lies, read from the footer. */
export interface PackFooter {
  indexOffset: number
  indexLength: number
  entryCount: number
  indexHash: Uint8Array
}

/** Parse a pack footer (the last PACK_FOOTER_SIZE bytes). */
export function decodePackFooter (footer: Uint8Array, packSize: number, name = 'pack'): PackFooter {
  const b = Buffer.from(footer.buffer, footer.byteOffset, footer.byteLength)
  if (b.length !== PACK_FOOTER_SIZE || !b.subarray(48, 52).equals(FOOTER_MAGIC)) {
    throw new IntegrityError(`${name}: missing pack footer (truncated or not a tenpak pack)`, ErrorCode.BAD_PACK)
  }
  const version = b.readUInt8(52)
  if (version !== PACK_VERSION) throw new IntegrityError(`${name}: unsupported pack version ${version}`, ErrorCode.BAD_PACK)
  const indexOffset = Number(b.readBigUInt64LE(0))
  const indexLength = b.readUInt32LE(8)
  if (indexOffset < PACK_HEADER_SIZE || indexOffset + indexLength + PACK_FOOTER_SIZE !== packSize) {
    throw new IntegrityError(`${name}: pack footer points outside the pack`, ErrorCode.BAD_PACK)
  }
  return { indexOffset, indexLength, entryCount: b.readUInt32LE(12), indexHash: b.subarray(16, 48) }
}

/**
 * Parse a pack's index copy (its bytes from the index trailer to the end: trailer
 * then footer) into the pack's size and entries, checked as a pack's own would be.
 */
export function decodePackIndexCopy (tail: Uint8Array, name = 'pack index'): { packSize: number, entries: PackEntry[] } {
  if (tail.length < PACK_FOOTER_SIZE) throw new IntegrityError(`${name}: too short`, ErrorCode.BAD_PACK)
  const footerBytes = tail.subarray(tail.length - PACK_FOOTER_SIZE)
  const indexOffset = Number(Buffer.from(footerBytes.buffer, footerBytes.byteOffset, 8).readBigUInt64LE(0))
  const packSize = indexOffset + tail.length
  const footer = decodePackFooter(footerBytes, packSize, name)
  return { packSize, entries: decodePackIndex(tail.subarray(0, footer.indexLength), footer, name) }
}

/** Parse and check an index trailer against its footer. */
export function decodePackIndex (index: Uint8Array, footer: PackFooter, name = 'pack'): PackEntry[] {
  if (!equals(blake3(index), footer.indexHash)) throw new IntegrityError(`${name}: pack index does not match its hash`, ErrorCode.BAD_PACK)
  const b = Buffer.from(index.buffer, index.byteOffset, index.byteLength)
  const out: PackEntry[] = []
  let o = 0
  try {
    while (o < b.length) {
      const cl = b.readUInt8(o); o += 1
      const cid = CID.decode(b.subarray(o, o + cl)); o += cl
      const codec = b.readUInt8(o); o += 1
      const offset = Number(b.readBigUInt64LE(o)); o += 8
      const storedLength = b.readUInt32LE(o); o += 4
      const logicalLength = b.readUInt32LE(o); o += 4
      const bl = b.readUInt8(o); o += 1
      const base = bl > 0 ? CID.decode(b.subarray(o, o + bl)) : undefined
      o += bl
      out.push(base == null ? { cid, codec, offset, storedLength, logicalLength } : { cid, codec, offset, storedLength, logicalLength, base })
    }
  } catch (err) {
    throw new IntegrityError(`${name}: malformed pack index`, ErrorCode.BAD_PACK, { cause: err })
  }
  if (out.length !== footer.entryCount) throw new IntegrityError(`${name}: pack index lists ${out.length} entries, footer says ${footer.entryCount}`, ErrorCode.BAD_PACK)
  for (const e of out) {
    if (e.offset < PACK_HEADER_SIZE || e.offset + e.storedLength > footer.indexOffset) {
      throw new IntegrityError(`${name}: entry ${e.cid.toString()} lies outside the pack data`, ErrorCode.BAD_PACK)
    }
  }
  return out
}
