/**
 * Test helper: the tensor table of a TFLite flatbuffer, read minimally (name,
 * dtype, shape, data range of every tensor with an inline buffer). Parsed here
 * on purpose, like test/helpers/bf16.ts does for safetensors, so the delta
 * codec tests do not depend on src/formats. Trusts its input (corpus files).
 */

/** TFLite TensorType → dtype names as safetensors spells them. */
const TYPES: Readonly<Record<number, string>> = { 0: 'F32', 1: 'F16', 2: 'I32', 3: 'U8', 4: 'I64', 7: 'I16', 9: 'I8', 10: 'F64' }

/** One tensor of a TFLite model; `start`/`end` are file offsets of its data. */
export interface TfliteTensor {
  name: string
  dtype: string
  shape: number[]
  start: number
  end: number
}

/** Tensors with data (inline buffers) of a TFLite file, in file order of their data. */
export function tfliteTensors (buf: Uint8Array): TfliteTensor[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const u32 = (p: number): number => v.getUint32(p, true)
  /** field accessor of the table at p: absolute position of field f, or 0 when absent */
  const table = (p: number) => {
    const vt = p - v.getInt32(p, true)
    const vtSize = v.getUint16(vt, true)
    return (f: number): number => {
      const o = 4 + 2 * f
      if (o >= vtSize) return 0
      const fo = v.getUint16(vt + o, true)
      return fo === 0 ? 0 : p + fo
    }
  }
  const vector = (q: number): { len: number, start: number } | undefined => {
    if (q === 0) return undefined
    const p = q + u32(q)
    return { len: u32(p), start: p + 4 }
  }
  const tables = (q: number): number[] => {
    const x = vector(q)
    const out: number[] = []
    if (x != null) for (let i = 0; i < x.len; i++) out.push(x.start + 4 * i + u32(x.start + 4 * i))
    return out
  }
  const model = table(u32(0))
  // Model: 2 = subgraphs, 4 = buffers. Buffer: 0 = data. SubGraph: 0 = tensors.
  // Tensor: 0 = shape, 1 = type, 2 = buffer, 3 = name.
  const buffers = tables(model(4)).map(b => vector(table(b)(0)))
  const out: TfliteTensor[] = []
  for (const sg of tables(model(2))) {
    for (const tp of tables(table(sg)(0))) {
      const t = table(tp)
      const data = buffers[t(2) !== 0 ? u32(t(2)) : 0]
      if (data == null || data.len === 0) continue
      const shapeVec = vector(t(0))
      const shape: number[] = []
      if (shapeVec != null) for (let i = 0; i < shapeVec.len; i++) shape.push(v.getInt32(shapeVec.start + 4 * i, true))
      const nameVec = vector(t(3))
      const name = nameVec == null ? '' : new TextDecoder().decode(buf.subarray(nameVec.start, nameVec.start + nameVec.len))
      const type = t(1) !== 0 ? v.getInt8(t(1)) : 0
      out.push({ name, dtype: TYPES[type] ?? `T${type}`, shape, start: data.start, end: data.start + data.len })
    }
  }
  return out.sort((a, b) => a.start - b.start)
}
