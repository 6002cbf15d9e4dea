import { createHash } from 'node:crypto'
import { readdirSync } from 'node:fs'
import { Builder, ByteBuffer } from 'flatbuffers'
import t from 'tap'
import { chunkFile } from '../../src/chunk/chunker.js'
import { detectLayout } from '../../src/formats/detect.js'
import { parseTflite, TFLITE_TENSOR_TYPES } from '../../src/formats/tflite.js'
import type { FileLayout, TensorInfo } from '../../src/formats/types.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { corpusPath, readCorpus } from '../helpers/corpus.js'
import { assertTiles, countingReadAt } from './model-helpers.js'

const MODELS = 'models/'
const corpusTflite = (): string[] => readdirSync(corpusPath(MODELS), { withFileTypes: true })
  .filter(d => d.isDirectory())
  .flatMap(d => readdirSync(corpusPath(MODELS + d.name)).filter(f => f.endsWith('.tflite')).map(f => `${MODELS}${d.name}/${f}`))
  .sort()

const FACE32 = 'models/mediapipe-face_landmark-fp32-to-fp16/base.face_landmark.2020-12-09.fp32.tflite'
const FACE16 = 'models/mediapipe-face_landmark-fp32-to-fp16/derived.face_landmark.2021-10-06.fp16.tflite'
const PALM_BASE = 'models/mediapipe-palm_detection_full-repack/base.palm_detection_full.2021-11-03.tflite'
const PALM_DERIVED = 'models/mediapipe-palm_detection_full-repack/derived.palm_detection_full.2023-09-22.tflite'
const POSE_2021 = 'models/mediapipe-pose_detection-series/v2021-11-03.pose_detection.tflite'
const POSE_2023 = 'models/mediapipe-pose_detection-series/v2023-09-22.pose_detection.tflite'

async function layoutOf (rel: string, file: Uint8Array): Promise<FileLayout> {
  return await detectLayout(rel, file.subarray(0, 65536), file.length, headReader(file).read, { read: countingReadAt(file).read })
}

/**
 * The tensor table read independently with the official FlatBuffers runtime
 * (ByteBuffer's vtable / indirect / vector accessors) and schema.fbs field ids.
 */
function referenceTable (bytes: Uint8Array): Array<{ name: string, type: number, shape: number[], start: number, end: number }> {
  const bb = new ByteBuffer(bytes)
  const root = bb.readUint32(0)
  const vec = (table: number, id: number): { start: number, len: number } | undefined => {
    const o = bb.__offset(table, 4 + 2 * id)
    return o === 0 ? undefined : { start: bb.__vector(table + o), len: bb.__vector_len(table + o) }
  }
  const scalar = (table: number, id: number, read: (p: number) => number): number => {
    const o = bb.__offset(table, 4 + 2 * id)
    return o === 0 ? 0 : read(table + o)
  }
  const buffers = vec(root, 4)
  const out: Array<{ name: string, type: number, shape: number[], start: number, end: number }> = []
  const subgraphs = vec(root, 2)
  for (let s = 0; s < (subgraphs?.len ?? 0); s++) {
    const sg = bb.__indirect((subgraphs as { start: number }).start + s * 4)
    const tensors = vec(sg, 0)
    for (let i = 0; i < (tensors?.len ?? 0); i++) {
      const tp = bb.__indirect((tensors as { start: number }).start + i * 4)
      const buffer = scalar(tp, 2, p => bb.readUint32(p))
      if (buffer === 0) continue
      const bp = bb.__indirect((buffers as { start: number }).start + buffer * 4)
      const data = vec(bp, 0)
      const off = bb.__offset(bp, 6) === 0 ? 0n : bb.readUint64(bp + bb.__offset(bp, 6))
      const size = bb.__offset(bp, 8) === 0 ? 0n : bb.readUint64(bp + bb.__offset(bp, 8))
      const range = off > 1n ? { start: Number(off), end: Number(off + size) } : data === undefined ? { start: 0, end: 0 } : { start: data.start, end: data.start + data.len }
      if (range.end === range.start) continue
      const shapeVec = vec(tp, 0)
      const shape: number[] = []
      for (let d = 0; d < (shapeVec?.len ?? 0); d++) shape.push(bb.readInt32((shapeVec as { start: number }).start + d * 4))
      const nameOff = bb.__offset(tp, 10)
      const name = nameOff === 0 ? '' : bb.__string(tp + nameOff) as string
      out.push({ name: s === 0 ? name : `subgraph${s}/${name}`, type: scalar(tp, 1, p => bb.readInt8(p)), shape, ...range })
    }
  }
  return out.sort((a, b) => (a.start - b.start) || (a.end - b.end))
}

t.test('parses every corpus .tflite file; the table matches the FlatBuffers runtime and the segments tile the file', async t => {
  const files = corpusTflite()
  t.ok(files.length >= 11, `${files.length} corpus tflite files`)
  for (const rel of files) {
    const file = readCorpus(rel)
    const r = countingReadAt(file)
    const layout = await detectLayout(rel, file.subarray(0, 65536), file.length, headReader(file).read, { read: r.read })
    t.equal(layout.format, 'tflite', rel)
    const tensors = layout.tensors as TensorInfo[]
    const ref = referenceTable(file)
    t.same(tensors.map(x => [x.name, x.dtype, x.shape, x.start, x.end]),
      ref.map(x => [x.name, TFLITE_TENSOR_TYPES[x.type].dtype, x.shape, x.start, x.end]), `${rel}: ${tensors.length} tensors with data`)
    assertTiles(t, layout, file.length, rel)
    // every tensor's bytes are exactly one 'tensor' segment
    const segs = new Map(layout.segments.filter(s => s.kind === 'tensor').map(s => [`${s.start}-${s.end}`, s]))
    t.ok(tensors.every(x => segs.has(`${x.start}-${x.end}`)), `${rel}: each tensor is one segment`)
    t.ok(r.stats.bytes < file.length * 0.6, `${rel}: read ${r.stats.bytes} of ${file.length} bytes`)
  }
})

t.test('face_landmark fp32 → fp16: 116 weight tensors, the same names and shapes, F32 → F16', async t => {
  const a = await layoutOf(FACE32, readCorpus(FACE32))
  const b = await layoutOf(FACE16, readCorpus(FACE16))
  const ta = a.tensors as TensorInfo[]
  const tb = b.tensors as TensorInfo[]
  t.equal(ta.length, 116)
  t.equal(tb.length, 116)
  const count = (ts: TensorInfo[]): Record<string, number> => ts.reduce<Record<string, number>>((m, x) => { m[x.dtype] = (m[x.dtype] ?? 0) + 1; return m }, {})
  t.same(count(ta), { F32: 113, I32: 3 })
  t.same(count(tb), { F16: 113, I32: 3 })
  const sig = (ts: TensorInfo[]): string[] => ts.map(x => `${x.name} [${x.shape.join(',')}]`).sort()
  t.same(sig(tb), sig(ta), 'same names and shapes')
  const byName = new Map(ta.map(x => [x.name, x]))
  t.ok(tb.every(x => x.dtype === 'I32' || (x.end - x.start) * 2 === ((byName.get(x.name) as TensorInfo).end - (byName.get(x.name) as TensorInfo).start)), 'each F16 tensor is half its F32 size')
  const seg = b.segments.find(s => s.kind === 'tensor' && s.dtype === 'F16')
  t.equal(seg?.elementSize, 2)
})

async function chunkDigests (file: Uint8Array, layout: FileLayout): Promise<Array<{ digest: string, length: number, kind: string }>> {
  const out: Array<{ digest: string, length: number, kind: string }> = []
  for await (const c of chunkFile(bytesSource(file, 1 << 20), layout)) {
    out.push({ digest: createHash('sha256').update(c.bytes).digest('hex'), length: c.bytes.length, kind: c.hint.kind })
  }
  return out
}

/** Fraction of `derived`'s bytes in chunks whose bytes are also a chunk of `base`. */
async function sharedFraction (base: Uint8Array, lb: FileLayout, derived: Uint8Array, ld: FileLayout): Promise<{ fraction: number, tensorFraction: number, newChunks: number, newBytes: number }> {
  const have = new Set((await chunkDigests(base, lb)).map(c => c.digest))
  let shared = 0
  let tensorBytes = 0
  let tensorShared = 0
  let newChunks = 0
  for (const c of await chunkDigests(derived, ld)) {
    const hit = have.has(c.digest)
    if (hit) shared += c.length
    else newChunks++
    if (c.kind === 'tensor') { tensorBytes += c.length; if (hit) tensorShared += c.length }
  }
  return { fraction: shared / derived.length, tensorFraction: tensorShared / tensorBytes, newChunks, newBytes: derived.length - shared }
}

t.test('palm_detection repack: bit-identical weights at shifted offsets dedup chunk by chunk', async t => {
  const base = readCorpus(PALM_BASE)
  const derived = readCorpus(PALM_DERIVED)
  const lb = await layoutOf(PALM_BASE, base)
  const ld = await layoutOf(PALM_DERIVED, derived)
  const tb = lb.tensors as TensorInfo[]
  const td = ld.tensors as TensorInfo[]
  t.equal(td.length, 140)
  const baseBytes = new Map(tb.map(x => [x.name, base.subarray(x.start, x.end)]))
  let identical = 0
  let shifted = 0
  for (const x of td) {
    const b = baseBytes.get(x.name)
    if (b !== undefined && Buffer.compare(b, derived.subarray(x.start, x.end)) === 0) identical++
    if (tb.find(y => y.name === x.name)?.start !== x.start) shifted++
  }
  t.equal(identical, 140, 'all 140 tensors bit-identical')
  t.equal(shifted, 140, 'at other offsets')

  const tensorAligned = await sharedFraction(base, lb, derived, ld)
  const cdcOnly = await sharedFraction(base, { format: 'bytes', segments: [{ start: 0, end: base.length, kind: 'bytes' }] },
    derived, { format: 'bytes', segments: [{ start: 0, end: derived.length, kind: 'bytes' }] })
  t.comment(`palm_detection repack: ${(tensorAligned.fraction * 100).toFixed(2)}% of the derived file's bytes are in chunks identical to base chunks ` +
    `(tensor chunks: ${(tensorAligned.tensorFraction * 100).toFixed(2)}%; ${tensorAligned.newChunks} new chunks, ${tensorAligned.newBytes} new bytes); ` +
    `CDC alone: ${(cdcOnly.fraction * 100).toFixed(2)}%`)
  t.equal(tensorAligned.tensorFraction, 1, 'every tensor chunk of the repack is a base chunk')
  t.ok(tensorAligned.fraction > 0.96, 'over 96% of the file dedups exactly')
  t.ok(tensorAligned.fraction > cdcOnly.fraction, 'better than CDC alone')
})

t.test('pose_detection 2021-11-03 → 2023-09-22 (same weights, repacked): every tensor chunk dedups', async t => {
  const base = readCorpus(POSE_2021)
  const derived = readCorpus(POSE_2023)
  const ld = await layoutOf(POSE_2023, derived)
  const r = await sharedFraction(base, await layoutOf(POSE_2021, base), derived, ld)
  const tensorBytes = ld.segments.filter(s => s.kind === 'tensor').reduce((n, s) => n + s.end - s.start, 0)
  // This model's flatbuffer tables and names (1.1 MB after the weights) were
  // re-serialised with small shifts throughout: exact dedup of those CDC
  // chunks is not expected, only of the tensors.
  t.comment(`pose_detection repack: ${(r.fraction * 100).toFixed(2)}% shared (tensors are ${(tensorBytes / derived.length * 100).toFixed(2)}% of the file), ${r.newChunks} new chunks, ${r.newBytes} new bytes`)
  t.equal(r.tensorFraction, 1)
  t.ok(r.fraction >= tensorBytes / derived.length)
})

t.test('detectLayout without a ranged reader falls back to readHead prefixes', async t => {
  const file = readCorpus(PALM_BASE)
  const h = headReader(file)
  const layout = await detectLayout('palm.TFLITE', file.subarray(0, 4096), file.length, h.read)
  t.same(layout, await layoutOf(PALM_BASE, file))
  t.ok(h.calls.length < 12, `${h.calls.length} doubling prefix reads`)
})

// ---- synthetic models, built with the FlatBuffers builder ----

interface TensorSpec { name: string, type?: number, shape: number[], buffer: number, sparse?: boolean }
interface BufferSpec { data?: Uint8Array, offset?: bigint, size?: bigint }

function buildModel (opts: { version?: number, tensors: TensorSpec[], buffers: BufferSpec[], subgraphs?: number }): Uint8Array {
  const b = new Builder(1024)
  const bufs = opts.buffers.map(spec => {
    let data = 0
    if (spec.data !== undefined) {
      b.startVector(1, spec.data.length, 16)
      for (let i = spec.data.length - 1; i >= 0; i--) b.addInt8(spec.data[i])
      data = b.endVector()
    }
    b.startObject(3)
    if (data !== 0) b.addFieldOffset(0, data, 0)
    if (spec.offset !== undefined) b.addFieldInt64(1, spec.offset, 0n)
    if (spec.size !== undefined) b.addFieldInt64(2, spec.size, 0n)
    return b.endObject()
  })
  const sgs: number[] = []
  for (let s = 0; s < (opts.subgraphs ?? 1); s++) {
    const ts = opts.tensors.map(spec => {
      const name = b.createString(spec.name)
      b.startVector(4, spec.shape.length, 4)
      for (let i = spec.shape.length - 1; i >= 0; i--) b.addInt32(spec.shape[i])
      const shape = b.endVector()
      let sparsity = 0
      if (spec.sparse === true) { b.startObject(3); sparsity = b.endObject() }
      b.startObject(7)
      b.addFieldOffset(0, shape, 0)
      b.addFieldInt8(1, spec.type ?? 0, 0)
      b.addFieldInt32(2, spec.buffer, 0)
      b.addFieldOffset(3, name, 0)
      if (sparsity !== 0) b.addFieldOffset(6, sparsity, 0)
      return b.endObject()
    })
    b.startVector(4, ts.length, 4)
    for (let i = ts.length - 1; i >= 0; i--) b.addOffset(ts[i])
    const tv = b.endVector()
    b.startObject(5)
    b.addFieldOffset(0, tv, 0)
    sgs.push(b.endObject())
  }
  b.startVector(4, sgs.length, 4)
  for (let i = sgs.length - 1; i >= 0; i--) b.addOffset(sgs[i])
  const sgv = b.endVector()
  b.startVector(4, bufs.length, 4)
  for (let i = bufs.length - 1; i >= 0; i--) b.addOffset(bufs[i])
  const bv = b.endVector()
  b.startObject(8)
  b.addFieldInt32(0, opts.version ?? 3, 0)
  b.addFieldOffset(2, sgv, 0)
  b.addFieldOffset(4, bv, 0)
  b.finish(b.endObject(), 'TFL3')
  return b.asUint8Array().slice()
}

const f32 = (...xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer)
const parse = async (bytes: Uint8Array): Promise<FileLayout> => await parseTflite(countingReadAt(bytes).read, bytes.length)

t.test('shared buffers: each tensor is listed, each byte range is one segment; buffer 0 and empty buffers hold no data', async t => {
  const model = buildModel({
    tensors: [
      { name: 'w', shape: [2, 2], buffer: 1 },
      { name: 'w_alias', shape: [4], buffer: 1 },
      { name: 'act', shape: [1, 4], buffer: 0 },
      { name: 'empty', shape: [1, 4], buffer: 2 },
      { name: 'b', type: 2, shape: [2], buffer: 3 }
    ],
    buffers: [{}, { data: f32(1, 2, 3, 4) }, {}, { data: new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]) }]
  })
  const layout = await parse(model)
  const tensors = layout.tensors as TensorInfo[]
  t.same(tensors.map(x => x.name).sort(), ['b', 'w', 'w_alias'])
  const w = tensors.find(x => x.name === 'w') as TensorInfo
  const alias = tensors.find(x => x.name === 'w_alias') as TensorInfo
  t.same([alias.start, alias.end], [w.start, w.end])
  t.same(Array.from(new Float32Array(model.slice(w.start, w.end).buffer)), [1, 2, 3, 4])
  const segs = layout.segments.filter(s => s.kind === 'tensor')
  t.equal(segs.length, 2, 'two distinct ranges')
  t.same(segs.map(s => [s.name, s.dtype, s.elementSize]).sort(), [['b', 'I32', 4], ['w', 'F32', 4]])
  assertTiles(t, layout, model.length, 'synthetic')
})

t.test('several subgraphs: tensors of subgraph i > 0 are prefixed', async t => {
  const model = buildModel({ subgraphs: 2, tensors: [{ name: 'w', shape: [1], buffer: 1 }], buffers: [{}, { data: f32(7) }] })
  const layout = await parse(model)
  t.same((layout.tensors as TensorInfo[]).map(x => x.name), ['w', 'subgraph1/w'])
  t.equal(layout.segments.filter(s => s.kind === 'tensor').length, 1)
})

t.test('large-model buffers: data after the flatbuffer, by offset and size', async t => {
  const fb = buildModel({
    tensors: [{ name: 'big', shape: [4], buffer: 1 }, { name: 'inline', type: 9, shape: [3], buffer: 2 }],
    buffers: [{}, { offset: 4096n, size: 16n }, { data: new Uint8Array([1, 2, 3]) }, { offset: 1n, size: 0n }]
  })
  t.ok(fb.length < 4096)
  const file = new Uint8Array(4096 + 16 + 5)
  file.set(fb)
  file.set(f32(1, 2, 3, 4), 4096)
  const layout = await parse(file)
  const big = (layout.tensors as TensorInfo[]).find(x => x.name === 'big') as TensorInfo
  t.same([big.start, big.end], [4096, 4112])
  t.same(layout.segments.slice(-3).map(s => [s.kind, s.start, s.end]), [['bytes', (layout.segments.at(-3) as { start: number }).start, 4096], ['tensor', 4096, 4112], ['bytes', 4112, 4117]])
  assertTiles(t, layout, file.length, 'large-model layout')
  // the same buffer past the end of the file
  await t.rejects(parse(file.subarray(0, 4100)), { code: 'ERR_BAD_FORMAT', message: /past the end of the file/ })
})

t.test('sparse and string tensors skip the size check and get byte pieces', async t => {
  const model = buildModel({
    tensors: [{ name: 'sp', shape: [10, 10], buffer: 1, sparse: true }, { name: 's', type: 5, shape: [2], buffer: 2 }],
    buffers: [{}, { data: f32(1, 2) }, { data: new Uint8Array(20) }]
  })
  const layout = await parse(model)
  t.same(layout.segments.filter(s => s.kind === 'tensor').map(s => [s.name, s.elementSize]).sort(), [['s', 1], ['sp', 1]])
})

function patchU32 (bytes: Uint8Array, pos: number, v: number): Uint8Array {
  const out = bytes.slice()
  new DataView(out.buffer).setUint32(pos, v >>> 0, true)
  return out
}

t.test('malformed models are ERR_BAD_FORMAT with a message naming the problem', async t => {
  const good = buildModel({ tensors: [{ name: 'w', shape: [2], buffer: 1 }], buffers: [{}, { data: f32(1, 2) }] })
  await parse(good)
  const bb = new ByteBuffer(good)
  const root = bb.readUint32(0)
  const buffersVec = bb.__vector(root + bb.__offset(root, 12)) - 4
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /too short/],
    ['bad identifier', (() => { const x = good.slice(); x.set([0x58, 0x58, 0x58, 0x58], 4); return x })(), /TFL3/],
    ['truncated', good.subarray(0, Math.floor(good.length / 2)), /past the end|vtable/],
    ['root offset past the end', patchU32(good, 0, good.length + 100), /past the end/],
    ['misaligned root table', patchU32(good, 0, root + 1), /misaligned/],
    ['vtable out of range', patchU32(good, root, 0x7fff0000), /vtable/],
    ['huge buffer count', patchU32(good, buffersVec, 0x7fffffff), /vector of 2147483647 elements/],
    ['bad version', buildModel({ version: 2, tensors: [], buffers: [{}] }), /schema version 2/],
    ['buffer index out of range', buildModel({ tensors: [{ name: 'w', shape: [2], buffer: 9 }], buffers: [{}, { data: f32(1, 2) }] }), /buffer 9 but the model has 2/],
    ['size mismatch', buildModel({ tensors: [{ name: 'w', shape: [2, 2], buffer: 1 }], buffers: [{}, { data: f32(1, 2, 3) }] }), /needs 16 bytes but its buffer 1 holds 12/],
    ['unknown type', buildModel({ tensors: [{ name: 'w', type: 99, shape: [2], buffer: 1 }], buffers: [{}, { data: f32(1, 2) }] }), /unknown type 99/],
    ['negative dim', buildModel({ tensors: [{ name: 'w', shape: [-1, 2], buffer: 1 }], buffers: [{}, { data: f32(1, 2) }] }), /negative dim/],
    ['inline data and offset', buildModel({ tensors: [{ name: 'w', shape: [2], buffer: 1 }], buffers: [{}, { data: f32(1, 2), offset: 64n, size: 8n }] }), /both inline data and an offset/],
    ['external data past the end', buildModel({ tensors: [{ name: 'w', shape: [2], buffer: 1 }], buffers: [{}, { offset: 1_000_000_000n, size: 8n }] }), /past the end of the file/],
    ['overlapping buffers', (() => {
      const fb = buildModel({ tensors: [{ name: 'a', shape: [4], buffer: 1 }, { name: 'b', shape: [4], buffer: 2 }], buffers: [{}, { offset: 2048n, size: 16n }, { offset: 2056n, size: 16n }] })
      const x = new Uint8Array(2100); x.set(fb); return x
    })(), /overlap/]
  ]
  for (const [what, bytes, message] of cases) {
    await t.rejects(parse(bytes), { name: 'BadInputError', code: 'ERR_BAD_FORMAT', message }, what)
  }
  // A real file cut short, through detectLayout.
  const palm = readCorpus(PALM_BASE)
  const cut = palm.subarray(0, Math.floor(palm.length * 0.6))
  await t.rejects(detectLayout('x.tflite', cut, cut.length, headReader(cut).read), { code: 'ERR_BAD_FORMAT' }, 'real file cut to 60%')
})
