/**
 * GGUF (v2, v3; little-endian): a strict parser of the header — magic,
 * version, counts, typed metadata key/values, tensor infos — into a FileLayout.
 * Reads only the header through a ranged reader, never the tensor data. Byte
 * layout: ggml's docs/gguf.md; the rules enforced are those of ggml's own
 * loader (gguf.cpp): unique keys and names, at most 4 dims, ne[0] a multiple
 * of the block size, offsets aligned to `general.alignment` (a power of two,
 * default 32), tensor data inside the file. Unlike ggml, gaps between tensors
 * are allowed (they become 'bytes' segments); overlaps are not.
 *
 * Tensor shapes are reported outermost dimension first (PyTorch / safetensors
 * order), i.e. the reverse of ggml's ne[] order as stored in the file.
 * Block-quantised tensors keep their ggml type names ('Q4_0', 'Q4_K', ...);
 * their segments have elementSize = the block's bytes and blockElements = the
 * elements per block, so tensor pieces are whole blocks.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import { PagedReader } from './read-at.js'
import type { ReadAt } from './read-at.js'
import { elementCount, tileSegments } from './tensor-segments.js'
import type { DataRange } from './tensor-segments.js'
import type { FileLayout, TensorInfo } from './types.js'

/** 'GGUF' read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747

/** Default alignment of the tensor data section and of each tensor's offset. */
export const GGUF_DEFAULT_ALIGNMENT = 32

/** Caps on counts a hostile header can declare (each also bounded by the file size). */
export const GGUF_LIMITS = Object.freeze({
  tensors: 1 << 20,
  kv: 1 << 20,
  arrayLength: 1 << 28,
  arrayDepth: 4,
  stringBytes: 64 * 1024 * 1024,
  dims: 4
})

/** A ggml tensor type: elements per block and bytes per block. */
export interface GgmlTypeInfo {
  name: string
  blockElements: number
  blockBytes: number
}

const t = (name: string, blockElements: number, blockBytes: number): GgmlTypeInfo => Object.freeze({ name, blockElements, blockBytes })

/**
 * ggml tensor types by id (ggml.h `enum ggml_type`, type_traits in ggml.c).
 * Types removed from ggml but found in files of late 2024 (Q4_0_4_4 …,
 * IQ4_NL_4_4 …: repacked Q4_0 / IQ4_NL blocks) are still sized here; ids 4
 * and 5 (Q4_2, Q4_3) predate GGUF and are rejected.
 */
export const GGML_TYPES: Readonly<Record<number, GgmlTypeInfo>> = Object.freeze({
  0: t('F32', 1, 4),
  1: t('F16', 1, 2),
  2: t('Q4_0', 32, 18),
  3: t('Q4_1', 32, 20),
  6: t('Q5_0', 32, 22),
  7: t('Q5_1', 32, 24),
  8: t('Q8_0', 32, 34),
  9: t('Q8_1', 32, 36),
  10: t('Q2_K', 256, 84),
  11: t('Q3_K', 256, 110),
  12: t('Q4_K', 256, 144),
  13: t('Q5_K', 256, 176),
  14: t('Q6_K', 256, 210),
  15: t('Q8_K', 256, 292),
  16: t('IQ2_XXS', 256, 66),
  17: t('IQ2_XS', 256, 74),
  18: t('IQ3_XXS', 256, 98),
  19: t('IQ1_S', 256, 50),
  20: t('IQ4_NL', 32, 18),
  21: t('IQ3_S', 256, 110),
  22: t('IQ2_S', 256, 82),
  23: t('IQ4_XS', 256, 136),
  24: t('I8', 1, 1),
  25: t('I16', 1, 2),
  26: t('I32', 1, 4),
  27: t('I64', 1, 8),
  28: t('F64', 1, 8),
  29: t('IQ1_M', 256, 56),
  30: t('BF16', 1, 2),
  31: t('Q4_0_4_4', 32, 18),
  32: t('Q4_0_4_8', 32, 18),
  33: t('Q4_0_8_8', 32, 18),
  34: t('TQ1_0', 256, 54),
  35: t('TQ2_0', 256, 66),
  36: t('IQ4_NL_4_4', 32, 18),
  37: t('IQ4_NL_4_8', 32, 18),
  38: t('IQ4_NL_8_8', 32, 18),
  39: t('MXFP4', 32, 17),
  40: t('NVFP4', 64, 36),
  41: t('Q1_0', 128, 18),
  42: t('Q2_0', 64, 18)
})

/** GGUF metadata value types (`enum gguf_type`) → fixed byte size (0: variable). */
const VALUE_SIZE: Readonly<Record<number, number>> = Object.freeze({
  0: 1, // UINT8
  1: 1, // INT8
  2: 2, // UINT16
  3: 2, // INT16
  4: 4, // UINT32
  5: 4, // INT32
  6: 4, // FLOAT32
  7: 1, // BOOL
  8: 0, // STRING
  9: 0, // ARRAY
  10: 8, // UINT64
  11: 8, // INT64
  12: 8 // FLOAT64
})
const STRING = 8
const ARRAY = 9
const UINT32 = 4

/** Metadata string values longer than this are not copied into FileLayout.metadata. */
const KEEP_STRING_MAX = 1024
/** At most this many metadata entries are copied into FileLayout.metadata. */
const KEEP_ENTRIES_MAX = 1024

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parse the GGUF file of `fileSize` bytes read through `read`. Returns its
 * tensors (sorted by offset, absolute offsets, shapes outermost first), the
 * segments ('header' up to the first tensor, a 'tensor' segment per non-empty
 * tensor, 'bytes' for padding and gaps), and the scalar metadata (numbers,
 * booleans, strings up to 1 KiB; arrays left out) as strings. Throws
 * ERR_BAD_FORMAT with one line naming the problem for any malformed header.
 */
export async function parseGguf (read: ReadAt, fileSize: number): Promise<FileLayout> {
  const c = new Cursor(new PagedReader(read, fileSize, { what: 'GGUF' }))
  if (fileSize < 24) throw bad(`GGUF file is ${fileSize} bytes, too short for its 24-byte header`)
  const magic = await c.u32('magic')
  if (magic !== GGUF_MAGIC) throw bad(`not a GGUF file: bad magic 0x${magic.toString(16).padStart(8, '0')}`)
  const version = await c.u32('version')
  if (version !== 2 && version !== 3) {
    if (version === 1) throw bad('GGUF version 1 is not supported (only 2 and 3)')
    if ((version & 0xffff) === 0 && version !== 0) throw bad('big-endian GGUF files are not supported')
    throw bad(`unsupported GGUF version ${version}`)
  }
  const tensorCount = await c.count('tensor count', GGUF_LIMITS.tensors, 24)
  const kvCount = await c.count('metadata key/value count', GGUF_LIMITS.kv, 13)

  const metadata: Record<string, string> = {}
  let kept = 0
  const keys = new Set<string>()
  let alignment = GGUF_DEFAULT_ALIGNMENT
  for (let i = 0; i < kvCount; i++) {
    const key = await c.string(`metadata key ${i}`)
    if (keys.has(key)) throw bad(`GGUF metadata key ${JSON.stringify(key)} appears twice`)
    keys.add(key)
    const type = await c.u32(`type of metadata ${JSON.stringify(key)}`)
    if (key === 'general.alignment') {
      if (type !== UINT32) throw bad(`GGUF general.alignment has value type ${type}, not UINT32`)
      alignment = await c.u32('general.alignment')
      if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw bad(`GGUF general.alignment ${alignment} is not a power of two`)
      if (kept < KEEP_ENTRIES_MAX) { metadata[key] = String(alignment); kept++ }
      continue
    }
    const value = await c.value(type, key, 0)
    if (value !== undefined && kept < KEEP_ENTRIES_MAX) { metadata[key] = value; kept++ }
  }

  interface Info { name: string, dims: number[], type: GgmlTypeInfo, offset: number, bytes: number }
  const infos: Info[] = []
  const names = new Set<string>()
  for (let i = 0; i < tensorCount; i++) {
    const name = await c.string(`tensor ${i} name`)
    const q = JSON.stringify(name)
    if (names.has(name)) throw bad(`GGUF tensor name ${q} appears twice`)
    names.add(name)
    const nDims = await c.u32(`tensor ${q} dimension count`)
    if (nDims > GGUF_LIMITS.dims) throw bad(`GGUF tensor ${q} has ${nDims} dimensions (at most ${GGUF_LIMITS.dims})`)
    const dims: number[] = []
    for (let d = 0; d < nDims; d++) {
      const v = await c.u64(`tensor ${q} dimension ${d}`)
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`GGUF tensor ${q} dimension ${d} is ${v}, too large`)
      dims.push(Number(v))
    }
    const typeId = await c.u32(`tensor ${q} type`)
    const type = Object.hasOwn(GGML_TYPES, typeId) ? GGML_TYPES[typeId] : undefined
    if (type === undefined) throw bad(`GGUF tensor ${q} has unknown ggml type ${typeId}`)
    const off = await c.u64(`tensor ${q} offset`)
    if (off > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`GGUF tensor ${q} offset ${off} is too large`)
    const elements = elementCount(dims)
    if (elements === undefined) throw bad(`GGUF tensor ${q} has a shape too large to address`)
    const ne0 = dims[0] ?? 1
    if (ne0 % type.blockElements !== 0) {
      throw bad(`GGUF tensor ${q} of type ${type.name} has ne[0] = ${ne0}, not a multiple of its block size ${type.blockElements}`)
    }
    const bytes = (elements / type.blockElements) * type.blockBytes
    if (!Number.isSafeInteger(bytes)) throw bad(`GGUF tensor ${q} has a shape too large to address`)
    infos.push({ name, dims, type, offset: Number(off), bytes })
  }

  const infoEnd = c.pos
  const aligned = infoEnd + ((alignment - (infoEnd % alignment)) % alignment)
  // A tensor-less file (a vocab-only GGUF) may end before the padding.
  const dataStart = infos.length === 0 ? Math.min(aligned, fileSize) : aligned
  if (dataStart > fileSize) throw bad(`GGUF file is truncated: its data section would start at ${dataStart} but the file is ${fileSize} bytes`)

  const tensors: TensorInfo[] = []
  const ranges: DataRange[] = []
  for (const info of infos) {
    const q = JSON.stringify(info.name)
    if (info.offset % alignment !== 0) throw bad(`GGUF tensor ${q} offset ${info.offset} is not a multiple of the alignment ${alignment}`)
    const start = dataStart + info.offset
    const end = start + info.bytes
    if (!Number.isSafeInteger(end) || end > fileSize) {
      throw bad(`GGUF file is truncated: tensor ${q} ends at ${end} but the file is ${fileSize} bytes`)
    }
    // ggml order ne[0] (fastest) first; reported outermost first like safetensors.
    tensors.push({ name: info.name, dtype: info.type.name, shape: info.dims.slice().reverse(), start, end })
    const r: DataRange = { start, end, name: info.name, dtype: info.type.name, elementSize: info.type.blockBytes }
    if (info.type.blockElements !== 1) r.blockElements = info.type.blockElements
    ranges.push(r)
  }
  // Unlike TFLite buffers, GGUF tensors never share bytes: any overlap is an error.
  const distinct = ranges.filter(r => r.end > r.start).sort((a, b) => (a.start - b.start) || (a.end - b.end))
  for (let i = 1; i < distinct.length; i++) {
    if (distinct[i].start < distinct[i - 1].end) {
      throw bad(`GGUF tensors ${JSON.stringify(distinct[i - 1].name)} and ${JSON.stringify(distinct[i].name)} overlap`)
    }
  }
  const order = tensors.map((_, i) => i).sort((a, b) => (tensors[a].start - tensors[b].start) || (tensors[a].end - tensors[b].end) || (a - b))
  const layout: FileLayout = { format: 'gguf', segments: tileSegments(fileSize, distinct), tensors: order.map(i => tensors[i]) }
  if (kept > 0) layout.metadata = metadata
  return layout
}

/** A bounds-checked little-endian cursor over the header. */
class Cursor {
  pos = 0
  private readonly r: PagedReader

  constructor (r: PagedReader) { this.r = r }

  private async take (n: number, what: string): Promise<Uint8Array> {
    if (this.pos + n > this.r.size) {
      throw bad(`GGUF file is truncated: ${what} at offset ${this.pos} runs past the end of the file (${this.r.size} bytes)`)
    }
    const b = this.r.peek(this.pos, n) ?? await this.r.bytes(this.pos, n)
    this.pos += n
    return b
  }

  private skip (n: number, what: string): void {
    if (this.pos + n > this.r.size) {
      throw bad(`GGUF file is truncated: ${what} at offset ${this.pos} runs past the end of the file (${this.r.size} bytes)`)
    }
    this.pos += n
  }

  async u32 (what: string): Promise<number> {
    const b = await this.take(4, what)
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0
  }

  async u64 (what: string): Promise<bigint> {
    const b = await this.take(8, what)
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true)
  }

  /** A u64 count of items of at least `minBytes` each, capped by `limit` and by the bytes left. */
  async count (what: string, limit: number, minBytes: number): Promise<number> {
    const v = await this.u64(what)
    const left = this.r.size - this.pos
    if (v > BigInt(limit)) throw bad(`GGUF ${what} ${v} exceeds the limit of ${limit}`)
    const n = Number(v)
    if (n * minBytes > left) throw bad(`GGUF ${what} ${n} cannot fit in the ${left} bytes left in the file`)
    return n
  }

  private async stringLength (what: string): Promise<number> {
    const v = await this.u64(`${what} length`)
    if (v > BigInt(GGUF_LIMITS.stringBytes)) throw bad(`GGUF ${what} length ${v} exceeds the limit of ${GGUF_LIMITS.stringBytes} bytes`)
    return Number(v)
  }

  async string (what: string): Promise<string> {
    const n = await this.stringLength(what)
    const b = await this.take(n, what)
    try {
      return utf8.decode(b)
    } catch (err) {
      throw bad(`GGUF ${what} at offset ${this.pos - n} is not valid UTF-8`, err)
    }
  }

  /**
   * Read (or skip) one metadata value of `type`. Returns it as a string when
   * worth keeping (scalars, short strings), else undefined.
   */
  async value (type: number, key: string, depth: number): Promise<string | undefined> {
    const what = `metadata ${JSON.stringify(key)}`
    if (!Object.hasOwn(VALUE_SIZE, type)) throw bad(`GGUF ${what} has unknown value type ${type}`)
    if (type === STRING) {
      const n = await this.stringLength(what)
      if (n > KEEP_STRING_MAX) { this.skip(n, what); return undefined }
      const b = await this.take(n, what)
      return new TextDecoder('utf-8').decode(b)
    }
    if (type === ARRAY) {
      if (depth >= GGUF_LIMITS.arrayDepth) throw bad(`GGUF ${what} nests arrays more than ${GGUF_LIMITS.arrayDepth} deep`)
      const elemType = await this.u32(`${what} array type`)
      if (!Object.hasOwn(VALUE_SIZE, elemType)) throw bad(`GGUF ${what} has unknown array element type ${elemType}`)
      const size = VALUE_SIZE[elemType]
      const n = await this.count(`${what} array length`, GGUF_LIMITS.arrayLength, size > 0 ? size : elemType === STRING ? 8 : 12)
      if (size > 0) {
        if (elemType === 7) {
          for (let i = 0; i < n; i++) await this.bool(what)
        } else {
          this.skip(n * size, what)
        }
      } else if (elemType === STRING) {
        await this.skipStrings(n, what)
      } else {
        for (let i = 0; i < n; i++) await this.value(ARRAY, key, depth + 1)
      }
      return undefined
    }
    if (type === 7) return String(await this.bool(what))
    const b = await this.take(VALUE_SIZE[type], what)
    const dv = new DataView(b.buffer, b.byteOffset, b.length)
    switch (type) {
      case 0: return String(dv.getUint8(0))
      case 1: return String(dv.getInt8(0))
      case 2: return String(dv.getUint16(0, true))
      case 3: return String(dv.getInt16(0, true))
      case 4: return String(dv.getUint32(0, true))
      case 5: return String(dv.getInt32(0, true))
      case 6: return String(dv.getFloat32(0, true))
      case 10: return String(dv.getBigUint64(0, true))
      case 11: return String(dv.getBigInt64(0, true))
      default: return String(dv.getFloat64(0, true))
    }
  }

  /**
   * Skip `n` strings (a tokenizer vocabulary: often 10^5 of them), reading
   * their lengths synchronously while they lie in cached pages.
   */
  private async skipStrings (n: number, what: string): Promise<void> {
    let c = this.r.cached(this.pos)
    for (let i = 0; i < n; i++) {
      const o = c === undefined ? -1 : this.pos - c.base
      if (c === undefined || o < 0 || o + 8 > c.page.length) {
        this.skip(await this.stringLength(what), what)
        c = this.r.cached(this.pos)
        continue
      }
      const b = c.page
      const lo = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
      const hi = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0
      const len = hi * 0x100000000 + lo
      if (len > GGUF_LIMITS.stringBytes) throw bad(`GGUF ${what} length ${len} exceeds the limit of ${GGUF_LIMITS.stringBytes} bytes`)
      this.pos += 8
      this.skip(len, what)
    }
  }

  private async bool (what: string): Promise<boolean> {
    const b = await this.take(1, what)
    if (b[0] > 1) throw bad(`GGUF ${what} has a bool of value ${b[0]} (not 0 or 1)`)
    return b[0] === 1
  }
}

function bad (message: string, cause?: unknown): BadInputError {
  return new BadInputError(ErrorCode.BAD_FORMAT, message, cause === undefined ? {} : { cause })
}
