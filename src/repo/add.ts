/**
 * Ingest: a file or directory becomes chunks (by format), blocks in packs,
 * a UnixFS DAG, a manifest and a commit, then a ref update. Write order:
 * packs sealed and indexed first, ref compare-and-swap last, so an
 * interrupted add leaves only unreferenced blocks.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { cidFromDigest, Codec, INLINE_MAX, inlineCid, isInline, type CID } from '../hash/cid.js'
import { blake3 } from '../hash/blake3.js'
import { createSha256 } from '../hash/sha256.js'
import { FileDagBuilder, encodeDirectory, type DirEntry } from '../objects/unixfs.js'
import { encodeManifest, encodeTensorTable, encodeCommit, type FileEntry } from '../objects/commit.js'
import { MAX_DELTA_DEPTH, chainDepthLimit, type PackWriter, type BlockStore } from '../store/block-store.js'
import { encodeSmallest } from '../codec/codecs.js'
import { isDeltaCodec, type EncodeHint } from '../codec/types.js'
import type { TensorInfo, FileLayout } from '../formats/types.js'
import type { NodeCache } from './read.js'
import { anchorPairing, chooseBaseFile, loadBaseFile, pairFile, type AnchorPairing, type FilePairing } from './pairing.js'
import { quantizePiece, type LossyCollector, type LossyPiece } from './lossy-ingest.js'
import type { EncodePool, PoolBase } from './encode-pool.js'
import { detectLayout } from '../formats/detect.js'
import { onnxExternalTensors } from '../formats/onnx.js'
import { chunkFile, DEFAULT_CHUNK_PARAMS } from '../chunk/chunker.js'
import { resemblance, sketch } from '../chunk/sketch.js'
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
  blocks: Pick<BlockStore, 'getSync' | 'location' | 'getEncoded'>
  cache: NodeCache
  /** the base commit's files, candidates to pair with */
  files: Array<{ entry: FileEntry, tensors?: TensorInfo[] }>
}

/** Options for {@link ingestFile}. */
export interface IngestOptions extends AbortOptions, ProgressOptions {
  chunkParams?: ChunkParams
  /** store chunks as deltas against a paired base file when smaller */
  delta?: DeltaContext
  /** look up stored chunks similar to new ones (resemblance sketches) */
  similar?: SimilarContext
  /** worker threads to encode chunks on (inline when absent) */
  pool?: EncodePool
  /** zstd level of non-tensor chunks stored whole (see {@link textLevelFor}); default: the codec's */
  textLevel?: number
  /** the tensors ONNX models keep in this file (see {@link externalTensorsOf}): lay it out as their external data */
  externalTensors?: readonly TensorInfo[]
  /**
   * make paired float tensor pieces lossy (needs `delta`): the file's bytes,
   * CIDs and sha256 become the reconstruction's; errors go to the collector
   */
  lossy?: LossyCollector
}

/** Most chunks in flight to the encode pool per file (bounds memory: ~2 × 512 KiB each). */
const MAX_IN_FLIGHT = 16
const EMPTY = new Uint8Array(0)

/**
 * Similar-chunk lookup for ingest: a new records or bytes chunk (not a
 * duplicate) computes its sketch (src/chunk/sketch.ts) and, when a stored
 * chunk shares more super-features with it than its paired base chunk does
 * (or it has none), is stored as a delta against that chunk if smaller.
 */
export interface SimilarContext {
  blocks: Pick<BlockStore, 'getSync' | 'location' | 'getEncoded'>
  /** stored chunks sharing super-features with a sketch, most first */
  find: (sketch: Uint32Array) => Array<{ cid: CID, shared: number }>
  /** (cid, sketch) of each chunk this ingest stored: the caller indexes them once the packs are sealed */
  stored: Array<[CID, Uint32Array]>
}

/**
 * Unparsed ('bytes') chunks get sketches only in files up to this size:
 * container structure and text without a known extension, not multi-GB
 * opaque binaries (pickled checkpoints), where a sketch per chunk would cost
 * ingest ~1 s per 400 MB on the main thread for little chance of a match.
 * Records (CSV, JSON lines, JSON arrays) always get them.
 */
export const SKETCH_BYTES_FILE_MAX = 256 * 1024 * 1024

/**
 * zstd level for the non-tensor chunks (text, records, container structure,
 * unparsed bytes) of an add of `totalBytes`: small adds can afford the
 * strong levels, large ones need level 1's speed. Measured per 32 KiB chunk
 * (MB/s on one loaded core): an oil-price CSV 58.2 KB at level 1 (273 MB/s),
 * 50.4 KB at 9 (98), 45.8 KB at 19 (3); the pose-detection model's 1.1 MB
 * of unparsed buffers 796 KB at 1, 654 KB at 9, 601 KB at 19. So up to
 * 4 MiB an add takes level 19 (about a second at most), up to 256 MiB level 9.
 */
export function textLevelFor (totalBytes: number): number | undefined {
  if (totalBytes <= 4 * 1024 * 1024) return 19
  if (totalBytes <= 256 * 1024 * 1024) return 9
  return undefined
}

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
 * Depth of the ancestor a delta falls back to when its base's chain is full
 * (see {@link usableBase}). Measured on the 176-version oil-price series
 * stored through add with chains of 16: falling back to depth 2 → 333 KB in
 * all, 4 → 339 KB, 8 → 360 KB, 12 → 437 KB, 15 → 881 KB (every later version
 * then patches against one aging chunk), a standalone chunk instead → 374 KB.
 * Deeper fallbacks reset more often; each reset re-expresses a whole chunk
 * against an older one. 4 keeps the span short for checkpoint chains too.
 */
export const SKIP_TO_DEPTH = 4

/**
 * The chunk a new delta of a `length`-byte chunk may use as its base in
 * place of `cid`: `cid` itself when the chain stays within
 * {@link chainDepthLimit}, else the ancestor on its chain at depth
 * {@link SKIP_TO_DEPTH} (skip-delta style), so a long series of versions each
 * stored against the last keeps deltas instead of falling back to a full
 * standalone chunk when the chain is full; the delta then spans the versions
 * in between, which costs little for series whose neighbours are close.
 */
export function usableBase (blocks: Pick<BlockStore, 'location'>, cid: CID, length: number, kind?: string): CID {
  const limit = chainDepthLimit(length, kind)
  const chain: CID[] = [cid]
  let loc = blocks.location(cid)
  while (loc?.base != null && chain.length <= limit + 1) {
    chain.push(loc.base)
    loc = blocks.location(loc.base)
  }
  const depth = chain.length - 1
  if (depth + 1 <= limit) return cid
  // chain[i] sits at depth (depth - i)
  return chain[Math.max(0, depth - SKIP_TO_DEPTH)]
}

/**
 * Encode `bytes` as the store keeps it (codecs.ts encodeSmallest: the delta
 * against the base when given and smaller, else standalone). The caller picks the base with {@link usableBase}, which keeps the
 * chain within {@link chainDepthLimit}.
 */
export function encodeAgainst (bytes: Uint8Array, hint: EncodeHint, base: { cid: CID, bytes: Uint8Array, dtype?: string } | undefined): { codec: number, data: Uint8Array, base?: CID } {
  const enc = encodeSmallest(bytes, hint, base)
  return enc.delta && base != null ? { codec: enc.codec, data: enc.data, base: base.cid } : { codec: enc.codec, data: enc.data }
}

const READ_SIZE = 1 << 20

/**
 * A base for the encode pool: a standalone stored entry as it is (the worker
 * decodes and hash-checks it, off the main thread: on a 512 MiB fine-tune,
 * decoding base pieces took 0.7 s of the main thread's ~5), else its bytes.
 */
function poolBase (blocks: Pick<BlockStore, 'getSync' | 'location' | 'getEncoded'>, cid: CID, dtype: string | undefined): PoolBase {
  const loc = blocks.location(cid)
  if (loc != null && loc.base == null && !isDeltaCodec(loc.codec) && !isInline(cid)) {
    const { data } = blocks.getEncoded(cid)
    return { encoded: { codec: loc.codec, data, logicalLength: loc.logicalLength }, cid, dtype }
  }
  return { bytes: blocks.getSync(cid), dtype }
}

/** Parse a file's layout from its head and ranged reads (never the whole file). */
async function layoutOf (fh: fs.promises.FileHandle, name: string, size: number, externalTensors?: readonly TensorInfo[]): Promise<FileLayout> {
  const read = rangedReader(fh)
  const head = await read(0, Math.min(size, 64 * 1024))
  return await detectLayout(name, head, size, async (len) => await read(0, len), { read, externalTensors })
}

function rangedReader (fh: fs.promises.FileHandle): (o: number, n: number) => Promise<Uint8Array> {
  return async (o, n) => {
    const b = Buffer.alloc(n)
    const { bytesRead } = await fh.read(b, 0, n, o)
    return b.subarray(0, bytesRead)
  }
}

/**
 * The tensors that the ONNX models among `files` keep in external data
 * files, by the data file's path in the source ('/'-separated, resolved
 * against the model's directory; lists of several models sharing a file
 * concatenated), so those files are laid out tensor by tensor ('onnx-data')
 * and pair with their base like the model's own initializers. A model that
 * does not parse contributes nothing here (its own ingest reports it); a
 * location outside the source is ignored.
 */
export async function externalTensorsOf (files: SourceFile[]): Promise<Map<string, TensorInfo[]>> {
  const out = new Map<string, TensorInfo[]>()
  const present = new Set(files.map(f => f.path))
  for (const f of files) {
    if (!f.path.toLowerCase().endsWith('.onnx')) continue
    let ext: Map<string, TensorInfo[]>
    let fh: fs.promises.FileHandle | undefined
    try {
      fh = await fsp.open(f.abs, 'r')
      ext = await onnxExternalTensors(rangedReader(fh), f.size)
    } catch {
      continue
    } finally {
      await fh?.close()
    }
    const dir = path.posix.dirname(f.path)
    for (const [location, tensors] of ext) {
      const p = path.posix.normalize(dir === '.' ? location : `${dir}/${location}`)
      if (!present.has(p) || p === f.path) continue
      out.set(p, [...(out.get(p) ?? []), ...tensors])
    }
  }
  return out
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
    let layout = await layoutOf(fh, file.path, size, options.externalTensors)

    // pair with a base file when asked: tensors by name, pieces by index, nodes by position
    let pairing: FilePairing | undefined
    let anchored: AnchorPairing | undefined
    let baseTable: CID | undefined
    const delta = options.delta
    const stats: DeltaStats = { deltaLogical: 0, deltaStored: 0 }
    if (delta != null) {
      const chosen = chooseBaseFile(file.path, layout, size, delta.files)
      if (chosen != null) {
        const baseFile = loadBaseFile(delta.blocks, delta.cache, chosen.entry, chosen.tensors)
        baseTable = chosen.entry.tensors
        pairing = pairFile(layout, size, baseFile)
        if (pairing.layoutOverride != null) layout = { ...pairing.layoutOverride, tensors: layout.tensors }
        else anchored = anchorPairing(delta.blocks, layout, baseFile)
        stats.basePath = chosen.entry.path
      }
    }
    // where delta bases are read from: the base commit's store, else the similar-chunk lookup's
    const similar = options.similar
    const dblocks = delta?.blocks ?? similar?.blocks
    const store = (cid: CID, bytes: Uint8Array, hint: EncodeHint, base: { cid: CID, dtype?: string } | undefined): boolean => {
      if (writer.has(cid)) return false
      if (base == null || dblocks == null) return writer.put(cid, bytes, { hint }).stored
      const b = usableBase(dblocks, base.cid, bytes.length, hint.kind)
      const enc = encodeAgainst(bytes, hint, { ...base, cid: b, bytes: dblocks.getSync(b) })
      if (enc.base != null) { stats.deltaLogical += bytes.length; stats.deltaStored += enc.data.length }
      return writer.put(cid, bytes, { encoded: enc }).stored
    }

    const sha = createSha256()
    const lossy = delta != null ? options.lossy : undefined
    let nodeOrdinal = 0
    const dag = new FileDagBuilder((b) => {
      const base = pairing?.nodeBase(nodeOrdinal++)
      store(b.cid, b.bytes, { kind: 'node', level: options.textLevel }, base != null ? { cid: base } : undefined)
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
        if (lossy == null) sha.update(chunk)
        pos += bytesRead
        yield chunk
      }
    }
    for await (const chunk of chunkFile(source(), layout, options.chunkParams ?? DEFAULT_CHUNK_PARAMS, { anchors: anchored?.anchors })) {
      // ask for the pairing of every chunk, duplicate or not, so ordinals and anchors stay aligned
      let base = pairing?.chunkBase(chunk.hint, chunk.offset, chunk.bytes.length)
      if (anchored != null && (chunk.hint.kind === 'records' || chunk.hint.kind === 'bytes')) {
        const b = anchored.baseFor(chunk.offset, chunk.bytes.length, chunk.anchor)
        if (b != null) base = { cid: b }
      }
      // an inline base leaf (≤ INLINE_MAX bytes) is no dictionary worth a delta entry
      // (a lossy revision still quantises such a tensor against it, as every paired tensor)
      if (base != null && isInline(base.cid) && lossy == null) base = undefined
      const hint: EncodeHint = { kind: chunk.hint.kind, dtype: chunk.hint.dtype, wordSize: chunk.hint.elementSize }
      if (options.textLevel != null && chunk.hint.kind !== 'tensor') hint.level = options.textLevel
      // lossy: the piece's logical bytes (and so its CID) become the reconstruction
      let piece: LossyPiece | undefined
      if (lossy != null && base != null && delta != null) {
        piece = quantizePiece(chunk.bytes, hint, { ...base, bytes: delta.blocks.getSync(base.cid) }, lossy.mode, deltaDepth(delta.blocks, base.cid) + 1 <= chainDepthLimit(chunk.bytes.length))
      }
      if (lossy != null) sha.update(piece?.bytes ?? chunk.bytes)
      const leafBytes = piece?.bytes ?? chunk.bytes
      // tiny leaves are inlined into their node (identity CID): no pack or index entry
      const cid = leafBytes.length <= INLINE_MAX ? inlineCid(leafBytes) : cidFromDigest(Codec.RAW, blake3(leafBytes))
      const key = cid.toString()
      const dup = writer.has(cid) || inflight.has(key)
      if (!dup && piece == null && similar != null && (chunk.hint.kind === 'records' || (chunk.hint.kind === 'bytes' && size <= SKETCH_BYTES_FILE_MAX))) {
        const sk = sketch(chunk.bytes)
        if (sk != null) {
          const top = similar.find(sk)[0]
          if (top != null && (base == null || !top.cid.equals(base.cid))) {
            const paired = base != null ? sketch(similar.blocks.getSync(base.cid)) : undefined
            if (top.shared > (paired != null ? resemblance(paired, sk) : 0)) base = { cid: top.cid }
          }
          similar.stored.push([cid, sk])
        }
      }
      if (dup) {
        dupBytes += chunk.bytes.length
        if (piece != null) lossy?.add(file.path, chunk.hint.tensor ?? '', hint.dtype ?? '', piece, 0)
      } else if (piece != null) {
        const put = writer.put(cid, piece.bytes, { encoded: piece.encoded })
        if (piece.encoded.base != null) { stats.deltaLogical += piece.bytes.length; stats.deltaStored += put.storedBytes }
        lossy?.add(file.path, chunk.hint.tensor ?? '', hint.dtype ?? '', piece, put.storedBytes)
      } else if (pool != null && chunk.bytes.length >= 4096) {
        // encode on a worker; the pack entry is appended when it comes back
        inflight.add(key)
        const useBase = base != null && dblocks != null ? { ...base, cid: usableBase(dblocks, base.cid, chunk.bytes.length, hint.kind) } : undefined
        const baseArg = useBase != null && dblocks != null ? poolBase(dblocks, useBase.cid, useBase.dtype) : undefined
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
      // a re-serialised or fine-tuned model's table differs from its base's in offsets: a small patch
      store(table.cid, table.bytes, { kind: 'header', level: options.textLevel }, baseTable != null ? { cid: baseTable } : undefined)
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
export function writeCommit (writer: PackWriter, args: { tree: CID, files: FileEntry[], parents: CID[], message: string, author: string, time: number, base?: CID, lossy?: string }): { commit: CID, manifest: CID } {
  const manifest = encodeManifest(args.files)
  writer.put(manifest.cid, manifest.bytes, { hint: { kind: 'header' } })
  const commit = encodeCommit({ tree: args.tree, manifest: manifest.cid, parents: args.parents, message: args.message, author: args.author, time: args.time, base: args.base, lossy: args.lossy })
  writer.put(commit.cid, commit.bytes, { hint: { kind: 'header' } })
  return { commit: commit.cid, manifest: manifest.cid }
}

export { NotFoundError }
