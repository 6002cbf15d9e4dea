/**
 * TFLite: a strict FlatBuffers walk of a Model (schema version 3, file
 * identifier "TFL3") into a FileLayout: every tensor that has data (a non-empty
 * buffer) with its dtype, shape and the byte range of that buffer — inside the
 * flatbuffer (`Buffer.data`) or, in models over 2 GB, after it
 * (`Buffer.offset`/`size`). Reads only tables, vtables and vector lengths,
 * through a small page cache, never the weights. Every offset is
 * bounds-checked; tables and vectors must be 4-byte aligned as the FlatBuffers
 * verifier requires.
 *
 * Several tensors may share one buffer: the table lists each, the segments
 * cover each distinct byte range once (named after the first tensor using it).
 * Buffer 0 is the schema's empty sentinel: tensors pointing at it have no data.
 * Tensors of subgraph i > 0 are named `subgraph<i>/<name>` so names stay unique.
 * Table and field ids: tensorflow/lite/schema/schema.fbs.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import { PagedReader } from './read-at.js'
import type { ReadAt } from './read-at.js'
import { distinctRanges, elementCount, tileSegments } from './tensor-segments.js'
import type { DataRange } from './tensor-segments.js'
import type { FileLayout, TensorInfo } from './types.js'

/** The schema version this parser reads (Model.version). */
export const TFLITE_SCHEMA_VERSION = 3

/** Caps on counts a hostile file can declare (each also bounded by the file size). */
export const TFLITE_LIMITS = Object.freeze({
  subgraphs: 1 << 16,
  tensors: 1 << 22,
  buffers: 1 << 22,
  dims: 64,
  stringBytes: 1 << 20
})

/** A TFLite TensorType: dtype (safetensors spellings where they exist) and bits per element (0: variable). */
export interface TfliteTensorType { dtype: string, bits: number }

/** TensorType enum (schema.fbs) by value. */
export const TFLITE_TENSOR_TYPES: Readonly<Record<number, TfliteTensorType>> = Object.freeze({
  0: { dtype: 'F32', bits: 32 },
  1: { dtype: 'F16', bits: 16 },
  2: { dtype: 'I32', bits: 32 },
  3: { dtype: 'U8', bits: 8 },
  4: { dtype: 'I64', bits: 64 },
  5: { dtype: 'STRING', bits: 0 },
  6: { dtype: 'BOOL', bits: 8 },
  7: { dtype: 'I16', bits: 16 },
  8: { dtype: 'C64', bits: 64 },
  9: { dtype: 'I8', bits: 8 },
  10: { dtype: 'F64', bits: 64 },
  11: { dtype: 'C128', bits: 128 },
  12: { dtype: 'U64', bits: 64 },
  13: { dtype: 'RESOURCE', bits: 0 },
  14: { dtype: 'VARIANT', bits: 0 },
  15: { dtype: 'U32', bits: 32 },
  16: { dtype: 'U16', bits: 16 },
  17: { dtype: 'I4', bits: 4 },
  18: { dtype: 'BF16', bits: 16 },
  19: { dtype: 'I2', bits: 2 },
  20: { dtype: 'U4', bits: 4 },
  21: { dtype: 'F8_E4M3', bits: 8 },
  22: { dtype: 'F8_E5M2', bits: 8 }
})

// Field ids (schema.fbs).
const MODEL = { version: 0, subgraphs: 2, buffers: 4 } as const
const SUBGRAPH = { tensors: 0 } as const
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, sparsity: 6 } as const
const BUFFER = { data: 0, offset: 1, size: 2 } as const

/**
 * Parse the TFLite model of `fileSize` bytes read through `read`. Tensors
 * with data are listed sorted by offset; each distinct buffer range is a
 * 'tensor' segment, the bytes before the first a 'header' (when under 16 MiB),
 * all others 'bytes'. Throws ERR_BAD_FORMAT naming the problem for a bad
 * identifier or version, out-of-bounds or misaligned offsets, huge counts,
 * unknown tensor types, or a buffer whose size does not match its tensor.
 */
export async function parseTflite (read: ReadAt, fileSize: number): Promise<FileLayout> {
  const fb = new Fb(new PagedReader(read, fileSize, { what: 'TFLite', pageSize: 4096, maxPages: 256 }))
  if (fileSize < 8) throw bad(`TFLite file is ${fileSize} bytes, too short for a flatbuffer`)
  const ident = await fb.bytes(4, 4, 'file identifier')
  if (String.fromCharCode(...ident) !== 'TFL3') throw bad('not a TFLite file: no "TFL3" file identifier')
  const model = await fb.table(await fb.u32(0, 'root offset'), 'Model')
  const version = await fb.scalarU32(model, MODEL.version, 0)
  if (version !== TFLITE_SCHEMA_VERSION) throw bad(`TFLite schema version ${version} is not supported (only ${TFLITE_SCHEMA_VERSION})`)

  const buffers = await fb.vectorField(model, MODEL.buffers, 4, 'Model.buffers')
  const bufferCount = buffers?.length ?? 0
  if (bufferCount > TFLITE_LIMITS.buffers) throw bad(`TFLite model has ${bufferCount} buffers (limit ${TFLITE_LIMITS.buffers})`)
  const bufferRanges = new Map<number, { start: number, end: number }>()
  const bufferRange = async (index: number): Promise<{ start: number, end: number }> => {
    const cached = bufferRanges.get(index)
    if (cached !== undefined) return cached
    const what = `Buffer ${index}`
    const buf = await fb.table(await fb.offsetAt((buffers as Vec).start + index * 4, what), what)
    const data = await fb.vectorField(buf, BUFFER.data, 1, `${what}.data`)
    const offset = await fb.scalarU64(buf, BUFFER.offset)
    const size = await fb.scalarU64(buf, BUFFER.size)
    let range = { start: 0, end: 0 }
    if (offset > 1n) {
      // Models over 2 GB keep data after the flatbuffer (offset 1 is the exporter's placeholder).
      if (data !== undefined && data.length > 0) throw bad(`TFLite ${what} has both inline data and an offset`)
      const end = offset + size
      if (end > BigInt(fileSize)) throw bad(`TFLite ${what} at offset ${offset} of ${size} bytes lies past the end of the file (${fileSize} bytes)`)
      range = { start: Number(offset), end: Number(end) }
    } else if (data !== undefined) {
      range = { start: data.start, end: data.start + data.length }
    }
    bufferRanges.set(index, range)
    return range
  }

  const subgraphs = await fb.vectorField(model, MODEL.subgraphs, 4, 'Model.subgraphs')
  const sgCount = subgraphs?.length ?? 0
  if (sgCount > TFLITE_LIMITS.subgraphs) throw bad(`TFLite model has ${sgCount} subgraphs (limit ${TFLITE_LIMITS.subgraphs})`)
  const tensors: TensorInfo[] = []
  const ranges: DataRange[] = []
  let tensorTotal = 0
  for (let s = 0; s < sgCount; s++) {
    const sg = await fb.table(await fb.offsetAt((subgraphs as Vec).start + s * 4, `SubGraph ${s}`), `SubGraph ${s}`)
    const list = await fb.vectorField(sg, SUBGRAPH.tensors, 4, `SubGraph ${s}.tensors`)
    const n = list?.length ?? 0
    tensorTotal += n
    if (tensorTotal > TFLITE_LIMITS.tensors) throw bad(`TFLite model has more than ${TFLITE_LIMITS.tensors} tensors`)
    for (let i = 0; i < n; i++) {
      const what = `SubGraph ${s} tensor ${i}`
      const tensor = await fb.table(await fb.offsetAt((list as Vec).start + i * 4, what), what)
      const bufferIndex = await fb.scalarU32(tensor, TENSOR.buffer, 0)
      if (bufferIndex === 0) continue
      if (bufferIndex >= bufferCount) throw bad(`TFLite ${what} refers to buffer ${bufferIndex} but the model has ${bufferCount}`)
      const range = await bufferRange(bufferIndex)
      if (range.end === range.start) continue
      const rawName = await fb.stringField(tensor, TENSOR.name, `${what} name`) ?? ''
      const name = s === 0 ? rawName : `subgraph${s}/${rawName}`
      const q = JSON.stringify(name)
      const typeId = await fb.scalarU8(tensor, TENSOR.type, 0)
      const type = Object.hasOwn(TFLITE_TENSOR_TYPES, typeId) ? TFLITE_TENSOR_TYPES[typeId] : undefined
      if (type === undefined) throw bad(`TFLite tensor ${q} has unknown type ${typeId}`)
      const shapeVec = await fb.vectorField(tensor, TENSOR.shape, 4, `tensor ${q} shape`)
      if (shapeVec !== undefined && shapeVec.length > TFLITE_LIMITS.dims) throw bad(`TFLite tensor ${q} has ${shapeVec.length} dims (limit ${TFLITE_LIMITS.dims})`)
      const shape: number[] = []
      for (let d = 0; d < (shapeVec?.length ?? 0); d++) {
        const v = await fb.i32((shapeVec as Vec).start + d * 4, `tensor ${q} shape`)
        if (v < 0) throw bad(`TFLite tensor ${q} has data but a negative dim ${v}`)
        shape.push(v)
      }
      const sparse = await fb.hasField(tensor, TENSOR.sparsity)
      const elements = elementCount(shape)
      if (elements === undefined) throw bad(`TFLite tensor ${q} has a shape too large to address`)
      if (type.bits > 0 && !sparse) {
        const need = Math.ceil(elements * type.bits / 8)
        if (need !== range.end - range.start) {
          throw bad(`TFLite tensor ${q} of shape [${shape.join(',')}] ${type.dtype} needs ${need} bytes but its buffer ${bufferIndex} holds ${range.end - range.start}`)
        }
      }
      tensors.push({ name, dtype: type.dtype, shape, start: range.start, end: range.end })
      // Variable-width and sparse data are not arrays of fixed elements: byte-aligned pieces.
      ranges.push({ start: range.start, end: range.end, name, dtype: type.dtype, elementSize: type.bits >= 8 && !sparse ? type.bits / 8 : 1 })
    }
  }
  const distinct = distinctRanges(ranges, (a, b) => bad(`TFLite buffers of tensors ${JSON.stringify(a.name)} and ${JSON.stringify(b.name)} overlap`))
  const order = tensors.map((_, i) => i).sort((a, b) => (tensors[a].start - tensors[b].start) || (tensors[a].end - tensors[b].end) || (a - b))
  return { format: 'tflite', segments: tileSegments(fileSize, distinct), tensors: order.map(i => tensors[i]) }
}

interface Table { pos: number, vt: number, vsize: number, tsize: number, what: string }
interface Vec { start: number, length: number }

/** Bounds-checked FlatBuffers access over a paged reader (little-endian). */
class Fb {
  private readonly r: PagedReader
  private readonly size: number
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true })

  constructor (r: PagedReader) {
    this.r = r
    this.size = r.size
  }

  async bytes (pos: number, n: number, what: string): Promise<Uint8Array> {
    if (pos < 0 || pos + n > this.size) throw bad(`TFLite ${what} at offset ${pos} lies past the end of the file (${this.size} bytes)`)
    return this.r.peek(pos, n) ?? await this.r.bytes(pos, n)
  }

  async u32 (pos: number, what: string): Promise<number> {
    const b = await this.bytes(pos, 4, what)
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0
  }

  async i32 (pos: number, what: string): Promise<number> {
    const b = await this.bytes(pos, 4, what)
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)
  }

  /** Follow the uoffset stored at `pos` (4-aligned) to its target. */
  async offsetAt (pos: number, what: string): Promise<number> {
    if (pos % 4 !== 0) throw bad(`TFLite ${what}: misaligned offset at ${pos}`)
    const target = pos + await this.u32(pos, what)
    if (target >= this.size) throw bad(`TFLite ${what}: offset at ${pos} points past the end of the file (${target} >= ${this.size})`)
    return target
  }

  async table (pos: number, what: string): Promise<Table> {
    if (pos % 4 !== 0) throw bad(`TFLite ${what}: misaligned table at ${pos}`)
    const vt = pos - await this.i32(pos, what)
    if (vt < 0 || vt % 2 !== 0 || vt + 4 > this.size) throw bad(`TFLite ${what}: bad vtable offset at ${pos}`)
    const head = await this.bytes(vt, 4, `${what} vtable`)
    const vsize = head[0] | (head[1] << 8)
    const tsize = head[2] | (head[3] << 8)
    if (vsize < 4 || vsize % 2 !== 0 || vt + vsize > this.size) throw bad(`TFLite ${what}: bad vtable size ${vsize} at ${vt}`)
    if (tsize < 4 || pos + tsize > this.size) throw bad(`TFLite ${what}: table of ${tsize} bytes at ${pos} lies past the end of the file`)
    return { pos, vt, vsize, tsize, what }
  }

  /** Offset of field `id` inside the table, 0 when absent; checked to hold `width` bytes. */
  private async field (t: Table, id: number, width: number): Promise<number> {
    const vo = 4 + 2 * id
    if (vo + 2 > t.vsize) return 0
    const b = await this.bytes(t.vt + vo, 2, `${t.what} vtable`)
    const off = b[0] | (b[1] << 8)
    if (off !== 0 && (off < 4 || off + width > t.tsize)) throw bad(`TFLite ${t.what}: field ${id} lies outside its table`)
    return off
  }

  async hasField (t: Table, id: number): Promise<boolean> {
    return await this.field(t, id, 0) !== 0
  }

  async scalarU8 (t: Table, id: number, dflt: number): Promise<number> {
    const off = await this.field(t, id, 1)
    return off === 0 ? dflt : (await this.bytes(t.pos + off, 1, t.what))[0]
  }

  async scalarU32 (t: Table, id: number, dflt: number): Promise<number> {
    const off = await this.field(t, id, 4)
    return off === 0 ? dflt : await this.u32(t.pos + off, t.what)
  }

  async scalarU64 (t: Table, id: number): Promise<bigint> {
    const off = await this.field(t, id, 8)
    if (off === 0) return 0n
    const b = await this.bytes(t.pos + off, 8, t.what)
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true)
  }

  /** The vector a field points at (elements of `elemSize` bytes), undefined when absent. */
  async vectorField (t: Table, id: number, elemSize: number, what: string): Promise<Vec | undefined> {
    const off = await this.field(t, id, 4)
    if (off === 0) return undefined
    const at = await this.offsetAt(t.pos + off, what)
    if (at % 4 !== 0) throw bad(`TFLite ${what}: misaligned vector at ${at}`)
    const length = await this.u32(at, what)
    if (at + 4 + length * elemSize > this.size) throw bad(`TFLite ${what}: vector of ${length} elements at ${at} lies past the end of the file (${this.size} bytes)`)
    return { start: at + 4, length }
  }

  async stringField (t: Table, id: number, what: string): Promise<string | undefined> {
    const v = await this.vectorField(t, id, 1, what)
    if (v === undefined) return undefined
    if (v.length > TFLITE_LIMITS.stringBytes) throw bad(`TFLite ${what} of ${v.length} bytes exceeds the limit of ${TFLITE_LIMITS.stringBytes}`)
    const b = await this.bytes(v.start, v.length + 1, what)
    if (b[v.length] !== 0) throw bad(`TFLite ${what} at ${v.start} is not NUL-terminated`)
    try {
      return this.utf8.decode(b.subarray(0, v.length))
    } catch (err) {
      throw bad(`TFLite ${what} at ${v.start} is not valid UTF-8`, err)
    }
  }
}

function bad (message: string, cause?: unknown): BadInputError {
  return new BadInputError(ErrorCode.BAD_FORMAT, message, cause === undefined ? {} : { cause })
}
