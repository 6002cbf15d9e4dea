import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gguf, GGMLQuantizationType, GGUFValueType } from '@huggingface/gguf'
import t, { type Test } from 'tap'
import { quantizeModel } from '../../src/advisor/quantize/quantize-model.js'
import type { TensorInput } from '../../src/advisor/quantize/types.js'
import { f32le, fromTensors, memorySink, randomNormal, refError, refHalf } from './helpers/reference.js'

const LONG = 'base_model.model.roberta.encoder.layer.11.attention.output.dense.weight_matrix.weight'

function bf16le (x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length * 2)
  const u = new Uint32Array(x.slice().buffer)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < x.length; i++) dv.setUint16(i * 2, u[i] >>> 16, true)
  return out
}

async function writeGguf (t: Test, quantizer: 'q8_0' | 'q4_0', list: TensorInput[]) {
  const dir = await mkdtemp(join(tmpdir(), 'tenpak-gguf-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const mem = memorySink()
  const report = await quantizeModel({ quantizer, tensors: list, source: fromTensors(list), sink: mem.sink, gguf: { name: 'test-model' } })
  const path = join(dir, `model-${quantizer}.gguf`)
  await writeFile(path, mem.bytes())
  const parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true })
  const file = new Uint8Array(await readFile(path))
  // our keys are outside the parser's typed model metadata: read them as a plain record
  const meta = parsed.metadata as unknown as Record<string, unknown>
  return { report, parsed, file, meta }
}

// exact Q8_0 input: amax 63.5 → d = 0.5 (exact in fp16), every value a multiple of 0.5
const exactQ8 = new Float32Array(64)
for (let i = 0; i < 64; i++) exactQ8[i] = ((i * 37) % 255 - 127) * 0.5
exactQ8[3] = 63.5
exactQ8[40] = -63.5

t.test('Q8_0 GGUF parses with @huggingface/gguf: v3, alignment 32, ggml-order dims, names, and blocks decode to the expected values', async t => {
  const rnd = randomNormal(4 * 96, 5)
  const list: TensorInput[] = [
    { name: 'exact.weight', dtype: 'F32', shape: [2, 32], data: f32le(exactQ8) },
    { name: 'norm.weight', dtype: 'F32', shape: [32], data: f32le(randomNormal(32, 6)) },
    { name: 'rnd.weight', dtype: 'F32', shape: [4, 96], data: f32le(rnd) },
    { name: 'odd.weight', dtype: 'F32', shape: [3, 20], data: f32le(randomNormal(60, 9)) },
    { name: 'bf.bias', dtype: 'BF16', shape: [8], data: bf16le(randomNormal(8, 10)) },
    { name: LONG, dtype: 'F32', shape: [1, 64], data: f32le(randomNormal(64, 12)) }
  ]
  const { report, parsed, file, meta } = await writeGguf(t, 'q8_0', list)
  t.equal(file.length, report.bytes, 'report bytes = file size')
  t.equal(parsed.metadata.version, 3)
  t.equal(parsed.typedMetadata['general.alignment']?.value, 32)
  t.equal(parsed.typedMetadata['general.alignment']?.type, GGUFValueType.UINT32)
  t.equal(meta['general.name'], 'test-model')
  t.equal(meta['general.file_type'], 7)
  t.equal(meta['general.quantization_version'], 2)
  t.equal(Number(parsed.tensorDataOffset) % 32, 0)
  const infos = parsed.tensorInfos
  t.same(infos.map(i => [i.name.length < 64, Number(i.dtype), i.shape.map(Number)]), [
    [true, GGMLQuantizationType.Q8_0, [32, 2]],
    [true, GGMLQuantizationType.F32, [32]],
    [true, GGMLQuantizationType.Q8_0, [96, 4]],
    [true, GGMLQuantizationType.F32, [20, 3]],
    [true, GGMLQuantizationType.BF16, [8]],
    [true, GGMLQuantizationType.Q8_0, [64, 1]]
  ], 'types and dims (ne0 = last PyTorch dim)')
  t.not(infos[5].name, LONG, 'long name shortened')
  t.match(infos[5].name, /dense\.weight_matrix\.weight$/)
  t.same(meta['tenpak.source_tensor_names'], list.map(x => x.name))
  for (const i of infos) t.equal(Number(i.offset) % 32, 0, `${i.name} offset aligned`)

  const base = Number(parsed.tensorDataOffset)
  const decodeQ8 = (offset: number, n: number): Float64Array => {
    const out = new Float64Array(n)
    const dv = new DataView(file.buffer, file.byteOffset)
    for (let b = 0; b < n / 32; b++) {
      const o = base + offset + b * 34
      const d = refHalf(dv.getUint16(o, true))
      for (let j = 0; j < 32; j++) out[b * 32 + j] = dv.getInt8(o + 2 + j) * d
    }
    return out
  }
  t.same([...decodeQ8(Number(infos[0].offset), 64)], [...exactQ8], 'exact block values decode exactly')
  const dv = new DataView(file.buffer, file.byteOffset)
  t.equal(refHalf(dv.getUint16(base + Number(infos[0].offset), true)), 0.5, 'scale d = absmax / 127')
  t.equal(dv.getInt8(base + Number(infos[0].offset) + 2 + 3), 127)
  const y = decodeQ8(Number(infos[2].offset), 4 * 96)
  const ref = refError(rnd, y)
  const rep = report.tensors.find(r => r.name === 'rnd.weight')!
  t.ok(Math.abs(rep.relativeRmsError - ref.rel) < 1e-6, `reported ${rep.relativeRmsError} vs decoded ${ref.rel}`)
  for (let b = 0; b < 12; b++) {
    const d = refHalf(dv.getUint16(base + Number(infos[2].offset) + b * 34, true))
    // ggml rounds x/d with the fp32 d but stores d in fp16: error ≤ d/2 + 127·|d32 − d16| ≤ d/2 + 127·d·2^-11
    for (let j = 0; j < 32; j++) if (Math.abs(y[b * 32 + j] - rnd[b * 32 + j]) > d / 2 + 127 * Math.abs(d) * 2 ** -11) t.fail(`block ${b} elem ${j} off by more than half a step`)
  }
  // kept tensors are byte-identical
  t.same(file.subarray(base + Number(infos[1].offset), base + Number(infos[1].offset) + 128), list[1].data)
  t.same(file.subarray(base + Number(infos[4].offset), base + Number(infos[4].offset) + 16), list[4].data)
  t.match(report.kept.find(k => k.name === 'odd.weight')?.reason, /not a multiple of the GGUF block size/)
})

t.test('Q4_0 uses ggml\'s layout: d = signed max / -8, low nibbles = elements 0..15, high nibbles = 16..31', async t => {
  // block 0: largest magnitude is negative (-2): d = 0.25; block 1: largest is positive (+2): d = -0.25
  const x = new Float32Array(64)
  for (let j = 0; j < 16; j++) { x[j] = (j - 8) * 0.25; x[16 + j] = (7 - (j % 8)) * 0.25 * (j < 8 ? 1 : -1) }
  x[0] = -2
  for (let j = 0; j < 32; j++) x[32 + j] = -x[j]
  const { report, parsed, file, meta } = await writeGguf(t, 'q4_0', [{ name: 'q.weight', dtype: 'F32', shape: [2, 32], data: f32le(x) }])
  t.equal(meta['general.file_type'], 2)
  t.equal(Number(parsed.tensorInfos[0].dtype), GGMLQuantizationType.Q4_0)
  const base = Number(parsed.tensorDataOffset) + Number(parsed.tensorInfos[0].offset)
  const dv = new DataView(file.buffer, file.byteOffset)
  t.equal(refHalf(dv.getUint16(base, true)), 0.25)
  t.equal(refHalf(dv.getUint16(base + 18, true)), -0.25)
  const y = new Float64Array(64)
  for (let b = 0; b < 2; b++) {
    const d = refHalf(dv.getUint16(base + b * 18, true))
    for (let j = 0; j < 16; j++) {
      const byte = file[base + b * 18 + 2 + j]
      y[b * 32 + j] = ((byte & 15) - 8) * d
      y[b * 32 + 16 + j] = ((byte >> 4) - 8) * d
    }
  }
  t.same([...y], [...x], 'exact values decode exactly with the documented nibble order')
  t.equal(file[base + 2] & 15, 0, 'the signed-max element maps to code 0 (= -8)')
  t.equal(report.relativeRmsError, 0)
})

t.test('Q4_0 on random weights: error bounded by one step per block, matching the report', async t => {
  const x = randomNormal(8 * 64, 21)
  const { report, parsed, file } = await writeGguf(t, 'q4_0', [{ name: 'r.weight', dtype: 'F32', shape: [8, 64], data: f32le(x) }])
  const base = Number(parsed.tensorDataOffset) + Number(parsed.tensorInfos[0].offset)
  const dv = new DataView(file.buffer, file.byteOffset)
  const y = new Float64Array(x.length)
  for (let b = 0; b < x.length / 32; b++) {
    const d = refHalf(dv.getUint16(base + b * 18, true))
    for (let j = 0; j < 16; j++) {
      const byte = file[base + b * 18 + 2 + j]
      y[b * 32 + j] = ((byte & 15) - 8) * d
      y[b * 32 + 16 + j] = ((byte >> 4) - 8) * d
    }
  }
  const ref = refError(x, y)
  t.ok(Math.abs(report.relativeRmsError - ref.rel) < 1e-6, `reported ${report.relativeRmsError} vs decoded ${ref.rel}`)
  t.ok(report.relativeRmsError < 0.15)
})
