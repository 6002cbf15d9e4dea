/**
 * Pack file layout v3 (docs/formats.md; v1 and v2 still read): a header, entry payloads, an index
 * trailer listing every entry, and a fixed footer. Packs are immutable and
 * self-describing, so the LevelDB index can be rebuilt from packs alone.
 * Structure only: no I/O.
 */
import { blake3, BLAKE3_CODE } from '../hash/blake3.js'
import { CID, Codec, cidFromDigest, type CodecCode } from '../hash/cid.js'
import { equals } from '../util/bytes.js'
import { ByteReader, ByteWriter, unzigzag, zigzag } from '../codec/delta-streams.js'
import { IntegrityError, ErrorCode } from '../errors.js'

/**
 * "TPAK"; packs are written as v3 (v2's compact index records, plus a base
 * that is an entry of the same pack named by its position); v1 and v2 packs
 * are still read
 */
export const PACK_MAGIC = Buffer.from('TPAK')
export const PACK_VERSION = 3
/** Pack versions this code reads. */
export const PACK_VERSIONS_READ: readonly number[] = [1, 2, 3]
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

/**
 * A CID in a v2 index record: a tag byte, then for a BLAKE3-256 CIDv1 of a
 * raw, dag-pb or dag-cbor block (every block tenpak writes) only its 32-byte
 * digest; any other CID as varint length + bytes. Tag 0 means "none" (no base).
 */
const CID_TAGS: ReadonlyArray<[number, CodecCode]> = [[1, Codec.RAW], [2, Codec.DAG_PB], [3, Codec.DAG_CBOR]]
const TAG_NONE = 0
const TAG_FULL = 4
/** v3: the base is entry k of this pack (varint k, records numbered from 0) */
const TAG_ENTRY = 5

function writeCid (out: ByteWriter, cid: CID | undefined): void {
  if (cid == null) { out.u8(TAG_NONE); return }
  const tag = CID_TAGS.find(([, code]) => code === cid.code)?.[0]
  if (tag != null && cid.version === 1 && cid.multihash.code === BLAKE3_CODE && cid.multihash.digest.length === 32) {
    out.u8(tag)
    out.bytes(cid.multihash.digest)
    return
  }
  out.u8(TAG_FULL)
  out.varint(cid.bytes.length)
  out.bytes(cid.bytes)
}

/** A CID as read from a record: the CID itself, or (v3 bases) the position of an entry of this pack. */
function readCid (r: ByteReader, entryRefs = false): CID | number | undefined {
  const tag = r.u8()
  if (tag === TAG_NONE) return undefined
  if (tag === TAG_ENTRY && entryRefs) return r.varint()
  if (tag === TAG_FULL) return CID.decode(r.take(r.varint()))
  const code = CID_TAGS.find(([t]) => t === tag)?.[1]
  if (code == null) return r.fail(`cid tag ${tag}`)
  return cidFromDigest(code, r.take(32))
}

/**
 * Serialise the index trailer (v3 records, docs/formats.md) and footer for
 * `entries`, which starts at `indexOffset`. A record: codec u8 | cid |
 * offset as a zigzag varint step from where the previous entry ended (0 for
 * entries back to back) | storedLength varint | logicalLength varint | base:
 * an entry of this pack by position (tag 5, varint), else its cid — about 40
 * bytes (42 with a base in the pack, 73 with one elsewhere) where v1 took 55 (91).
 */
export function encodePackIndex (entries: PackEntry[], indexOffset: number): Uint8Array {
  const out = new ByteWriter(64 * entries.length + 16)
  const position = new Map<string, number>()
  for (const [i, e] of entries.entries()) if (!position.has(e.cid.toString())) position.set(e.cid.toString(), i)
  let expected = PACK_HEADER_SIZE
  for (const e of entries) {
    out.u8(e.codec)
    writeCid(out, e.cid)
    out.varint(zigzag(e.offset - expected))
    out.varint(e.storedLength)
    out.varint(e.logicalLength)
    const k = e.base != null ? position.get(e.base.toString()) : undefined
    if (k != null) {
      out.u8(TAG_ENTRY)
      out.varint(k)
    } else {
      writeCid(out, e.base)
    }
    expected = e.offset + e.storedLength
  }
  const index = out.result()
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
  /** pack format version (1, 2 or 3): how the index records are laid out */
  version: number
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
  if (!PACK_VERSIONS_READ.includes(version)) throw new IntegrityError(`${name}: unsupported pack version ${version}`, ErrorCode.BAD_PACK)
  const indexOffset = Number(b.readBigUInt64LE(0))
  const indexLength = b.readUInt32LE(8)
  if (indexOffset < PACK_HEADER_SIZE || indexOffset + indexLength + PACK_FOOTER_SIZE !== packSize) {
    throw new IntegrityError(`${name}: pack footer points outside the pack`, ErrorCode.BAD_PACK)
  }
  return { version, indexOffset, indexLength, entryCount: b.readUInt32LE(12), indexHash: b.subarray(16, 48) }
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

function decodeRecordsV2 (b: Uint8Array, out: PackEntry[], version: number): void {
  const r = new ByteReader(b, 'pack index')
  let expected = PACK_HEADER_SIZE
  const byPosition: Array<[PackEntry, number]> = []
  while (r.pos < b.length) {
    const codec = r.u8()
    const cid = readCid(r)
    if (cid == null || typeof cid === 'number') return r.fail('entry without a cid')
    const offset = expected + unzigzag(r.varint())
    const storedLength = r.varint()
    const logicalLength = r.varint()
    const base = readCid(r, version >= 3)
    const e: PackEntry = { cid, codec, offset, storedLength, logicalLength }
    if (typeof base === 'number') byPosition.push([e, base])
    else if (base != null) e.base = base
    out.push(e)
    expected = offset + storedLength
  }
  for (const [e, k] of byPosition) {
    if (k >= out.length || out[k] === e) r.fail(`base position ${k} of ${out.length} entries`)
    e.base = out[k].cid
  }
}

/** Parse and check an index trailer against its footer. */
export function decodePackIndex (index: Uint8Array, footer: PackFooter, name = 'pack'): PackEntry[] {
  if (!equals(blake3(index), footer.indexHash)) throw new IntegrityError(`${name}: pack index does not match its hash`, ErrorCode.BAD_PACK)
  const b = Buffer.from(index.buffer, index.byteOffset, index.byteLength)
  const out: PackEntry[] = []
  let o = 0
  try {
    if (footer.version >= 2) decodeRecordsV2(b, out, footer.version)
    else while (o < b.length) {
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
