/**
 * What a sync moves: the closure of a set of commits (their history,
 * manifests, tensor tables, trees, file nodes, leaves and the delta bases
 * those are stored against), listed bases-first so that every pack of a
 * transfer can be verified with what the receiver already holds.
 */
import * as dagPb from '@ipld/dag-pb'
import { Codec, isInline, type CID } from '../hash/cid.js'
import { cborLinks, decodeCommit } from '../objects/commit.js'
import { MAX_DELTA_DEPTH, type BlockStore } from '../store/block-store.js'
import { NotFoundError, ErrorCode } from '../errors.js'

/** One object of a transfer: its CID, stored size and delta base (if stored as a delta). */
export interface ObjectRef {
  cid: CID
  /** stored (encoded) bytes at the sender */
  size: number
  base?: CID
}

/** Links of a DAG node (dag-pb or dag-cbor); raw leaves have none. */
export function nodeLinks (cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === Codec.DAG_PB) return dagPb.decode(bytes).Links.map(l => l.Hash)
  if (cid.code === Codec.DAG_CBOR) return cborLinks(bytes)
  return []
}

/**
 * Everything reachable from `roots` in `blocks`, bases-first. Throws
 * ERR_NOT_FOUND naming the first block that is not stored.
 */
export function localClosure (blocks: Pick<BlockStore, 'getSync' | 'location'>, roots: CID[]): ObjectRef[] {
  const seen = new Map<string, ObjectRef>()
  const stack: CID[] = [...roots]
  while (stack.length > 0) {
    const cid = stack.pop() as CID
    const key = cid.toString()
    // inline leaves travel inside their DAG node
    if (seen.has(key) || isInline(cid)) continue
    const loc = blocks.location(cid)
    if (loc == null) throw new NotFoundError(`block ${key} is not stored (incomplete history)`, ErrorCode.NOT_FOUND)
    const ref: ObjectRef = { cid, size: loc.storedLength }
    if (loc.base != null) { ref.base = loc.base; stack.push(loc.base) }
    seen.set(key, ref)
    if (cid.code === Codec.RAW) continue
    for (const l of nodeLinks(cid, blocks.getSync(cid))) stack.push(l)
  }
  return orderBasesFirst([...seen.values()])
}

/** Reorder so that every object comes after its delta base (when the base is in the list). */
export function orderBasesFirst (refs: ObjectRef[]): ObjectRef[] {
  const byKey = new Map(refs.map(r => [r.cid.toString(), r]))
  const done = new Set<string>()
  const out: ObjectRef[] = []
  const emit = (r: ObjectRef, depth: number): void => {
    const k = r.cid.toString()
    if (done.has(k)) return
    done.add(k)
    if (r.base != null && depth <= MAX_DELTA_DEPTH) {
      const b = byKey.get(r.base.toString())
      if (b != null) emit(b, depth + 1)
    }
    out.push(r)
  }
  for (const r of refs) emit(r, 0)
  return out
}

/** Split a bases-first list into batches of at most `maxBytes` stored bytes (an oversized object goes alone). */
export function * batches (refs: ObjectRef[], maxBytes: number): Generator<ObjectRef[]> {
  let cur: ObjectRef[] = []
  let n = 0
  for (const r of refs) {
    if (cur.length > 0 && n + r.size > maxBytes) { yield cur; cur = []; n = 0 }
    cur.push(r)
    n += r.size
  }
  if (cur.length > 0) yield cur
}

/** True when `ancestor` is `descendant` or in its history (commits missing locally end that path). */
export function isAncestor (blocks: Pick<BlockStore, 'getSync' | 'has'>, ancestor: CID, descendant: CID): boolean {
  const seen = new Set<string>()
  const stack = [descendant]
  while (stack.length > 0) {
    const c = stack.pop() as CID
    if (c.equals(ancestor)) return true
    const k = c.toString()
    if (seen.has(k) || !blocks.has(c)) continue
    seen.add(k)
    stack.push(...decodeCommit(c, blocks.getSync(c)).parents)
  }
  return false
}

/** Every commit in the history of `head` that the store holds (head included), as CID strings. */
export function historyOf (blocks: Pick<BlockStore, 'getSync' | 'has'>, head: CID): Set<string> {
  const seen = new Set<string>()
  const stack = [head]
  while (stack.length > 0) {
    const c = stack.pop() as CID
    const k = c.toString()
    if (seen.has(k) || !blocks.has(c)) continue
    seen.add(k)
    stack.push(...decodeCommit(c, blocks.getSync(c)).parents)
  }
  return seen
}

/** Encode refs for the wire: `[cid, size, base|null]`. */
export function refsToWire (refs: ObjectRef[]): Array<[string, number, string | null]> {
  return refs.map(r => [r.cid.toString(), r.size, r.base?.toString() ?? null])
}
