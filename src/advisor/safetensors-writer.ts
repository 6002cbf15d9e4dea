/**
 * A minimal safetensors *writer*: given the tensor table (names, dtypes,
 * shapes, byte sizes, in file order) it lays out contiguous data offsets and
 * produces the 8-byte length prefix plus the JSON header, padded with spaces
 * to a multiple of 8 as the reference implementation does. The tensor bytes
 * are then written by the caller in the same order, so a file is produced
 * tensor by tensor without holding more than one tensor in memory.
 * (Parsing belongs to src/formats/safetensors.ts; this module only writes.)
 */

import { BadInputError, ErrorCode } from '../errors.js'

/** Bytes per element of each safetensors dtype. */
export const SAFETENSORS_DTYPE_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8
}

/** One tensor entry to lay out. `byteLength` must equal prod(shape) × dtype size. */
export interface SafetensorsEntry {
  name: string
  dtype: string
  shape: readonly number[]
  byteLength: number
}

/** Result of {@link writeSafetensorsHeader}. */
export interface SafetensorsLayout {
  /** 8-byte little-endian header length followed by the padded JSON header. */
  header: Uint8Array
  /** data offsets, relative to the end of the header, in entry order */
  offsets: Array<[number, number]>
  /** header.length + total data bytes: the size of the finished file */
  totalBytes: number
}

/** Element count of a shape (1 for a scalar `[]`). */
export function shapeElements (shape: readonly number[]): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/**
 * Lay out a safetensors file: validates every entry's size against its dtype
 * and shape, assigns contiguous offsets in entry order and returns the header
 * bytes to write first.
 */
export function writeSafetensorsHeader (entries: readonly SafetensorsEntry[], metadata?: Readonly<Record<string, string>>): SafetensorsLayout {
  const json: Record<string, unknown> = {}
  if (metadata != null && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `safetensors metadata value for ${k} must be a string`)
    }
    json.__metadata__ = { ...metadata }
  }
  const offsets: Array<[number, number]> = []
  let off = 0
  for (const e of entries) {
    const size = SAFETENSORS_DTYPE_SIZE[e.dtype]
    if (size == null) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown safetensors dtype ${e.dtype} for ${e.name}`)
    if (e.name === '__metadata__' || e.name in json) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `duplicate or reserved tensor name ${e.name}`)
    const expected = shapeElements(e.shape) * size
    if (expected !== e.byteLength) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${e.name}: ${e.byteLength} bytes does not match ${e.dtype}${JSON.stringify(e.shape)} (${expected})`)
    }
    json[e.name] = { dtype: e.dtype, shape: [...e.shape], data_offsets: [off, off + e.byteLength] }
    offsets.push([off, off + e.byteLength])
    off += e.byteLength
  }
  let text = JSON.stringify(json)
  const raw = new TextEncoder().encode(text)
  const padded = Math.ceil(raw.length / 8) * 8
  if (padded !== raw.length) text += ' '.repeat(padded - raw.length)
  const body = new TextEncoder().encode(text)
  const header = new Uint8Array(8 + body.length)
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length), true)
  header.set(body, 8)
  return { header, offsets, totalBytes: header.length + off }
}
