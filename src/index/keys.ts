/**
 * The whole LevelDB key layout, in one place (docs/formats.md, "Index v1").
 * Keys are binary: a one-byte namespace, then the namespace's key bytes.
 * Everything here can be rebuilt from the packs (`verify --rebuild-index`).
 */
import { CID } from '../hash/cid.js'
import { fromHex, toHex } from '../util/bytes.js'

/** Namespace bytes. */
export const NS = {
  /** block location: cid bytes → Location */
  BLOCK: 0x62, // 'b'
  /** pack metadata: pack id (32 bytes) → PackMeta */
  PACK: 0x70, // 'p'
  /** store metadata: utf8 name → value */
  META: 0x6d, // 'm'
  /**
   * resemblance sketches: table j (1 byte) + the super-feature's top
   * {@link SKETCH_BUCKET_BITS} bits (3 bytes, big-endian) → the full
   * super-feature (u32 LE) + the bytes of a chunk's CID that had it. A
   * fixed number of slots (3 × 2^20), newest wins: bounded by construction.
   * Hints only: a stale slot (its chunk gc'd) is skipped at lookup, and
   * `verify --rebuild-index` leaves the namespace alone.
   */
  SKETCH: 0x73 // 's'
} as const

/** Bits of a super-feature that pick its slot in {@link NS.SKETCH}. */
export const SKETCH_BUCKET_BITS = 20

/** Key of the slot for super-feature `sf` of table `j`. */
export function sketchKey (j: number, sf: number): Buffer {
  const b = Buffer.allocUnsafe(5)
  b[0] = NS.SKETCH
  b[1] = j
  const slot = sf >>> (32 - SKETCH_BUCKET_BITS)
  b[2] = (slot >>> 16) & 0xff
  b[3] = (slot >>> 8) & 0xff
  b[4] = slot & 0xff
  return b
}

/** Current index schema version, stored under META 'version'. */
export const INDEX_VERSION = 1

/** Where a block lives. */
export interface Location {
  /** pack id, 64 hex chars */
  packId: string
  offset: number
  storedLength: number
  logicalLength: number
  codec: number
  base?: CID
}

/** What the index keeps about a pack. */
export interface PackMeta {
  size: number
  entries: number
  logicalBytes: number
}

const prefixed = (ns: number, bytes: Uint8Array): Buffer => {
  const b = Buffer.allocUnsafe(1 + bytes.length)
  b[0] = ns
  b.set(bytes, 1)
  return b
}

/** Key of a block's location. */
export const blockKey = (cid: CID): Buffer => prefixed(NS.BLOCK, cid.bytes)
/** Key of a pack's metadata. */
export const packKey = (packId: string): Buffer => prefixed(NS.PACK, fromHex(packId))
/** Key of a store metadata value. */
export const metaKey = (name: string): Buffer => prefixed(NS.META, Buffer.from(name))

/** Range bounds covering a namespace. */
export function nsRange (ns: number): { gte: Buffer, lt: Buffer } {
  return { gte: Buffer.from([ns]), lt: Buffer.from([ns + 1]) }
}

/** CID of a block key. */
export const cidOfBlockKey = (key: Uint8Array): CID => CID.decode(key.subarray(1))
/** Pack id of a pack key. */
export const packIdOfKey = (key: Uint8Array): string => toHex(key.subarray(1))

/** Location value: packId 32 | offset u64 | stored u32 | logical u32 | codec u8 | base cid… */
export function encodeLocation (l: Location): Buffer {
  const base = l.base?.bytes
  const b = Buffer.allocUnsafe(32 + 8 + 4 + 4 + 1 + (base?.length ?? 0))
  b.set(fromHex(l.packId), 0)
  b.writeBigUInt64LE(BigInt(l.offset), 32)
  b.writeUInt32LE(l.storedLength, 40)
  b.writeUInt32LE(l.logicalLength, 44)
  b.writeUInt8(l.codec, 48)
  if (base != null) b.set(base, 49)
  return b
}

/** Decode a location value. */
export function decodeLocation (v: Uint8Array): Location {
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  const loc: Location = {
    packId: toHex(b.subarray(0, 32)),
    offset: Number(b.readBigUInt64LE(32)),
    storedLength: b.readUInt32LE(40),
    logicalLength: b.readUInt32LE(44),
    codec: b.readUInt8(48)
  }
  if (b.length > 49) loc.base = CID.decode(b.subarray(49))
  return loc
}

/** Pack metadata value: size u64 | entries u32 | logical u64. */
export function encodePackMeta (m: PackMeta): Buffer {
  const b = Buffer.allocUnsafe(20)
  b.writeBigUInt64LE(BigInt(m.size), 0)
  b.writeUInt32LE(m.entries, 8)
  b.writeBigUInt64LE(BigInt(m.logicalBytes), 12)
  return b
}

/** Decode pack metadata. */
export function decodePackMeta (v: Uint8Array): PackMeta {
  const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  return { size: Number(b.readBigUInt64LE(0)), entries: b.readUInt32LE(8), logicalBytes: Number(b.readBigUInt64LE(12)) }
}
