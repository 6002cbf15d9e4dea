import { readFileSync } from 'node:fs'
import { parseTflite } from '/work/main/src/formats/tflite.js'
import { readAtBytes } from '/work/main/src/formats/read-at.js'
const dir = '/work/shared/corpus/models/'
for (const f of process.argv.slice(2)) {
  const b = new Uint8Array(readFileSync(dir + f))
  const l = await parseTflite(readAtBytes(b), b.length)
  const kinds: Record<string, number> = {}
  for (const s of l.segments) kinds[s.kind] = (kinds[s.kind] ?? 0) + (s.end - s.start)
  const dt: Record<string, number> = {}
  for (const t of l.tensors!) dt[t.dtype] = (dt[t.dtype] ?? 0) + 1
  console.log(f, b.length, 'tensors', l.tensors!.length, 'segs', l.segments.length, kinds, dt)
  console.log(' first segs', l.segments.slice(0, 3).map(s => [s.kind, s.start, s.end]), 'last', l.segments.slice(-3).map(s => [s.kind, s.start, s.end]))
}
