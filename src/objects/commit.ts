/**
 * Commit and manifest nodes (dag-cbor, versioned; schemas in docs/formats.md).
 * A commit names a UnixFS directory root plus a manifest that records, per
 * file, its size, sha256 and (for model files) tensor table.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID, cidOf, Codec } from '../hash/cid.js'
import { IntegrityError, ErrorCode } from '../errors.js'
import type { Block } from './unixfs.js'
import type { TensorInfo } from '../formats/types.js'

/** Schema version written into commits and manifests. */
export const COMMIT_VERSION = 1

/** A commit as stored. */
export interface Commit {
  v: number
  /** UnixFS directory root */
  tree: CID
  /** manifest node (dag-cbor) */
  manifest: CID
  parents: CID[]
  message: string
  author: string
  /** milliseconds since the epoch */
  time: number
  /** commit this one is stored as a delta against, when named */
  base?: CID
  /**
   * set only on lossy revisions (`add --lossy`): the mode, `int8`, `int4` or
   * `1bit`. Absent on every lossless commit, so their encoding is unchanged.
   */
  lossy?: string
}

/** What the manifest keeps per file. */
export interface FileEntry {
  path: string
  cid: CID
  size: number
  sha256: Uint8Array
  format: string
  /** dag-cbor block holding the tensor table (model files) */
  tensors?: CID
}

/** A manifest node. */
export interface Manifest {
  v: number
  files: FileEntry[]
}

function encode (value: unknown): Block {
  const bytes = dagCbor.encode(value)
  return { cid: cidOf(Codec.DAG_CBOR, bytes), bytes }
}

function decode<T> (cid: CID, bytes: Uint8Array, what: string): T {
  try {
    return dagCbor.decode(bytes) as T
  } catch (err) {
    throw new IntegrityError(`${cid.toString()} is not a ${what}`, ErrorCode.CORRUPT, { cause: err })
  }
}

/** Encode a commit. Optional fields are omitted, never null. */
export function encodeCommit (c: Omit<Commit, 'v'>): Block {
  const value: Record<string, unknown> = {
    v: COMMIT_VERSION,
    tree: c.tree,
    manifest: c.manifest,
    parents: c.parents,
    message: c.message,
    author: c.author,
    time: c.time
  }
  if (c.base != null) value.base = c.base
  if (c.lossy != null) value.lossy = c.lossy
  return encode(value)
}

/** Decode and check a commit. */
export function decodeCommit (cid: CID, bytes: Uint8Array): Commit {
  const c = decode<Commit>(cid, bytes, 'commit')
  if (typeof c !== 'object' || c == null || c.v !== COMMIT_VERSION || CID.asCID(c.tree) == null || !Array.isArray(c.parents)) {
    throw new IntegrityError(`${cid.toString()} is not a tenpak commit (v${COMMIT_VERSION})`, ErrorCode.CORRUPT)
  }
  return c
}

/** Encode a manifest; files sorted by path. */
export function encodeManifest (files: FileEntry[]): Block {
  const sorted = [...files].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  return encode({
    v: COMMIT_VERSION,
    files: sorted.map(f => {
      const e: Record<string, unknown> = { path: f.path, cid: f.cid, size: f.size, sha256: f.sha256, format: f.format }
      if (f.tensors != null) e.tensors = f.tensors
      return e
    })
  })
}

/** Decode a manifest. */
export function decodeManifest (cid: CID, bytes: Uint8Array): Manifest {
  const m = decode<Manifest>(cid, bytes, 'manifest')
  if (typeof m !== 'object' || m == null || m.v !== COMMIT_VERSION || !Array.isArray(m.files)) {
    throw new IntegrityError(`${cid.toString()} is not a tenpak manifest`, ErrorCode.CORRUPT)
  }
  return m
}

/**
 * Tensor table schema written now: v2 keeps each tensor's start as the gap
 * after the previous entry's end and its length instead of its end, so a
 * re-serialised model whose tensors all moved (the same gaps, the same
 * lengths, new absolute offsets) has a table equal to its base's but for the
 * gaps that changed, and its stored delta shrinks with it (palm-detection
 * repack: 811 → 208 bytes, pose repack 855 → 437). v1 (absolute start and end) is still read.
 */
export const TENSOR_TABLE_VERSION = 2

/** Encode a tensor table block (v2, see {@link TENSOR_TABLE_VERSION}). */
export function encodeTensorTable (tensors: TensorInfo[]): Block {
  let prevEnd = 0
  const rows = tensors.map(t => {
    const row = [t.name, t.dtype, t.shape, t.start - prevEnd, t.end - t.start]
    prevEnd = t.end
    return row
  })
  return encode({ v: TENSOR_TABLE_VERSION, tensors: rows })
}

/** Decode a tensor table block (v1 or v2). */
export function decodeTensorTable (cid: CID, bytes: Uint8Array): TensorInfo[] {
  const t = decode<{ v: number, tensors: Array<[string, string, number[], number, number]> }>(cid, bytes, 'tensor table')
  if ((t?.v !== 1 && t?.v !== 2) || !Array.isArray(t.tensors)) throw new IntegrityError(`${cid.toString()} is not a tensor table`, ErrorCode.CORRUPT)
  if (t.v === 1) return t.tensors.map(([name, dtype, shape, start, end]) => ({ name, dtype, shape, start, end }))
  let prevEnd = 0
  return t.tensors.map(([name, dtype, shape, gap, length]) => {
    const start = prevEnd + gap
    prevEnd = start + length
    return { name, dtype, shape, start, end: prevEnd }
  })
}

/** Links of a dag-cbor node (for reachability walks). */
export function cborLinks (bytes: Uint8Array): CID[] {
  const out: CID[] = []
  const walk = (v: unknown): void => {
    const cid = CID.asCID(v)
    if (cid != null) { out.push(cid); return }
    if (Array.isArray(v)) { for (const x of v) walk(x); return }
    if (v != null && typeof v === 'object' && !(v instanceof Uint8Array)) {
      for (const x of Object.values(v)) walk(x)
    }
  }
  walk(dagCbor.decode(bytes))
  return out
}
