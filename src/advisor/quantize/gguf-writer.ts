/**
 * GGUF v3 writer (header side). Lays out the header — magic, version, tensor
 * count, metadata key/values, tensor infos — and the aligned data offsets, so
 * tensor data can then be streamed in order with {@link ggufPadding} between
 * tensors. Byte layout: docs/advisor.md ("GGUF output") and the GGUF spec in
 * ggml's docs/gguf.md. Dimensions are written in ggml order (ne0 = the
 * fastest-varying, i.e. the *last* PyTorch dimension).
 */

import { BadInputError, ErrorCode } from '../../errors.js'

/** ggml tensor type ids used here (ggml.h `enum ggml_type`). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q8_0: 8,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  BF16: 30
} as const

/** One of {@link GgmlType}. */
export type GgmlTypeId = typeof GgmlType[keyof typeof GgmlType]

/** GGUF metadata value type ids (`enum gguf_type`). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12
} as const

/** Default and most common alignment of the tensor data section. */
export const GGUF_DEFAULT_ALIGNMENT = 32

/** ggml's GGML_MAX_NAME: tensor names must be shorter (63 bytes + NUL). */
export const GGML_MAX_NAME = 64

/** A metadata value. Arrays here are of strings or of u32 only. */
export type GgufValue =
  | { type: 'string', value: string }
  | { type: 'u32', value: number }
  | { type: 'i32', value: number }
  | { type: 'u64', value: bigint }
  | { type: 'f32', value: number }
  | { type: 'bool', value: boolean }
  | { type: 'string[]', value: readonly string[] }

/** One tensor info. `dims` are in ggml order (ne0 first). */
export interface GgufTensorInfo {
  name: string
  dims: readonly number[]
  type: GgmlTypeId
}

/** Result of {@link writeGgufHeader}. */
export interface GgufLayout {
  /** everything up to the start of the tensor data, padding included */
  header: Uint8Array
  /** per tensor: offset relative to the data section, and byte size */
  tensors: Array<{ offset: number, byteLength: number }>
  alignment: number
  /** header.length + data section length (the last tensor is padded too) */
  totalBytes: number
}

/** Bytes of a tensor of `type` with `elements` elements (block types need whole blocks). */
export function ggmlTensorBytes (type: GgmlTypeId, elements: number, ne0: number): number {
  switch (type) {
    case GgmlType.F32: case GgmlType.I32: return elements * 4
    case GgmlType.F16: case GgmlType.BF16: case GgmlType.I16: return elements * 2
    case GgmlType.I8: return elements
    case GgmlType.I64: case GgmlType.F64: return elements * 8
    case GgmlType.Q8_0:
    case GgmlType.Q4_0:
      if (ne0 % 32 !== 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `ne0=${ne0} is not a multiple of the block size 32`)
      return (elements / 32) * (type === GgmlType.Q8_0 ? 34 : 18)
    default:
      throw new BadInputError(ErrorCode.UNSUPPORTED, `ggml type ${String(type)} not supported by this writer`)
  }
}

/** Padding needed after `offset` to reach the next multiple of `alignment`. */
export function ggufPadding (offset: number, alignment = GGUF_DEFAULT_ALIGNMENT): number {
  const r = offset % alignment
  return r === 0 ? 0 : alignment - r
}

class ByteWriter {
  private chunks: Uint8Array[] = []
  length = 0
  private push (b: Uint8Array): void { this.chunks.push(b); this.length += b.length }
  u32 (v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.push(b) }
  i32 (v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); this.push(b) }
  u64 (v: number | bigint): void { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.push(b) }
  f32 (v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); this.push(b) }
  u8 (v: number): void { this.push(Uint8Array.of(v)) }
  bytes (b: Uint8Array): void { this.push(b) }
  str (s: string): void { const b = new TextEncoder().encode(s); this.u64(b.length); this.push(b) }
  zeros (n: number): void { if (n > 0) this.push(new Uint8Array(n)) }
  finish (): Uint8Array {
    const out = new Uint8Array(this.length)
    let o = 0
    for (const c of this.chunks) { out.set(c, o); o += c.length }
    return out
  }
}

function writeValue (w: ByteWriter, v: GgufValue): void {
  switch (v.type) {
    case 'string': w.u32(GgufValueType.STRING); w.str(v.value); break
    case 'u32': w.u32(GgufValueType.UINT32); w.u32(v.value); break
    case 'i32': w.u32(GgufValueType.INT32); w.i32(v.value); break
    case 'u64': w.u32(GgufValueType.UINT64); w.u64(v.value); break
    case 'f32': w.u32(GgufValueType.FLOAT32); w.f32(v.value); break
    case 'bool': w.u32(GgufValueType.BOOL); w.u8(v.value ? 1 : 0); break
    case 'string[]':
      w.u32(GgufValueType.ARRAY)
      w.u32(GgufValueType.STRING)
      w.u64(v.value.length)
      for (const s of v.value) w.str(s)
      break
  }
}

/**
 * Build a GGUF v3 header for `tensors` (data written afterwards, in the same
 * order, each followed by {@link ggufPadding}). `general.alignment` is always
 * written so readers never have to assume the default.
 */
export function writeGgufHeader (options: {
  metadata: ReadonlyArray<readonly [string, GgufValue]>
  tensors: readonly GgufTensorInfo[]
  alignment?: number
}): GgufLayout {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `GGUF alignment must be a positive multiple of 8, got ${alignment}`)
  }
  const kv: Array<readonly [string, GgufValue]> = options.metadata.filter(([k]) => k !== 'general.alignment')
  kv.push(['general.alignment', { type: 'u32', value: alignment }])
  const seen = new Set<string>()
  for (const [k] of kv) {
    if (seen.has(k)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `duplicate GGUF metadata key ${k}`)
    seen.add(k)
  }

  const w = new ByteWriter()
  w.bytes(new TextEncoder().encode('GGUF'))
  w.u32(3)
  w.u64(options.tensors.length)
  w.u64(kv.length)
  for (const [k, v] of kv) { w.str(k); writeValue(w, v) }

  const layout: Array<{ offset: number, byteLength: number }> = []
  const names = new Set<string>()
  let off = 0
  for (const t of options.tensors) {
    const nameBytes = new TextEncoder().encode(t.name).length
    if (nameBytes >= GGML_MAX_NAME) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `GGUF tensor name longer than ${GGML_MAX_NAME - 1} bytes: ${t.name}`)
    if (names.has(t.name)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `duplicate GGUF tensor name ${t.name}`)
    names.add(t.name)
    const elements = t.dims.reduce((a, b) => a * b, 1)
    const byteLength = ggmlTensorBytes(t.type, elements, t.dims[0] ?? 1)
    w.str(t.name)
    w.u32(t.dims.length)
    for (const d of t.dims) w.u64(d)
    w.u32(t.type)
    w.u64(off)
    layout.push({ offset: off, byteLength })
    off += byteLength + ggufPadding(byteLength, alignment)
  }
  w.zeros(ggufPadding(w.length, alignment))
  const header = w.finish()
  return { header, tensors: layout, alignment, totalBytes: header.length + off }
}
