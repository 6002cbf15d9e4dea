/**
 * Shared by the GGUF, ONNX and TFLite parser tests: a counting in-memory
 * ranged reader and a check that a layout's segments tile the file.
 */
import type { Test } from 'tap'
import type { ReadAt } from '../../src/formats/read-at.js'
import type { FileLayout } from '../../src/formats/types.js'

/** A ReadAt over `bytes` that counts calls and bytes returned. */
export function countingReadAt (bytes: Uint8Array): { read: ReadAt, stats: { calls: number, bytes: number } } {
  const stats = { calls: 0, bytes: 0 }
  return {
    stats,
    read: async (offset, length) => {
      stats.calls++
      const b = bytes.slice(Math.min(offset, bytes.length), Math.min(offset + length, bytes.length))
      stats.bytes += b.length
      return b
    }
  }
}

/**
 * Segments tile [0, size) in order with no empty segment; tensor segments
 * carry name, dtype and a positive element size; every tensor lies inside the
 * file.
 */
export function assertTiles (t: Pick<Test, 'ok'>, layout: FileLayout, size: number, what: string): void {
  let pos = 0
  let ok = true
  for (const s of layout.segments) {
    if (s.start !== pos || s.end <= s.start) ok = false
    if (s.kind === 'tensor' && (s.name === undefined || s.dtype === undefined || !((s.elementSize ?? 0) > 0))) ok = false
    pos = s.end
  }
  t.ok(ok && pos === size, `${what}: segments tile the ${size}-byte file`)
  t.ok((layout.tensors ?? []).every(x => x.start >= 0 && x.start <= x.end && x.end <= size), `${what}: tensors lie inside the file`)
}
