/**
 * Test helper: cast the F32 tensors of a safetensors file to BF16, so codec
 * tests and benchmarks can measure real bf16 weights from the f32 corpus. It
 * parses the header itself (8-byte LE length + JSON) on purpose, so codec tests
 * do not depend on src/formats.
 */

interface TensorInfo {
  dtype: string
  shape: number[]
  data_offsets: [number, number]
}

/** Parsed safetensors header: tensors in file order plus the raw JSON object. */
export interface SafetensorsHeader {
  /** JSON length in bytes (from the 8-byte prefix). */
  headerLength: number
  /** Offset of the data section (8 + headerLength). */
  dataStart: number
  /** The header object as parsed (tensor entries and optional `__metadata__`). */
  json: Record<string, unknown>
  /** Tensor entries sorted by their start offset. */
  tensors: Array<{ name: string } & TensorInfo>
}

/** Parse the header of a safetensors buffer, with just enough checks for tests. */
export function parseSafetensorsHeader (buf: Uint8Array): SafetensorsHeader {
  if (buf.length < 8) throw new Error('safetensors: shorter than its length prefix')
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const n = Number(view.getBigUint64(0, true))
  if (8 + n > buf.length) throw new Error('safetensors: header runs past the end')
  const json = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, unknown>
  const tensors: SafetensorsHeader['tensors'] = []
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') continue
    const t = v as TensorInfo
    tensors.push({ name, dtype: t.dtype, shape: t.shape, data_offsets: t.data_offsets })
  }
  tensors.sort((a, b) => a.data_offsets[0] - b.data_offsets[0])
  return { headerLength: n, dataStart: 8 + n, json, tensors }
}

/**
 * Round an f32 bit pattern to the nearest bf16 (ties to even), as PyTorch's
 * `.to(torch.bfloat16)` does. NaNs stay NaN (quiet bit forced so a NaN with
 * only low payload bits cannot turn into Inf); overflow rounds to ±Inf.
 */
export function f32BitsToBf16 (bits: number): number {
  const x = bits >>> 0
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x0040) & 0xffff
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff
}

/**
 * Cast every F32 tensor of a safetensors buffer to BF16 (other dtypes are
 * copied unchanged) and return a new, valid safetensors buffer: same tensor
 * names, shapes, order and metadata, data offsets recomputed, header padded
 * with spaces to a multiple of 8 bytes as the reference writer does.
 */
export function castSafetensorsToBf16 (buf: Uint8Array): Uint8Array {
  const { dataStart, json, tensors } = parseSafetensorsHeader(buf)
  const src = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const outHeader: Record<string, unknown> = {}
  const placed = new Map<string, [number, number]>()
  let size = 0
  for (const t of tensors) {
    const len = t.data_offsets[1] - t.data_offsets[0]
    const newLen = t.dtype === 'F32' ? len / 2 : len
    placed.set(t.name, [size, size + newLen])
    size += newLen
  }
  // Keep the original key order of the header object.
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') { outHeader[name] = v; continue }
    const t = v as TensorInfo
    outHeader[name] = { dtype: t.dtype === 'F32' ? 'BF16' : t.dtype, shape: t.shape, data_offsets: placed.get(name) }
  }
  let headerText = JSON.stringify(outHeader)
  const headerBytesLen = new TextEncoder().encode(headerText).length
  headerText += ' '.repeat((8 - (headerBytesLen % 8)) % 8)
  const headerBytes = new TextEncoder().encode(headerText)

  const out = new Uint8Array(8 + headerBytes.length + size)
  const dst = new DataView(out.buffer)
  dst.setBigUint64(0, BigInt(headerBytes.length), true)
  out.set(headerBytes, 8)
  const base = 8 + headerBytes.length
  for (const t of tensors) {
    const [s, e] = t.data_offsets
    const [o] = placed.get(t.name) as [number, number]
    if (t.dtype !== 'F32') {
      out.set(buf.subarray(dataStart + s, dataStart + e), base + o)
      continue
    }
    for (let i = 0, j = dataStart + s; j < dataStart + e; i += 2, j += 4) {
      dst.setUint16(base + o + i, f32BitsToBf16(src.getUint32(j, true)), true)
    }
  }
  return out
}
