/**
 * Reading files back: map a byte range of a file DAG to the leaves that hold
 * it and stream them, verified, with bounded memory (one leaf at a time plus
 * a small cache of decoded interior nodes).
 */
import type { BlockStore } from '../store/block-store.js'
import { CID, Codec } from '../hash/cid.js'
import { decodeNode, type DecodedNode } from '../objects/unixfs.js'
import { BadInputError, ErrorCode } from '../errors.js'
import type { AbortOptions } from '../util/options.js'
import { throwIfAborted } from '../util/options.js'

/** A leaf and the part of it a range needs. */
export interface LeafSpan {
  cid: CID
  /** offset of the leaf in the file */
  fileOffset: number
  /** leaf length */
  length: number
  /** slice of the leaf to return */
  start: number
  end: number
}

/** Small LRU of decoded interior nodes, shared by readers. */
export class NodeCache {
  private readonly map = new Map<string, DecodedNode>()
  constructor (private readonly max = 1024) {}
  get (store: Pick<BlockStore, 'getSync'>, cid: CID): DecodedNode {
    const k = cid.toString()
    let n = this.map.get(k)
    if (n != null) { this.map.delete(k); this.map.set(k, n); return n }
    n = decodeNode(cid, store.getSync(cid))
    this.map.set(k, n)
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string)
    return n
  }
}

/**
 * The leaves covering [start, end) of the file rooted at `root`, in order.
 * `size` is the file's logical size.
 */
export function * leafSpans (store: Pick<BlockStore, 'getSync'>, cache: NodeCache, root: CID, size: number, start: number, end: number): Generator<LeafSpan> {
  if (start >= end) return
  if (root.code === Codec.RAW) {
    yield { cid: root, fileOffset: 0, length: size, start, end }
    return
  }
  yield * walk(store, cache, root, 0, start, end)
}

function * walk (store: Pick<BlockStore, 'getSync'>, cache: NodeCache, cid: CID, base: number, start: number, end: number): Generator<LeafSpan> {
  const node = cache.get(store, cid)
  if (node.type !== 'file' && node.type !== 'raw') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${cid.toString()} is a ${node.type}, not a file`)
  let off = base
  if (node.data != null) off += node.data.length // inline data (not written by tenpak)
  for (let i = 0; i < node.links.length; i++) {
    const len = node.blockSizes[i]
    const lo = off
    const hi = off + len
    off = hi
    if (hi <= start) continue
    if (lo >= end) break
    const child = node.links[i].cid
    if (child.code === Codec.RAW) {
      yield { cid: child, fileOffset: lo, length: len, start: Math.max(start, lo) - lo, end: Math.min(end, hi) - lo }
    } else {
      yield * walk(store, cache, child, lo, start, end)
    }
  }
}

/** Stream bytes [start, end) of a file. */
export async function * readRange (store: Pick<BlockStore, 'getSync'>, cache: NodeCache, root: CID, size: number, start: number, end: number, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
  for (const span of leafSpans(store, cache, root, size, start, end)) {
    throwIfAborted(options)
    const leaf = store.getSync(span.cid)
    yield span.start === 0 && span.end === leaf.length ? leaf : leaf.subarray(span.start, span.end)
  }
}
