/**
 * ONNX: a strict protobuf wire-format walk of a ModelProto that finds every
 * tensor's bytes without reading them — initializers of the main graph and of
 * nested graphs (If/Loop/Scan bodies), and TENSOR / TENSORS node attributes
 * (Constant nodes) — into a FileLayout, plus the tensors the model keeps in
 * external data files. Skipped, their bytes staying in 'bytes' segments:
 * sparse initializers, tensors of training_info and of functions, and tensors
 * whose data are not one contiguous little-endian run (string_data, the varint
 * fields int32_data / int64_data / uint64_data, unpacked float/double).
 * Message layouts: onnx/onnx.proto (ModelProto.graph = 7, GraphProto.node = 1,
 * .initializer = 5, NodeProto.attribute = 5, TensorProto fields below).
 */
import { BadInputError, ErrorCode } from '../errors.js'
import { PagedReader } from './read-at.js'
import type { ReadAt } from './read-at.js'
import { distinctRanges, elementCount, tileSegments } from './tensor-segments.js'
import type { DataRange } from './tensor-segments.js'
import type { FileLayout, TensorInfo } from './types.js'

/** Caps on what a hostile file can make us walk or hold. */
export const ONNX_LIMITS = Object.freeze({
  /** nested graphs (subgraph attributes) deeper than this are an error */
  graphDepth: 16,
  /** tensors listed, in the file and external */
  tensors: 1 << 22,
  dims: 64,
  stringBytes: 1 << 20
})

/** An ONNX TensorProto.DataType: tenpak dtype name and bits per element. */
export interface OnnxDataType { dtype: string, bits: number }

/**
 * TensorProto.DataType → dtype (safetensors spellings where they exist) and
 * bits per element (0: variable, STRING). COMPLEX64/128 are element pairs.
 */
export const ONNX_DATA_TYPES: Readonly<Record<number, OnnxDataType>> = Object.freeze({
  1: { dtype: 'F32', bits: 32 },
  2: { dtype: 'U8', bits: 8 },
  3: { dtype: 'I8', bits: 8 },
  4: { dtype: 'U16', bits: 16 },
  5: { dtype: 'I16', bits: 16 },
  6: { dtype: 'I32', bits: 32 },
  7: { dtype: 'I64', bits: 64 },
  8: { dtype: 'STRING', bits: 0 },
  9: { dtype: 'BOOL', bits: 8 },
  10: { dtype: 'F16', bits: 16 },
  11: { dtype: 'F64', bits: 64 },
  12: { dtype: 'U32', bits: 32 },
  13: { dtype: 'U64', bits: 64 },
  14: { dtype: 'C64', bits: 64 },
  15: { dtype: 'C128', bits: 128 },
  16: { dtype: 'BF16', bits: 16 },
  17: { dtype: 'F8_E4M3', bits: 8 },
  18: { dtype: 'F8_E4M3FNUZ', bits: 8 },
  19: { dtype: 'F8_E5M2', bits: 8 },
  20: { dtype: 'F8_E5M2FNUZ', bits: 8 },
  21: { dtype: 'U4', bits: 4 },
  22: { dtype: 'I4', bits: 4 },
  23: { dtype: 'F4', bits: 4 },
  24: { dtype: 'F8_E8M0', bits: 8 },
  25: { dtype: 'U2', bits: 2 },
  26: { dtype: 'I2', bits: 2 }
})

/** A parsed ONNX model. */
export interface OnnxModel {
  /** the .onnx file's own layout (format 'onnx'); its tensors are those stored in it */
  layout: FileLayout
  /**
   * Tensors stored in external data files, by `location` normalised to a
   * relative POSIX path ('./a//b' → 'a/b'), to be resolved against the
   * directory holding the .onnx file. start/end are offsets in that file.
   */
  external: Map<string, TensorInfo[]>
}

// Wire types.
const VARINT = 0
const I64 = 1
const LEN = 2
const I32 = 5

/** One field of a message: where its payload lies, and its value if a varint. */
interface Field {
  num: number
  wire: number
  /** LEN: payload start; I32/I64: value start */
  start: number
  /** end of the field */
  end: number
  /** VARINT: the value (Infinity when above 2^53, e.g. a negative int64) */
  value: number
}

interface Found { info: TensorInfo, elementSize: number }

/**
 * Parse an ONNX model of `fileSize` bytes read through `read`. Tensors held in
 * the file (raw_data, packed float_data / double_data) are listed with the
 * byte range of that payload and become 'tensor' segments; the bytes before
 * the first are a 'header' (when under 16 MiB), all other bytes 'bytes'.
 * Throws ERR_BAD_FORMAT naming the problem for malformed protobuf, a missing
 * ir_version, unknown data types, payloads whose size does not match the
 * shape, and bad external-data entries.
 */
export async function parseOnnx (read: ReadAt, fileSize: number): Promise<OnnxModel> {
  const pb = new Pb(new PagedReader(read, fileSize, { what: 'ONNX' }))
  const found: Found[] = []
  const external = new Map<string, TensorInfo[]>()
  let irVersion = false
  let graphs = 0
  await pb.each(0, fileSize, 'ModelProto', async (f) => {
    if (f.num === 1) {
      if (f.wire !== VARINT) throw bad('ONNX ModelProto.ir_version is not a varint')
      irVersion = true
    } else if (f.num === 7) {
      if (f.wire !== LEN) throw bad('ONNX ModelProto.graph is not a message')
      if (++graphs > 1) throw bad('ONNX ModelProto has more than one graph')
      await walkGraph(pb, f.start, f.end, 0, found, external)
    }
  })
  if (!irVersion) throw bad('not an ONNX model: the ModelProto has no ir_version')

  const ranges: DataRange[] = found.map(({ info, elementSize }) => ({ start: info.start, end: info.end, name: info.name, dtype: info.dtype, elementSize }))
  const distinct = distinctRanges(ranges, (a, b) => bad(`ONNX tensors ${JSON.stringify(a.name)} and ${JSON.stringify(b.name)} overlap`))
  const tensors = sortTensors(found.map(f => f.info))
  return { layout: { format: 'onnx', segments: tileSegments(fileSize, distinct), tensors }, external }
}

/**
 * The tensors an ONNX model keeps in external data files, by normalised
 * location (see {@link OnnxModel.external}); an empty map for a self-contained
 * model. Reads only the model's metadata through `read`.
 */
export async function onnxExternalTensors (read: ReadAt, fileSize: number): Promise<Map<string, TensorInfo[]>> {
  return (await parseOnnx(read, fileSize)).external
}

/**
 * Layout of an ONNX external data file of `fileSize` bytes that holds
 * `tensors` (from {@link onnxExternalTensors}; lists from several models
 * sharing one file may be concatenated). Each distinct byte range becomes a
 * 'tensor' segment, the rest (alignment padding, unreferenced bytes) 'bytes'.
 * Throws ERR_BAD_FORMAT when a tensor lies past the end of the file or two
 * tensors partly overlap.
 */
export function onnxExternalDataLayout (tensors: readonly TensorInfo[], fileSize: number): FileLayout {
  const ranges: DataRange[] = []
  for (const t of tensors) {
    if (t.end > fileSize) {
      throw bad(`ONNX external data file is ${fileSize} bytes but tensor ${JSON.stringify(t.name)} lies at [${t.start}, ${t.end})`)
    }
    ranges.push({ start: t.start, end: t.end, name: t.name, dtype: t.dtype, elementSize: elementSizeOf(t.dtype) })
  }
  const distinct = distinctRanges(ranges, (a, b) => bad(`ONNX external tensors ${JSON.stringify(a.name)} and ${JSON.stringify(b.name)} overlap`))
  const segments = tileSegments(fileSize, distinct)
  // A data file has no header: what precedes the first tensor is padding or foreign bytes.
  if (segments[0]?.kind === 'header') segments[0] = { ...segments[0], kind: 'bytes' }
  return { format: 'onnx-data', segments, tensors: sortTensors(tensors.map(t => ({ ...t, shape: t.shape.slice() }))) }
}

function sortTensors (tensors: TensorInfo[]): TensorInfo[] {
  return tensors.map((t, i) => ({ t, i }))
    .sort((a, b) => (a.t.start - b.t.start) || (a.t.end - b.t.end) || (a.i - b.i))
    .map(x => x.t)
}

function elementSizeOf (dtype: string): number {
  for (const k of Object.keys(ONNX_DATA_TYPES)) {
    const d = ONNX_DATA_TYPES[Number(k)]
    if (d.dtype === dtype) return d.bits >= 8 ? d.bits / 8 : 1
  }
  return 1
}

async function walkGraph (pb: Pb, start: number, end: number, depth: number, found: Found[], external: Map<string, TensorInfo[]>): Promise<void> {
  if (depth > ONNX_LIMITS.graphDepth) throw bad(`ONNX graphs are nested more than ${ONNX_LIMITS.graphDepth} deep`)
  await pb.each(start, end, 'GraphProto', async (f) => {
    if (f.num === 5) {
      if (f.wire !== LEN) throw bad('ONNX GraphProto.initializer is not a message')
      await addTensor(pb, f, undefined, found, external)
    } else if (f.num === 1) {
      if (f.wire !== LEN) throw bad('ONNX GraphProto.node is not a message')
      await walkNode(pb, f.start, f.end, depth, found, external)
    }
  })
}

async function walkNode (pb: Pb, start: number, end: number, depth: number, found: Found[], external: Map<string, TensorInfo[]>): Promise<void> {
  let name = ''
  let output0: string | undefined
  const attrs: Array<{ start: number, end: number }> = []
  await pb.each(start, end, 'NodeProto', async (f) => {
    if (f.num === 2 && output0 === undefined) output0 = await pb.string(f, 'NodeProto.output')
    else if (f.num === 3) name = await pb.string(f, 'NodeProto.name')
    else if (f.num === 5) {
      if (f.wire !== LEN) throw bad('ONNX NodeProto.attribute is not a message')
      attrs.push({ start: f.start, end: f.end })
    }
  })
  // Tensor attributes are named after the node, known only once it is read.
  const owner = output0 !== undefined && output0 !== '' ? output0 : name
  for (const a of attrs) {
    let attrName = ''
    const tensorFields: Field[] = []
    const graphFields: Field[] = []
    await pb.each(a.start, a.end, 'AttributeProto', async (f) => {
      if (f.num === 1) attrName = await pb.string(f, 'AttributeProto.name')
      else if (f.num === 5 || f.num === 10) {
        if (f.wire !== LEN) throw bad('ONNX AttributeProto tensor is not a message')
        tensorFields.push(f)
      } else if (f.num === 6 || f.num === 11) {
        if (f.wire !== LEN) throw bad('ONNX AttributeProto graph is not a message')
        graphFields.push(f)
      }
    })
    for (const [i, f] of tensorFields.entries()) {
      const fallback = tensorFields.length === 1 ? `${owner}:${attrName}` : `${owner}:${attrName}:${i}`
      await addTensor(pb, f, fallback, found, external)
    }
    for (const g of graphFields) await walkGraph(pb, g.start, g.end, depth + 1, found, external)
  }
}

/** Parse one TensorProto and record it, in the file or external. */
async function addTensor (pb: Pb, msg: Field, fallbackName: string | undefined, found: Found[], external: Map<string, TensorInfo[]>): Promise<void> {
  let name = ''
  let dataType: number | undefined
  const dims: number[] = []
  let payload: { start: number, end: number, field: number } | undefined
  let unlisted = false // data in a form that is no contiguous LE run
  let location: number | undefined
  const ext = new Map<string, string>()
  await pb.each(msg.start, msg.end, 'TensorProto', async (f) => {
    switch (f.num) {
      case 1: // dims
        if (f.wire === VARINT) pushDim(dims, f.value)
        else if (f.wire === LEN) for (const v of await pb.packedVarints(f, 'TensorProto.dims')) pushDim(dims, v)
        else throw bad('ONNX TensorProto.dims has a bad wire type')
        if (dims.length > ONNX_LIMITS.dims) throw bad(`ONNX tensor has more than ${ONNX_LIMITS.dims} dims`)
        break
      case 2:
        if (f.wire !== VARINT) throw bad('ONNX TensorProto.data_type is not a varint')
        dataType = f.value
        break
      case 8: name = await pb.string(f, 'TensorProto.name'); break
      case 4: case 9: case 10: // float_data, raw_data, double_data
        if (f.wire === LEN) {
          if (payload !== undefined) throw bad('ONNX TensorProto has more than one data field')
          payload = { start: f.start, end: f.end, field: f.num }
        } else if (f.num === 9) {
          throw bad('ONNX TensorProto.raw_data is not a byte string')
        } else {
          unlisted = true // unpacked repeated float/double
        }
        break
      case 3: case 5: case 6: case 7: case 11: // segment, int32_data, string_data, int64_data, uint64_data
        unlisted = true
        break
      case 13: {
        if (f.wire !== LEN) throw bad('ONNX TensorProto.external_data is not a message')
        let key: string | undefined
        let value = ''
        await pb.each(f.start, f.end, 'StringStringEntryProto', async (e) => {
          if (e.num === 1) key = await pb.string(e, 'external_data key')
          else if (e.num === 2) value = await pb.string(e, 'external_data value')
        })
        if (key === undefined) throw bad('ONNX external_data entry has no key')
        if (ext.has(key)) throw bad(`ONNX external_data key ${JSON.stringify(key)} appears twice`)
        ext.set(key, value)
        break
      }
      case 14:
        if (f.wire !== VARINT) throw bad('ONNX TensorProto.data_location is not a varint')
        location = f.value
        break
    }
  })
  if (name === '') name = fallbackName ?? ''
  const q = JSON.stringify(name)
  if (dataType === undefined || !Object.hasOwn(ONNX_DATA_TYPES, dataType)) {
    throw bad(`ONNX tensor ${q} has ${dataType === undefined ? 'no data_type' : `unknown data_type ${dataType}`}`)
  }
  const { dtype, bits } = ONNX_DATA_TYPES[dataType]
  const elements = elementCount(dims)
  if (elements === undefined) throw bad(`ONNX tensor ${q} has a shape too large to address`)
  const bytes = Math.ceil(elements * bits / 8)
  const elementSize = bits >= 8 ? bits / 8 : 1
  if (location !== undefined && location !== 0 && location !== 1) throw bad(`ONNX tensor ${q} has unknown data_location ${location}`)
  if (found.length >= ONNX_LIMITS.tensors) throw bad(`ONNX model has more than ${ONNX_LIMITS.tensors} tensors`)

  if (location === 1) {
    if (payload !== undefined || unlisted) throw bad(`ONNX tensor ${q} is EXTERNAL but also holds data in the file`)
    if (bits === 0) throw bad(`ONNX tensor ${q} of type STRING cannot be stored externally`)
    const loc = ext.get('location')
    if (loc === undefined) throw bad(`ONNX tensor ${q} is EXTERNAL but has no location`)
    const path = normaliseLocation(loc, q)
    const offset = ext.has('offset') ? decimal(ext.get('offset') as string, 'offset', q) : 0
    const length = ext.has('length') ? decimal(ext.get('length') as string, 'length', q) : bytes
    if (length !== bytes) throw bad(`ONNX tensor ${q} of shape [${dims.join(',')}] ${dtype} needs ${bytes} bytes but its external length is ${length}`)
    if (!Number.isSafeInteger(offset + length)) throw bad(`ONNX tensor ${q} external offset ${offset} is too large`)
    let list = external.get(path)
    if (list === undefined) { list = []; external.set(path, list) }
    list.push({ name, dtype, shape: dims, start: offset, end: offset + length })
    return
  }
  if (payload === undefined) {
    // No data here, or in a field that is not one contiguous run: only an empty tensor is listed.
    if (!unlisted && elements === 0) found.push({ info: { name, dtype, shape: dims, start: msg.end, end: msg.end }, elementSize })
    return
  }
  if (unlisted) throw bad(`ONNX tensor ${q} holds data in more than one field`)
  const need = bytes
  if (payload.field === 4) {
    if (dtype !== 'F32' && dtype !== 'C64') throw bad(`ONNX tensor ${q} of type ${dtype} has float_data`)
  } else if (payload.field === 10) {
    if (dtype !== 'F64' && dtype !== 'C128') throw bad(`ONNX tensor ${q} of type ${dtype} has double_data`)
  } else if (bits === 0) {
    throw bad(`ONNX tensor ${q} of type STRING has raw_data`)
  }
  if (payload.end - payload.start !== need) {
    const field = payload.field === 9 ? 'raw_data' : payload.field === 4 ? 'float_data' : 'double_data'
    throw bad(`ONNX tensor ${q} of shape [${dims.join(',')}] ${dtype} needs ${need} bytes but its ${field} holds ${payload.end - payload.start}`)
  }
  found.push({ info: { name, dtype, shape: dims, start: payload.start, end: payload.end }, elementSize })
}

function pushDim (dims: number[], v: number): void {
  // A negative int64 arrives as a 10-byte varint, i.e. above 2^53.
  if (!Number.isSafeInteger(v)) throw bad('ONNX tensor has a negative or huge dim')
  dims.push(v)
}

function decimal (s: string, key: string, q: string): number {
  if (!/^\d{1,16}$/.test(s) || !Number.isSafeInteger(Number(s))) throw bad(`ONNX tensor ${q} has a bad external ${key} ${JSON.stringify(s)}`)
  return Number(s)
}

/**
 * A relative POSIX path: no absolute paths, drive letters, NULs or '..'
 * segments (ONNX's own checker refuses those too), '.' and empty segments
 * dropped.
 */
function normaliseLocation (loc: string, q: string): string {
  const badLoc = (): BadInputError => bad(`ONNX tensor ${q} has an unsafe external location ${JSON.stringify(loc)}`)
  if (loc === '' || loc.includes('\0') || loc.startsWith('/') || loc.startsWith('\\') || /^[A-Za-z]:/.test(loc)) throw badLoc()
  const parts = loc.split('/').filter(p => p !== '' && p !== '.')
  if (parts.length === 0 || parts.some(p => p === '..')) throw badLoc()
  return parts.join('/')
}

/** Protobuf wire-format reading with bounds checks, over a paged reader. */
class Pb {
  private readonly r: PagedReader
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true })

  constructor (r: PagedReader) { this.r = r }

  /** Read a varint at `pos` (before `end`): [value (Infinity above 2^53), next position]. */
  async varint (pos: number, end: number, what: string): Promise<[number, number]> {
    const n = Math.min(10, end - pos)
    if (n <= 0) throw bad(`ONNX ${what} is truncated at offset ${pos}`)
    const b = this.r.peek(pos, n) ?? await this.r.bytes(pos, n)
    let value = 0
    let mul = 1
    for (let i = 0; i < n; i++) {
      const byte = b[i]
      if (i === 9 && byte > 1) throw bad(`ONNX ${what} has a varint longer than 64 bits at offset ${pos}`)
      value += (byte & 0x7f) * mul
      mul *= 128
      if ((byte & 0x80) === 0) return [Number.isSafeInteger(value) ? value : Infinity, pos + i + 1]
    }
    throw bad(`ONNX ${what} has ${n < 10 ? 'a truncated' : 'an overlong'} varint at offset ${pos}`)
  }

  /** Call `fn` for each field of the message at [start, end). */
  async each (start: number, end: number, what: string, fn: (f: Field) => Promise<void> | void): Promise<void> {
    let pos = start
    while (pos < end) {
      const [tag, p] = await this.varint(pos, end, what)
      const num = Math.floor(tag / 8)
      const wire = tag % 8
      if (num === 0 || num > 0x1fffffff) throw bad(`ONNX ${what} has a bad field number at offset ${pos}`)
      let f: Field
      switch (wire) {
        case VARINT: {
          const [value, next] = await this.varint(p, end, what)
          f = { num, wire, start: p, end: next, value }
          break
        }
        case I64:
        case I32: {
          const size = wire === I64 ? 8 : 4
          if (p + size > end) throw bad(`ONNX ${what} field ${num} runs past its message at offset ${p}`)
          f = { num, wire, start: p, end: p + size, value: 0 }
          break
        }
        case LEN: {
          const [len, q] = await this.varint(p, end, what)
          if (q + len > end) throw bad(`ONNX ${what} field ${num} of ${len} bytes runs past its message at offset ${q}`)
          f = { num, wire, start: q, end: q + len, value: len }
          break
        }
        default:
          throw bad(`ONNX ${what} field ${num} has unsupported wire type ${wire} at offset ${pos}`)
      }
      await fn(f)
      pos = f.end
    }
  }

  async string (f: Field, what: string): Promise<string> {
    if (f.wire !== LEN) throw bad(`ONNX ${what} is not a string`)
    const n = f.end - f.start
    if (n > ONNX_LIMITS.stringBytes) throw bad(`ONNX ${what} of ${n} bytes exceeds the limit of ${ONNX_LIMITS.stringBytes}`)
    const b = await this.r.bytes(f.start, n)
    try {
      return this.utf8.decode(b)
    } catch (err) {
      throw bad(`ONNX ${what} at offset ${f.start} is not valid UTF-8`, err)
    }
  }

  async packedVarints (f: Field, what: string): Promise<number[]> {
    const out: number[] = []
    let pos = f.start
    while (pos < f.end) {
      const [v, next] = await this.varint(pos, f.end, what)
      out.push(v)
      pos = next
      if (out.length > ONNX_LIMITS.dims) break
    }
    return out
  }
}

function bad (message: string, cause?: unknown): BadInputError {
  return new BadInputError(ErrorCode.BAD_FORMAT, message, cause === undefined ? {} : { cause })
}
