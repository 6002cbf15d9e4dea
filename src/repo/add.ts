/**
 * Ingest: a file or directory becomes chunks (by format), blocks in packs,
 * a UnixFS DAG, a manifest and a commit, then a ref update. Write order:
 * packs sealed and indexed first, ref compare-and-swap last, so an
 * interrupted add leaves only unreferenced blocks.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { cidFromDigest, Codec, type CID } from '../hash/cid.js'
import { blake3 } from '../hash/blake3.js'
import { createSha256 } from '../hash/sha256.js'
import { FileDagBuilder, encodeDirectory, type Block, type DirEntry } from '../objects/unixfs.js'
import { encodeManifest, encodeTensorTable, encodeCommit, type FileEntry } from '../objects/commit.js'
import { MAX_DELTA_DEPTH, type PackWriter, type BlockStore } from '../store/block-store.js'
import { encodeChunk } from '../codec/codecs.js'
import { encodeDelta } from '../codec/delta.js'
import type { EncodeHint } from '../codec/types.js'
import type { TensorInfo, FileLayout } from '../formats/types.js'
import type { NodeCache } from './read.js'
import { chooseBaseFile, loadBaseFile, pairFile, type FilePairing } from './pairing.js'
import type { EncodePool } from './encode-pool.js'
import { detectLayout } from '../formats/detect.js'
import { chunkFile, DEFAULT_CHUNK_PARAMS } from '../chunk/chunker.js'
import type { ChunkParams } from '../chunk/types.js'
import { fromSystemError, NotFoundError, BadInputError, ErrorCode } from '../errors.js'
import { throwIfAborted, type AbortOptions, type ProgressOptions } from '../util/options.js'

/** A file found under the source path. */
export interface SourceFile {
  /** path inside the repo, '/'-separated */
  path: string
  abs: string
  size: number
}

/** List the regular files under `src` (a file or a directory), sorted by path. Symlinks are followed; other special files skipped. */
export async function listSource (src: string): Promise<SourceFile[]> {
  let st
  try { st = await fsp.stat(src) } catch (err) { throw fromSystemError(err, src) }
  if (st.isFile()) return [{ path: path.basename(src), abs: path.resolve(src), size: st.size }]
  if (!st.isDirectory()) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${src} is neither a file nor a directory`)
  const out: SourceFile[] = []
  const walk = async (dir: string, rel: string): Promise<void> => {
    const ents = await fsp.readdir(dir, { withFileTypes: true })
    for (const e of ents) {
      const abs = path.join(dir, e.name)
      const r = rel === '' ? e.name : `${rel}/${e.name}`
      let s
      try { s = await fsp.stat(abs) } catch { continue }
      if (s.isDirectory()) await walk(abs, r)
      else if (s.isFile()) out.push({ path: r, abs, size: s.size })
    }
  }
  await walk(path.resolve(src), '')
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

/** The result of ingesting one file. */
export interface IngestedFile {
  entry: FileEntry
  /** tsize of the file DAG (for directory links) */
  tsize: number
  /** bytes of the file whose chunks were already stored (deduplicated) */
  dupBytes: number
  delta: DeltaStats
}

/** What ingest needs to store a file as deltas of a base. */
export interface DeltaContext {
  blocks: Pick<BlockStore, 'getSync' | 'location'>
  cache: NodeCache
  /** the base commit's files, candidates to pair with */
  files: Array<{ entry: FileEntry, tensors?: TensorInfo[] }>
}

/** Options for {@link ingestFile}. */
export interface IngestOptions extends AbortOptions, ProgressOptions {
  chunkParams?: ChunkParams
  /** store chunks as deltas against a paired base file when smaller */
  delta?: DeltaContext
  /** worker threads to encode chunks on (inline when absent) */
  pool?: EncodePool
}

/** Most chunks in flight to the encode pool per file (bounds memory: ~2 × 512 KiB each). */
const MAX_IN_FLIGHT = 16
const EMPTY = new Uint8Array(0)

/** Per-file delta statistics. */
export interface DeltaStats {
  /** base file path the file was paired with */
  basePath?: string
  /** logical bytes stored as deltas, and what they took */
  deltaLogical: number
  deltaStored: number
}

/** Length of the delta chain under `cid` (0 for a standalone entry). */
export function deltaDepth (blocks: Pick<BlockStore, 'location'>, cid: CID): number {
  let depth = 0
  let loc = blocks.location(cid)
  while (loc?.base != null && depth <= MAX_DELTA_DEPTH) {
    depth++
    loc = blocks.location(loc.base)
  }
  return depth
}

/**
 * Encode `bytes` standalone and, when a base is given and the chain stays
 * within MAX_DELTA_DEPTH, as a delta; keep the smaller.
 */
export function encodeAgainst (bytes: Uint8Array, hint: EncodeHint, base: { cid: CID, bytes: Uint8Array, dtype?: string } | undefined, blocks: Pick<BlockStore, 'location'>): { codec: number, data: Uint8Array, base?: CID } {
  const alone = encodeChunk(bytes, hint)
  if (base == null || deltaDepth(blocks, base.cid) + 1 > MAX_DELTA_DEPTH) return alone
  const d = encodeDelta(bytes, base.bytes, { dtype: hint.dtype, wordSize: hint.wordSize, baseDtype: base.dtype, kind: hint.kind })
  if (d == null || d.data.length >= alone.data.length) return alone
  return { codec: d.codec, data: d.data, base: base.cid }
}

const READ_SIZE = 1 << 20

/** Parse a file's layout from its head and ranged reads (never the whole file). */
async function layoutOf (fh: fs.promises.FileHandle, name: string, size: number): Promise<FileLayout> {
  const read = async (o: number, n: number): Promise<Uint8Array> => {
    const b = Buffer.alloc(n)
    const { bytesRead } = await fh.read(b, 0, n, o)
    return b.subarray(0, bytesRead)
  }
  const head = await read(0, Math.min(size, 64 * 1024))
  return await detectLayout(name, head, size, async (len) => await read(0, len), { read })
}

/** The layout of a source file, from its header only (base selection). Unparseable files count as plain bytes here. */
export async function sourceLayout (file: SourceFile): Promise<FileLayout> {
  const fh = await fsp.open(file.abs, 'r')
  try {
    return await layoutOf(fh, file.path, file.size)
  } catch {
    return { format: 'bytes', segments: [] }
  } finally {
    await fh.close()
  }
}

/** Chunk, hash, encode and store one file; returns its manifest entry. */
export async function ingestFile (writer: PackWriter, file: SourceFile, options: IngestOptions = {}): Promise<IngestedFile> {
  let fh: fs.promises.FileHandle
  try { fh = await fsp.open(file.abs, 'r') } catch (err) { throw fromSystemError(err, file.abs) }
  try {
    const size = (await fh.stat()).size
    let layout = await layoutOf(fh, file.path, size)

    // pair with a base file when asked: tensors by name, pieces by index, nodes by position
    let pairing: FilePairing | undefined
    const delta = options.delta
    const stats: DeltaStats = { deltaLogical: 0, deltaStored: 0 }
    if (delta != null) {
      const chosen = chooseBaseFile(file.path, layout, size, delta.files)
      if (chosen != null) {
        pairing = pairFile(layout, size, loadBaseFile(delta.blocks, delta.cache, chosen.entry, chosen.tensors))
        if (pairing.layoutOverride != null) layout = { ...pairing.layoutOverride, tensors: layout.tensors }
        stats.basePath = chosen.entry.path
      }
    }
    const store = (cid: CID, bytes: Uint8Array, hint: EncodeHint, base: { cid: CID, dtype?: string } | undefined): boolean => {
      if (writer.has(cid)) return false
      if (base == null || delta == null) return writer.put(cid, bytes, { hint }).stored
      const enc = encodeAgainst(bytes, hint, { ...base, bytes: delta.blocks.getSync(base.cid) }, delta.blocks)
      if (enc.base != null) { stats.deltaLogical += bytes.length; stats.deltaStored += enc.data.length }
      return writer.put(cid, bytes, { encoded: enc }).stored
    }

    const sha = createSha256()
    const put = (b: Block): void => { writer.put(b.cid, b.bytes, { hint: { kind: 'header' } }) }
    let nodeOrdinal = 0
    const dag = new FileDagBuilder((b) => {
      const base = pairing?.nodeBase(nodeOrdinal++)
      store(b.cid, b.bytes, { kind: 'header' }, base != null ? { cid: base } : undefined)
    })
    let seen = 0
    let dupBytes = 0
    const pool = options.pool
    const inflight = new Set<string>()
    const jobs: Array<Promise<void>> = []
    const source = async function * (): AsyncGenerator<Uint8Array> {
      let pos = 0
      while (pos < size) {
        throwIfAborted(options)
        const buf = Buffer.allocUnsafe(Math.min(READ_SIZE, size - pos))
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos)
        if (bytesRead === 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${file.abs} shrank while being read`)
        const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead)
        sha.update(chunk)
        pos += bytesRead
        yield chunk
      }
    }
    for await (const chunk of chunkFile(source(), layout, options.chunkParams ?? DEFAULT_CHUNK_PARAMS)) {
      const cid = cidFromDigest(Codec.RAW, blake3(chunk.bytes))
      // ask for the pairing of every chunk, duplicate or not, so ordinals stay aligned
      const base = pairing?.chunkBase(chunk.hint, chunk.offset, chunk.bytes.length)
      const hint: EncodeHint = { kind: chunk.hint.kind, dtype: chunk.hint.dtype, wordSize: chunk.hint.elementSize }
      const key = cid.toString()
      if (writer.has(cid) || inflight.has(key)) {
        dupBytes += chunk.bytes.length
      } else if (pool != null && chunk.bytes.length >= 4096) {
        // encode on a worker; the pack entry is appended when it comes back
        inflight.add(key)
        const useBase = base != null && delta != null && deltaDepth(delta.blocks, base.cid) + 1 <= MAX_DELTA_DEPTH ? base : undefined
        const baseArg = useBase != null && delta != null ? { bytes: delta.blocks.getSync(useBase.cid), dtype: useBase.dtype } : undefined
        const logicalLength = chunk.bytes.length
        const job = pool.encode(chunk.bytes, hint, baseArg).then(r => {
          writer.put(cid, EMPTY, { encoded: { codec: r.codec, data: r.data, base: r.delta ? useBase?.cid : undefined }, logicalLength })
          if (r.delta) { stats.deltaLogical += logicalLength; stats.deltaStored += r.data.length }
          inflight.delete(key)
        })
        job.catch(() => {}) // awaited below; this only marks the rejection as handled meanwhile
        jobs.push(job)
        if (jobs.length >= MAX_IN_FLIGHT) await jobs.shift()
      } else {
        store(cid, chunk.bytes, hint, base)
      }
      dag.addLeaf(cid, chunk.bytes.length)
      seen += chunk.bytes.length
      options.onProgress?.({ type: 'add:bytes', bytes: chunk.bytes.length })
    }
    await Promise.all(jobs)
    if (seen !== size) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${file.abs} changed while being read`)
    const root = dag.finish()
    const entry: FileEntry = { path: file.path, cid: root.cid, size, sha256: sha.digest(), format: layout.format }
    if (layout.tensors != null && layout.tensors.length > 0) {
      const table = encodeTensorTable(layout.tensors)
      put(table)
      entry.tensors = table.cid
    }
    return { entry, tsize: root.tsize, dupBytes, delta: stats }
  } finally {
    await fh.close()
  }
}

/** Build UnixFS directories for the given files; returns the root directory block's CID and tsize. */
export function buildTree (writer: PackWriter, files: IngestedFile[]): { cid: CID, tsize: number } {
  interface Dir { dirs: Map<string, Dir>, files: DirEntry[] }
  const root: Dir = { dirs: new Map(), files: [] }
  for (const f of files) {
    const parts = f.entry.path.split('/')
    let d = root
    for (const p of parts.slice(0, -1)) {
      let next = d.dirs.get(p)
      if (next == null) { next = { dirs: new Map(), files: [] }; d.dirs.set(p, next) }
      d = next
    }
    d.files.push({ name: parts[parts.length - 1], cid: f.entry.cid, tsize: f.tsize })
  }
  const emit = (d: Dir): { cid: CID, tsize: number } => {
    const entries: DirEntry[] = [...d.files]
    for (const [name, sub] of d.dirs) {
      const r = emit(sub)
      entries.push({ name, cid: r.cid, tsize: r.tsize })
    }
    const block = encodeDirectory(entries)
    writer.put(block.cid, block.bytes, { hint: { kind: 'header' } })
    return { cid: block.cid, tsize: entries.reduce((s, e) => s + e.tsize, block.bytes.length) }
  }
  return emit(root)
}

/** Store the manifest and the commit; returns the commit CID. */
export function writeCommit (writer: PackWriter, args: { tree: CID, files: FileEntry[], parents: CID[], message: string, author: string, time: number, base?: CID }): { commit: CID, manifest: CID } {
  const manifest = encodeManifest(args.files)
  writer.put(manifest.cid, manifest.bytes, { hint: { kind: 'header' } })
  const commit = encodeCommit({ tree: args.tree, manifest: manifest.cid, parents: args.parents, message: args.message, author: args.author, time: args.time, base: args.base })
  writer.put(commit.cid, commit.bytes, { hint: { kind: 'header' } })
  return { commit: commit.cid, manifest: manifest.cid }
}

export { NotFoundError }
