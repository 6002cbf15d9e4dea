/**
 * DELTA_NODE (codec 23): a UnixFS file node (dag-pb) kept as the edit of its
 * base node's link list. A fine-tune's or a repacked model's file nodes
 * link mostly the same leaves as the base's — in place, shifted, or
 * reordered when tensors moved in the container — with a few new leaves.
 * A byte patch of the encoded node pays for every moved run of links; here
 * a link is an op byte naming the base link it repeats (the next one, or one
 * further away by a zigzag step) and whether its sizes are the base link's,
 * and only new links carry a CID. The ops are then zstd-compressed.
 *
 * The node is rebuilt with {@link encodeFileNode}, so only nodes that
 * encoder writes (tenpak's own; checked by re-encoding at encode time) take
 * this codec; any other node returns undefined and is patched instead.
 *
 * Payload: version u8 (0) | raw length varint | zstd frame (the base node's
 * bytes as its dictionary, so new gap leaves find their old neighbours) of
 *   link count varint, then per link: op u8 [step varint] [cid] [size varint] [tsize varint],
 *   then the bytes of the new inline leaves (see transposeInline)
 * op bits: 0–1 kind (0 next base link, 1 base link at a zigzag step from the
 * next, 2 new link: CID length varint + bytes, 3 new inline leaf: its length
 * varint, its bytes after the ops), bit 2 size is the base link's, bit 3 tsize is the
 * base link's, bit 4 tsize equals size. A new link stands in for the base
 * link it replaces: the next base link moves on by one, so a repacked model
 * whose ~150 small gaps between buffers (inline leaves) all changed costs
 * their bytes and one op each, not a step per following link.
 */
import { CID, Codec, INLINE_MAX, inlineCid, isInline } from '../hash/cid.js'
import { decodeNode, encodeFileNode, type DagLink } from '../objects/unixfs.js'
import { equals } from '../util/bytes.js'
import { ByteReader, ByteWriter, unzigzag, zigzag } from './delta-streams.js'

/** zstd frames with a raw-content dictionary (the base node's bytes): see delta.ts. */
export interface DictFrames {
  compress: (src: Uint8Array, dict: Uint8Array, level: number) => Uint8Array
  decompress: (frame: Uint8Array, length: number, dict: Uint8Array) => Uint8Array
}

const VERSION = 0
const EMPTY_INLINE = inlineCid(new Uint8Array(0))
const NEXT = 0
const STEP = 1
const NEW = 2
const NEW_INLINE = 3
const SAME_SIZE = 4
const SAME_TSIZE = 8
const TSIZE_IS_SIZE = 16

/** Level of the zstd frame around the ops (nodes are at most ~7 KB). */
export const NODE_DELTA_LEVEL = 19

/** The links of a tenpak file node, or undefined if `bytes` is not one (or not as encodeFileNode writes it). */
function fileLinks (bytes: Uint8Array, check: boolean): DagLink[] | undefined {
  let node
  try {
    node = decodeNode(EMPTY_INLINE, bytes) // the CID only names the block in errors, which are caught here
  } catch {
    return undefined
  }
  if (node.type !== 'file' || node.data != null || node.blockSizes.length !== node.links.length) return undefined
  if (node.links.some(l => l.name !== '')) return undefined
  const links = node.links.map((l, i) => ({ cid: l.cid, size: node.blockSizes[i], tsize: l.tsize }))
  if (check && !equals(encodeFileNode(links).bytes, bytes)) return undefined
  return links
}

/**
 * Encode file node `bytes` against file node `base`; undefined when either is
 * not a node {@link encodeFileNode} writes.
 */
export function encodeNodeDelta (bytes: Uint8Array, base: Uint8Array, zstd: DictFrames, level = NODE_DELTA_LEVEL): Uint8Array | undefined {
  const links = fileLinks(bytes, true)
  const baseLinks = links != null ? fileLinks(base, false) : undefined
  if (links == null || baseLinks == null) return undefined
  const where = new Map<string, number[]>()
  baseLinks.forEach((l, j) => {
    const k = l.cid.toString()
    const at = where.get(k)
    if (at == null) where.set(k, [j])
    else at.push(j)
  })
  const ops = new ByteWriter(256)
  const inline: Uint8Array[] = []
  ops.varint(links.length)
  let next = 0
  for (const [i, l] of links.entries()) {
    const at = where.get(l.cid.toString())
    let j: number | undefined
    if (at != null) j = at.includes(next) ? next : at.reduce((best, x) => Math.abs(x - next) < Math.abs(best - next) ? x : best, at[0])
    if (j != null) {
      const b = baseLinks[j]
      const flags = (l.size === b.size ? SAME_SIZE : 0) | (l.tsize === b.tsize ? SAME_TSIZE : 0) | (l.tsize === l.size ? TSIZE_IS_SIZE : 0)
      ops.u8((j === next ? NEXT : STEP) | flags)
      if (j !== next) ops.varint(zigzag(j - next))
      if ((flags & SAME_SIZE) === 0) ops.varint(l.size)
      if ((flags & (SAME_TSIZE | TSIZE_IS_SIZE)) === 0) ops.varint(l.tsize)
      next = j + 1
    } else {
      const flags = l.tsize === l.size ? TSIZE_IS_SIZE : 0
      if (isInline(l.cid) && l.cid.code === Codec.RAW && l.size === l.cid.multihash.digest.length) {
        ops.u8(NEW_INLINE | flags)
        ops.varint(l.size)
        inline.push(predictLengthPrefix(l.cid.multihash.digest, links[i + 1]?.size))
      } else {
        ops.u8(NEW | flags)
        ops.varint(l.cid.bytes.length)
        ops.bytes(l.cid.bytes)
        ops.varint(l.size)
      }
      if (flags === 0) ops.varint(l.tsize)
      next++
    }
  }
  ops.bytes(transposeInline(inline))
  const raw = ops.result()
  const out = new ByteWriter(16 + raw.length)
  out.u8(VERSION)
  out.varint(raw.length)
  out.bytes(zstd.compress(raw, base, level))
  return out.result()
}

/**
 * The bytes of new inline leaves, right-aligned and transposed: byte p from
 * the end of every leaf (that long), for p = 0, 1, 2, …, grouped by p mod 4
 * first. Inline leaves are mostly container structure between tensors (a
 * TFLite buffer's vector length, the next tensor's byte length, int32
 * offsets into tables), so equal positions from the end hold like values —
 * the high bytes of every offset, the length words — and compress as runs.
 */
function transposeInline (items: Uint8Array[]): Uint8Array {
  const max = items.reduce((m, b) => Math.max(m, b.length), 0)
  const out = new Uint8Array(items.reduce((s, b) => s + b.length, 0))
  let o = 0
  for (let j = 0; j < 4; j++) {
    for (let p = j; p < max; p += 4) {
      for (const b of items) if (b.length > p) out[o++] = b[b.length - 1 - p]
    }
  }
  return out
}

/**
 * A gap leaf that ends in the little-endian u32 length of the leaf after it
 * (a TFLite buffer's, a flatbuffer vector's length prefix) becomes zeros
 * there: its last 4 bytes are XORed with that length. Its own inverse.
 */
function predictLengthPrefix (b: Uint8Array, nextSize: number | undefined): Uint8Array {
  if (nextSize === undefined || b.length < 4 || nextSize > 0xffffffff) return b
  const out = b.slice()
  const n = out.length
  out[n - 4] ^= nextSize & 0xff
  out[n - 3] ^= (nextSize >>> 8) & 0xff
  out[n - 2] ^= (nextSize >>> 16) & 0xff
  out[n - 1] ^= (nextSize >>> 24) & 0xff
  return out
}

/** Inverse of {@link transposeInline} for leaves of `lengths`. */
function untransposeInline (data: Uint8Array, lengths: number[]): Uint8Array[] {
  const items = lengths.map(n => new Uint8Array(n))
  const max = lengths.reduce((m, n) => Math.max(m, n), 0)
  let o = 0
  for (let j = 0; j < 4; j++) {
    for (let p = j; p < max; p += 4) {
      for (const b of items) if (b.length > p) b[b.length - 1 - p] = data[o++]
    }
  }
  return items
}

/** Rebuild a file node from its DELTA_NODE payload and base node. */
export function decodeNodeDelta (data: Uint8Array, logicalLength: number, base: Uint8Array, zstd: DictFrames): Uint8Array {
  const head = new ByteReader(data, 'delta-node')
  if (head.u8() !== VERSION) head.fail('unknown version')
  const rawLength = head.varint()
  if (rawLength > 16 * 1024 * 1024) head.fail(`ops of ${rawLength} bytes`)
  const r = new ByteReader(zstd.decompress(data.subarray(head.pos), rawLength, base), 'delta-node')
  const baseLinks = fileLinks(base, false)
  if (baseLinks == null) return r.fail('base is not a UnixFS file node')
  const n = r.varint()
  if (n > rawLength) r.fail(`${n} links in ${rawLength} bytes`)
  const links: DagLink[] = []
  const pending: number[] = []
  let next = 0
  for (let i = 0; i < n; i++) {
    const op = r.u8()
    const kind = op & 3
    if (kind === NEW || kind === NEW_INLINE) {
      let cid: CID
      let size: number
      if (kind === NEW_INLINE) {
        size = r.varint()
        if (size > INLINE_MAX) r.fail(`inline leaf of ${size} bytes`)
        pending.push(links.length)
        cid = EMPTY_INLINE // its bytes follow the ops (transposeInline)
      } else {
        cid = CID.decode(r.take(r.varint()))
        size = r.varint()
      }
      links.push({ cid, size, tsize: (op & TSIZE_IS_SIZE) !== 0 ? size : r.varint() })
      next++
      continue
    }
    const j = kind === NEXT ? next : next + unzigzag(r.varint())
    if (j < 0 || j >= baseLinks.length) r.fail(`base link ${j} of ${baseLinks.length}`)
    const b = baseLinks[j]
    const size = (op & SAME_SIZE) !== 0 ? b.size : r.varint()
    const tsize = (op & SAME_TSIZE) !== 0 ? b.tsize : (op & TSIZE_IS_SIZE) !== 0 ? size : r.varint()
    links.push({ cid: b.cid, size, tsize })
    next = j + 1
  }
  const lengths = pending.map(k => links[k].size)
  const bytes = untransposeInline(r.take(lengths.reduce((a, b) => a + b, 0)), lengths)
  pending.forEach((k, i) => { links[k].cid = inlineCid(predictLengthPrefix(bytes[i], links[k + 1]?.size)) })
  r.end()
  const node = encodeFileNode(links).bytes
  if (node.length !== logicalLength) r.fail(`node of ${node.length} bytes, expected ${logicalLength}`)
  return node
}
