/**
 * The chunker: turns a file's byte stream plus its layout (from formats/) into
 * chunks that tile the file in order. Each segment is cut by its kind: a
 * header is one chunk, a tensor is fixed element-aligned pieces (piece i pairs
 * with piece i of the same tensor in another revision), opaque bytes are
 * content-defined, records are content-defined with cuts snapped to record
 * ends ('\n', or the ',' between a JSON array's elements).
 * Segment boundaries are always chunk boundaries. Memory stays bounded by the
 * largest chunk plus the input buffers it spans, whatever the file size.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import { throwIfAborted } from '../util/options.js'
import type { AbortOptions } from '../util/options.js'
import type { FileLayout, Segment } from '../formats/types.js'
import { anchoredCutter, checkCdcParams, createGearCutter } from './gear.js'
import type { AnchoredCutter, Anchors, GearCutter } from './gear.js'
import type { Chunk, ChunkHint, ChunkParams } from './types.js'

/**
 * Files without tensors up to this size are kept one chunk per segment
 * ({@link ChunkParams.wholeMax}). 1 MiB keeps every leaf within the block
 * size IPFS tooling accepts without `--allow-big-block`. Measured through
 * add (scripts/bench/store-pairs.mjs, docs/performance.md): the word-list
 * variant, the flights subsets and gsm8k then store within a few percent of
 * `zstd -19 --patch-from`, where 32 KiB content-defined chunks each paired
 * with one base chunk lost 1.7–1.9× to it at chunk edges.
 */
export const WHOLE_FILE_MAX = 1024 * 1024

/**
 * Default chunk sizes: CDC 8 KiB min / 32 KiB average / 128 KiB max, tensor
 * pieces of 256 KiB, whole files up to {@link WHOLE_FILE_MAX}. Measured on
 * the shared corpus (docs/performance.md): against 16/64/256 KiB (and Xet's 8/64/128) these double the chunk count but
 * find far more shared bytes wherever versions share any (appended CSVs,
 * re-serialised models), while per-chunk zstd loses only ~3% on data that
 * shares nothing; 4/16/64 KiB dedups more still but doubles the chunks (index
 * entries, DAG links, range-read fan-out) again and compresses worse.
 */
export const DEFAULT_CHUNK_PARAMS: Readonly<ChunkParams> = Object.freeze({
  cdcMin: 8 * 1024,
  cdcAvg: 32 * 1024,
  cdcMax: 128 * 1024,
  tensorPiece: 256 * 1024,
  wholeMax: WHOLE_FILE_MAX
})

/**
 * A header segment up to this many times cdcMax is one chunk; a larger one
 * (e.g. a safetensors header with a huge `__metadata__`) is cut by CDC so that
 * no chunk, and no buffer held here, grows without bound.
 */
export const MAX_HEADER_CHUNK_FACTOR = 16

/**
 * Size of the pieces a tensor of `elementSize`-byte elements is cut into.
 * `tensorPiece` is the piece size for 2-byte (bf16/fp16) elements; every dtype
 * gets pieces of the same number of elements (tensorPiece / 2), so piece i of
 * a tensor covers the same elements whether it is stored as f32, bf16 or i8 —
 * which lets a cast (fp32 → fp16) pair piece by piece with its base. The last
 * piece of a tensor may be shorter. Block-quantised dtypes (GGUF Q4_0: 32
 * elements in an 18-byte block) pass `blockElements`, the elements per
 * `elementSize` bytes: pieces are then whole blocks covering the same
 * tensorPiece / 2 elements (at least one block).
 */
export function tensorPieceSize (tensorPiece: number, elementSize: number, blockElements = 1): number {
  return Math.max(1, Math.floor(Math.floor(tensorPiece / 2) / blockElements)) * elementSize
}

/** Throws ERR_BAD_ARGUMENT for chunk params the chunker cannot use. */
export function checkChunkParams (params: ChunkParams): void {
  checkCdcParams(params)
  if (!Number.isSafeInteger(params.tensorPiece) || params.tensorPiece <= 0) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `bad tensor piece size ${params.tensorPiece}`)
  }
  if (params.wholeMax !== undefined && (!Number.isSafeInteger(params.wholeMax) || params.wholeMax < 0)) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `bad whole-file chunk limit ${params.wholeMax}`)
  }
}

/**
 * A file up to this many times {@link ChunkParams.wholeMax} has its
 * content-defined segments (records, unparsed bytes; tensors keep their
 * pieces) cut into chunks of wholeMax/8 to wholeMax (average wholeMax/2)
 * rather than the small CDC sizes: a medium text file (a 1.6 MB word list)
 * or a small model's container bytes (the pose-detection TFLite's ~1.1 MB of
 * unparsed buffers) then keep a few chunks, each a delta against the base
 * chunk that ended where it ends (anchors), instead of dozens that each lose
 * the context across their edges. Measured through add: pose-detection
 * repack 33.9 KB → 14.7 KB, its retrains 4–5 % smaller, the palm repack
 * 8.1 → 7.8 KB.
 */
export const MEDIUM_FILE_FACTOR = 8

/** The content-defined chunk sizes for a file of `segments` (see {@link MEDIUM_FILE_FACTOR}). */
export function cdcParamsFor (segments: readonly Segment[], params: ChunkParams): ChunkParams {
  const w = params.wholeMax
  if (w === undefined || w <= params.cdcMax || segments.length === 0) return params
  const end = segments[segments.length - 1].end
  if (end > w * MEDIUM_FILE_FACTOR) return params
  return { ...params, cdcMin: Math.floor(w / 8), cdcAvg: Math.floor(w / 2), cdcMax: w }
}

/** Whether `segments` describe a file the chunker keeps one chunk per segment ({@link ChunkParams.wholeMax}). */
export function isWholeFile (segments: readonly Segment[], params: ChunkParams): boolean {
  if (params.wholeMax === undefined || segments.length === 0) return false
  const end = segments[segments.length - 1].end
  return end <= params.wholeMax && segments.every(s => s.kind !== 'tensor')
}

/** Options of {@link chunkFile}. */
export interface ChunkFileOptions extends AbortOptions {
  /**
   * Chunk ends of a base file (see gear.ts {@link Anchors}): content-defined
   * segments (bytes, records) also cut where a base chunk ended, and such
   * chunks carry `anchor`, the base chunk's index.
   */
  anchors?: Anchors
}

/** How one segment is cut: where its cuts fall and what each chunk's hint says. */
interface Plan {
  cutter: GearCutter
  /** no chunk of this segment is longer: sizes the copy buffer of a spanning chunk */
  maxChunk: number
  hint: (piece: number) => ChunkHint
}

/**
 * Chunk a whole file. `source` yields the file's bytes from offset 0 in buffers
 * of any sizes; the chunks (offsets absolute) tile the file in order and are
 * the same however the stream is split. `layout.segments` must tile
 * [0, file size) in order.
 *
 * Zero-copy: a chunk that lies inside one source buffer is a subarray of it,
 * so the source must not reuse a buffer after yielding it (fs.createReadStream
 * and `FileHandle.read()` without a caller-supplied buffer yield fresh ones).
 * Chunks spanning buffers are fresh copies. Copy a chunk's bytes if you keep
 * them long, since a subarray keeps its whole source buffer alive. Held here:
 * at most one chunk's bytes (max(cdcMax, tensorPiece), or a header of up to
 * {@link MAX_HEADER_CHUNK_FACTOR} x cdcMax) besides the current source buffer.
 *
 * Throws ERR_BAD_ARGUMENT for bad params or a layout that does not tile, or
 * when the stream is longer or shorter than the layout (the file changed).
 */
export async function * chunkFile (
  source: AsyncIterable<Uint8Array>,
  layout: FileLayout,
  params: ChunkParams = DEFAULT_CHUNK_PARAMS,
  options: ChunkFileOptions = {}
): AsyncGenerator<Chunk> {
  checkChunkParams(params)
  const segments = layout.segments
  const whole = isWholeFile(segments, params)
  // a whole-file plan cuts nowhere inside a segment, so a base's chunk ends have no say
  const anchors = whole ? undefined : options.anchors
  const wrap = (c: GearCutter): GearCutter => anchors != null ? anchoredCutter(c, anchors) : c
  const cdc = cdcParamsFor(segments, params)
  const bytesCutter = wrap(createGearCutter(cdc))
  const recordsCutter = wrap(createGearCutter(cdc, { records: true }))
  // JSON-array records need their own (stateful) scanner; made on first use.
  let jsonCutter: GearCutter | undefined
  const recordsCutterFor = (seg: Segment): GearCutter => {
    if (seg.recordSyntax !== 'json-array') return recordsCutter
    jsonCutter ??= wrap(createGearCutter(cdc, { records: true, syntax: 'json-array' }))
    return jsonCutter
  }

  let segIdx = 0
  let segEnd = 0 // end of the current segment; pos === segEnd means "pick the next one"
  let plan: Plan | undefined
  let pos = 0 // file offset of the next byte to consume
  let chunkOffset = 0 // file offset where the pending chunk starts
  let piece = 0
  // The pending chunk's bytes when it spans source buffers: copied out of each
  // one, so a source buffer is never kept once the next one arrives.
  let acc: Uint8Array | undefined
  let accLen = 0

  const nextSegment = (): void => {
    while (segIdx < segments.length) {
      const seg = segments[segIdx++]
      checkSegment(seg, pos)
      if (seg.end === seg.start) continue
      plan = whole ? wholePlan(seg) : planFor(seg, cdc, bytesCutter, recordsCutterFor(seg))
      plan.cutter.reset()
      segEnd = seg.end
      chunkOffset = pos
      piece = 0
      return
    }
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `the file is longer than its layout (${pos} bytes); did it change while being read?`)
  }

  const take = (tail: Uint8Array): Chunk => {
    let bytes = tail
    if (acc !== undefined) {
      const total = accLen + tail.length
      acc.set(tail, accLen)
      // The buffer was sized for the longest possible chunk; trim a CDC chunk
      // that ended early so it does not pin unused memory.
      bytes = total === acc.length ? acc : acc.slice(0, total)
      acc = undefined
      accLen = 0
    }
    const chunk: Chunk = { offset: chunkOffset, bytes, hint: (plan as Plan).hint(piece++) }
    chunkOffset += bytes.length
    return chunk
  }

  const keep = (view: Uint8Array): void => {
    acc ??= new Uint8Array(Math.min((plan as Plan).maxChunk, segEnd - chunkOffset))
    acc.set(view, accLen)
    accLen += view.length
  }

  for await (const input of source) {
    throwIfAborted(options)
    let off = 0
    while (off < input.length) {
      if (pos === segEnd) nextSegment()
      const n = Math.min(input.length - off, segEnd - pos)
      const view = input.subarray(off, off + n)
      let prev = 0
      const cutter = (plan as Plan).cutter
      for (const cut of cutter.push(view)) {
        const chunk = take(view.subarray(prev, cut))
        const k = (cutter as Partial<AnchoredCutter>).anchorAt?.(cut)
        if (k !== undefined) chunk.anchor = k
        yield chunk
        prev = cut
      }
      if (prev < n) keep(view.subarray(prev))
      off += n
      pos += n
      if (pos === segEnd && acc !== undefined) yield take(new Uint8Array(0))
    }
  }

  const layoutEnd = segments.length > 0 ? segments[segments.length - 1].end : 0
  if (pos < layoutEnd) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `the file ended at ${pos} bytes but its layout covers ${layoutEnd}; did it change while being read?`)
  }
  // Only empty segments may be left, and they must still sit where the file ends.
  while (segIdx < segments.length) {
    const seg = segments[segIdx++]
    if (seg.start !== pos || seg.end !== pos) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `layout segments do not tile the file: segment [${seg.start}, ${seg.end}) lies past its end (${pos})`)
    }
  }
}

function checkSegment (seg: Segment, pos: number): void {
  if (seg.start !== pos || !Number.isSafeInteger(seg.end) || seg.end < seg.start) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `layout segments do not tile the file: segment [${seg.start}, ${seg.end}) follows offset ${pos}`)
  }
}

function planFor (seg: Segment, params: ChunkParams, bytesCutter: GearCutter, recordsCutter: GearCutter): Plan {
  const length = seg.end - seg.start
  switch (seg.kind) {
    case 'header': {
      const whole = length <= params.cdcMax * MAX_HEADER_CHUNK_FACTOR
      return {
        cutter: whole ? fixedCutter(length) : bytesCutter,
        maxChunk: whole ? length : params.cdcMax,
        hint: () => ({ kind: 'header' })
      }
    }
    case 'tensor': {
      const es = seg.elementSize ?? 1
      if (!Number.isSafeInteger(es) || es <= 0) {
        throw new BadInputError(ErrorCode.BAD_ARGUMENT, `tensor segment ${JSON.stringify(seg.name)} has bad element size ${es}`)
      }
      const be = seg.blockElements ?? 1
      if (!Number.isSafeInteger(be) || be <= 0) {
        throw new BadInputError(ErrorCode.BAD_ARGUMENT, `tensor segment ${JSON.stringify(seg.name)} has bad block element count ${be}`)
      }
      const { name, dtype } = seg
      const size = tensorPieceSize(params.tensorPiece, es, be)
      return {
        cutter: fixedCutter(size),
        maxChunk: size,
        hint: (piece) => {
          const h: ChunkHint = { kind: 'tensor', elementSize: es, piece }
          if (dtype !== undefined) h.dtype = dtype
          if (name !== undefined) h.tensor = name
          return h
        }
      }
    }
    case 'bytes':
      return { cutter: bytesCutter, maxChunk: params.cdcMax, hint: () => ({ kind: 'bytes' }) }
    case 'records':
      return { cutter: recordsCutter, maxChunk: params.cdcMax, hint: () => ({ kind: 'records' }) }
    default:
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown segment kind ${JSON.stringify((seg as Segment).kind)}`)
  }
}

/** One chunk for the whole segment (a small file's, see {@link ChunkParams.wholeMax}). */
function wholePlan (seg: Segment): Plan {
  const length = seg.end - seg.start
  const kind = seg.kind === 'header' ? 'header' : seg.kind === 'records' ? 'records' : 'bytes'
  return { cutter: fixedCutter(length), maxChunk: length, hint: () => ({ kind }) }
}

/** A cutter with the GearCutter interface that cuts every `size` bytes. */
function fixedCutter (size: number): GearCutter {
  let len = 0
  return {
    push (buf: Uint8Array): number[] {
      const cuts: number[] = []
      let p = size - len
      while (p <= buf.length) { cuts.push(p); p += size }
      len = (len + buf.length) % size
      return cuts
    },
    reset () { len = 0 }
  }
}
