/**
 * safetensors: a strict parser of the 8-byte header length and the JSON header
 * into a FileLayout (tensor table + segments). Structure only: the caller reads
 * the bytes. Every malformed input is an ERR_BAD_SAFETENSORS with one line
 * naming the problem, because a file we accept is one we promise to serve back
 * and to pair with its base tensor by tensor.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import type { FileLayout, Segment, TensorInfo } from './types.js'

/**
 * Largest JSON header accepted (100 MiB, the same cap the reference Rust
 * implementation uses). Bounds what a hostile file can make us allocate.
 */
export const SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024

/**
 * Bits per element of each safetensors dtype. Sub-byte dtypes (F4, F6_*) are
 * packed, so a tensor's byte length is `elements * bits / 8` and must be whole.
 */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64
})

/**
 * Bytes per element of `dtype` as the chunker aligns tensor pieces to it; 1 for
 * sub-byte dtypes (pieces then only need byte alignment). Throws
 * ERR_BAD_SAFETENSORS for a dtype safetensors does not define.
 */
export function safetensorsElementSize (dtype: string): number {
  const bits = dtypeBits(dtype)
  return bits < 8 ? 1 : bits / 8
}

/**
 * Read and validate the header length from a file's first 8 bytes: a u64 LE
 * `N` with 0 < N <= {@link SAFETENSORS_MAX_HEADER} and 8 + N <= fileSize.
 * Returns N, the byte length of the JSON header that follows.
 */
export function safetensorsHeaderLength (first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || first8.length < 8) {
    throw bad(`safetensors file is ${Math.min(fileSize, first8.length)} bytes, too short for the 8-byte header length`)
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true)
  if (n === 0n) throw bad('safetensors header length is 0')
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw bad(`safetensors header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER}-byte cap`)
  }
  const len = Number(n)
  if (8 + len > fileSize) {
    throw bad(`safetensors header length ${len} is larger than the file (${fileSize} bytes)`)
  }
  return len
}

/**
 * Parse the JSON header (`headerBytes`: exactly the N bytes after the length)
 * of a safetensors file of `fileSize` bytes. Validates every tensor entry and
 * that the tensors' data exactly tile the data buffer. Returns tensors sorted
 * by offset with ABSOLUTE file offsets, and segments tiling the whole file: one
 * 'header' segment [0, 8+N), then one 'tensor' segment per non-empty tensor.
 */
export function parseSafetensors (headerBytes: Uint8Array, fileSize: number): FileLayout {
  const n = headerBytes.length
  if (n === 0) throw bad('safetensors header length is 0')
  if (n > SAFETENSORS_MAX_HEADER) throw bad(`safetensors header length ${n} exceeds the ${SAFETENSORS_MAX_HEADER}-byte cap`)
  if (8 + n > fileSize) throw bad(`safetensors header length ${n} is larger than the file (${fileSize} bytes)`)
  const dataStart = 8 + n
  const bufferLen = fileSize - dataStart

  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes)
  } catch (err) {
    throw bad('safetensors header is not valid UTF-8', err)
  }
  // The format requires the header to open with '{'; it may be padded with trailing spaces.
  if (text.charCodeAt(0) !== 0x7b) throw bad('safetensors header does not start with "{"')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw bad(`safetensors header is not valid JSON (${(err as Error).message})`, err)
  }
  if (!isPlainObject(json)) throw bad('safetensors header is not a JSON object')

  let metadata: Record<string, string> | undefined
  const tensors: TensorInfo[] = []
  const bits: number[] = []
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value)
      continue
    }
    const t = parseTensor(name, value)
    tensors.push({ name, dtype: t.dtype, shape: t.shape, start: t.begin, end: t.end })
    bits.push(t.bits)
  }

  // Stable sort by (begin, end): zero-length tensors sit where they point and
  // JSON key order breaks ties, so the layout is deterministic.
  const order = tensors.map((_, i) => i).sort((a, b) =>
    (tensors[a].start - tensors[b].start) || (tensors[a].end - tensors[b].end))
  let expected = 0
  let last: TensorInfo | undefined
  for (const i of order) {
    const t = tensors[i]
    if (t.start < expected) {
      throw bad(`safetensors tensors ${JSON.stringify(last?.name)} and ${JSON.stringify(t.name)} overlap (data_offsets ${t.start} < ${expected})`)
    }
    if (t.start > expected) {
      throw bad(`safetensors data has a gap of ${t.start - expected} bytes before tensor ${JSON.stringify(t.name)} (data_offsets begin ${t.start}, expected ${expected})`)
    }
    expected = t.end
    last = t
  }
  if (expected > bufferLen) {
    throw bad(`safetensors file is truncated: tensor ${JSON.stringify(last?.name)} ends at data offset ${expected} but the file holds only ${bufferLen} data bytes`)
  }
  if (expected < bufferLen) {
    throw bad(`safetensors file has ${bufferLen - expected} trailing bytes not covered by any tensor`)
  }

  const sorted: TensorInfo[] = []
  const segments: Segment[] = [{ start: 0, end: dataStart, kind: 'header' }]
  for (const i of order) {
    const t = tensors[i]
    const abs: TensorInfo = { name: t.name, dtype: t.dtype, shape: t.shape, start: dataStart + t.start, end: dataStart + t.end }
    sorted.push(abs)
    if (abs.end > abs.start) {
      segments.push({
        start: abs.start,
        end: abs.end,
        kind: 'tensor',
        name: abs.name,
        dtype: abs.dtype,
        elementSize: bits[i] < 8 ? 1 : bits[i] / 8
      })
    }
  }
  const layout: FileLayout = { format: 'safetensors', segments, tensors: sorted }
  if (metadata !== undefined) layout.metadata = metadata
  return layout
}

function parseMetadata (value: unknown): Record<string, string> {
  if (!isPlainObject(value)) throw bad('safetensors __metadata__ is not a JSON object')
  const entries = Object.entries(value)
  for (const [k, v] of entries) {
    if (typeof v !== 'string') throw bad(`safetensors __metadata__ value of ${JSON.stringify(k)} is not a string`)
  }
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(entries) as Record<string, string>
}

function parseTensor (name: string, value: unknown): { dtype: string, shape: number[], begin: number, end: number, bits: number } {
  const q = JSON.stringify(name)
  if (!isPlainObject(value)) throw bad(`safetensors tensor ${q} is not a JSON object`)
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown, shape?: unknown, data_offsets?: unknown }
  if (typeof dtype !== 'string') throw bad(`safetensors tensor ${q} has no string dtype`)
  if (!Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype)) throw bad(`safetensors tensor ${q} has unknown dtype ${JSON.stringify(dtype)}`)
  const bits = SAFETENSORS_DTYPE_BITS[dtype]
  if (!Array.isArray(shape)) throw bad(`safetensors tensor ${q} has no shape array`)
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw bad(`safetensors tensor ${q} has an invalid shape entry ${JSON.stringify(d)}`)
    }
  }
  let elements = shape.includes(0) ? 0 : 1
  for (const d of shape as number[]) {
    if (elements === 0) break
    elements *= d
    // Past 2^53 the product is no longer exact, and no file could hold it anyway.
    if (!Number.isSafeInteger(elements)) throw bad(`safetensors tensor ${q} has a shape too large to address`)
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o): o is number => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    throw bad(`safetensors tensor ${q} has invalid data_offsets ${JSON.stringify(offsets)}`)
  }
  const [begin, end] = offsets
  if (end < begin) throw bad(`safetensors tensor ${q} has data_offsets end ${end} before begin ${begin}`)
  const totalBits = elements * bits
  if (!Number.isSafeInteger(totalBits)) throw bad(`safetensors tensor ${q} has a shape too large to address`)
  if (totalBits % 8 !== 0) throw bad(`safetensors tensor ${q} of ${elements} ${dtype} elements does not fill whole bytes`)
  if (totalBits / 8 !== end - begin) {
    throw bad(`safetensors tensor ${q} of shape [${shape.join(',')}] ${dtype} needs ${totalBits / 8} bytes but data_offsets span ${end - begin}`)
  }
  return { dtype, shape: shape.slice(), begin, end, bits }
}

function dtypeBits (dtype: string): number {
  if (!Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype)) throw bad(`unknown safetensors dtype ${JSON.stringify(dtype)}`)
  return SAFETENSORS_DTYPE_BITS[dtype]
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function bad (message: string, cause?: unknown): BadInputError {
  return new BadInputError(ErrorCode.BAD_SAFETENSORS, message, cause === undefined ? {} : { cause })
}
