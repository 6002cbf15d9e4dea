/**
 * Test-only minimal safetensors reader: parses the header and streams tensors
 * one at a time from a file (or reads a whole small file from bytes). The
 * strict parser lives in src/formats; tests keep their own so quantizer tests
 * do not depend on it.
 */
import { open, readFile } from 'node:fs/promises'
import type { TensorInput, TensorSpec } from '../../../src/advisor/quantize/types.js'

export interface ParsedSafetensors {
  metadata: Record<string, string>
  tensors: Array<TensorSpec & { start: number, end: number }>
  dataStart: number
}

export function parseHeader (buf: Uint8Array): ParsedSafetensors {
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true))
  const json = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, any>
  const metadata = (json.__metadata__ ?? {}) as Record<string, string>
  delete json.__metadata__
  const tensors = Object.entries(json)
    .map(([name, v]) => ({ name, dtype: v.dtype as string, shape: v.shape as number[], start: v.data_offsets[0] as number, end: v.data_offsets[1] as number }))
    .sort((a, b) => a.start - b.start)
  return { metadata, tensors, dataStart: 8 + n }
}

export async function readSafetensorsHeader (path: string): Promise<ParsedSafetensors> {
  const fh = await open(path, 'r')
  try {
    const first = new Uint8Array(8)
    await fh.read(first, 0, 8, 0)
    const n = Number(new DataView(first.buffer).getBigUint64(0, true))
    const all = new Uint8Array(8 + n)
    await fh.read(all, 0, 8 + n, 0)
    return parseHeader(all)
  } finally {
    await fh.close()
  }
}

/** Stream tensors one at a time (a tensor's bytes are read only when it is consumed). */
export async function * streamTensors (path: string, parsed: ParsedSafetensors): AsyncGenerator<TensorInput> {
  const fh = await open(path, 'r')
  try {
    for (const t of parsed.tensors) {
      const data = new Uint8Array(t.end - t.start)
      await fh.read(data, 0, data.length, parsed.dataStart + t.start)
      yield { name: t.name, dtype: t.dtype, shape: t.shape, data }
    }
  } finally {
    await fh.close()
  }
}

/** Whole-file read for small outputs: name → {dtype, shape, bytes}. */
export async function readAll (path: string): Promise<{ metadata: Record<string, string>, tensors: Map<string, { dtype: string, shape: number[], data: Uint8Array }>, header: ParsedSafetensors }> {
  const buf = new Uint8Array(await readFile(path))
  const header = parseHeader(buf)
  const tensors = new Map<string, { dtype: string, shape: number[], data: Uint8Array }>()
  for (const t of header.tensors) tensors.set(t.name, { dtype: t.dtype, shape: [...t.shape], data: buf.subarray(header.dataStart + t.start, header.dataStart + t.end) })
  return { metadata: header.metadata, tensors, header }
}

export function f32 (data: Uint8Array): Float32Array {
  const copy = data.slice()
  return new Float32Array(copy.buffer, 0, copy.length / 4)
}
