import t from 'tap'
import { NF4_CODE, nearestNf4 } from '../../src/advisor/quantize/nf4.js'
import { quantizeModel, planQuantization } from '../../src/advisor/quantize/quantize-model.js'
import { quantizeModelToStream } from '../../src/advisor/quantize/to-stream.js'
import type { TensorInput } from '../../src/advisor/quantize/types.js'
import { parseHeader } from './helpers/safetensors.js'
import { f32le, fromTensors, memorySink, randomNormal, refE4M3, refError } from './helpers/reference.js'

/** The NF4 table as printed by bitsandbytes (functional.get_4bit_type('nf4') / its CPU kernels). */
const BNB_NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
  0.7229568362236023, 1.0]

function tensors (): TensorInput[] {
  const w = randomNormal(24 * 96, 7)
  w[5] = 0.5 // an outlier in row 0
  const bias = randomNormal(24, 8)
  return [
    { name: 'layer.dense.weight', dtype: 'F32', shape: [24, 96], data: f32le(w) },
    { name: 'layer.dense.bias', dtype: 'F32', shape: [24], data: f32le(bias) },
    { name: 'layer.ids', dtype: 'I64', shape: [3], data: new Uint8Array(24) }
  ]
}

async function run (quantizer: 'int8' | 'nf4' | 'fp8', list = tensors()) {
  const mem = memorySink()
  const report = await quantizeModel({ quantizer, tensors: list, source: fromTensors(list), sink: mem.sink, metadata: { format: 'pt' } })
  const bytes = mem.bytes()
  const header = parseHeader(bytes)
  const get = (name: string) => {
    const e = header.tensors.find(x => x.name === name)
    if (e == null) throw new Error(`missing ${name}`)
    return { ...e, data: bytes.slice(header.dataStart + e.start, header.dataStart + e.end) }
  }
  return { report, bytes, header, get, list }
}

function original (list: TensorInput[], name: string): Float32Array {
  const d = list.find(x => x.name === name)!.data
  return new Float32Array(d.slice().buffer)
}

t.test('INT8: weight int8 + <module>.SCB (fp32 row absmax) + weight_format, dequantized q·SCB/127 within half a step', async t => {
  const { report, bytes, header, get, list } = await run('int8')
  t.equal(bytes.length, report.bytes, 'report bytes = file size')
  t.same(header.tensors.map(x => [x.name, x.dtype, x.shape]), [
    ['layer.dense.weight', 'I8', [24, 96]], ['layer.dense.SCB', 'F32', [24]], ['layer.dense.weight_format', 'U8', []],
    ['layer.dense.bias', 'F32', [24]], ['layer.ids', 'I64', [3]]
  ])
  t.equal(header.metadata['tenpak.quantizer'], 'int8')
  const x = original(list, 'layer.dense.weight')
  const q = new Int8Array(get('layer.dense.weight').data.buffer)
  const scb = new Float32Array(get('layer.dense.SCB').data.buffer)
  t.equal(get('layer.dense.weight_format').data[0], 0)
  const y = new Float64Array(x.length)
  let worst = 0
  for (let r = 0; r < 24; r++) {
    let amax = 0
    for (let c = 0; c < 96; c++) amax = Math.max(amax, Math.abs(x[r * 96 + c]))
    t.equal(scb[r], amax, `SCB[${r}] is the row absmax`)
    for (let c = 0; c < 96; c++) {
      y[r * 96 + c] = q[r * 96 + c] * scb[r] / 127
      worst = Math.max(worst, Math.abs(y[r * 96 + c] - x[r * 96 + c]) / (scb[r] / 127))
    }
  }
  t.ok(worst <= 0.5 + 1e-5, `max error ${worst} steps`)
  const ref = refError(x, y)
  t.ok(Math.abs(report.relativeRmsError - ref.rel) < 1e-6, `reported ${report.relativeRmsError} vs reference ${ref.rel}`)
  t.ok(Math.abs(report.sqnrDb - ref.sqnr) < 1e-3)
  t.same(get('layer.dense.bias').data, list[1].data, 'bias kept bit-exact')
  t.same(report.kept.map(k => k.name), ['layer.dense.bias', 'layer.ids'])
  t.same(report.quantizationConfig, { quant_method: 'bitsandbytes', load_in_8bit: true, load_in_4bit: false })
})

t.test('NF4: code table is bitsandbytes\' published table; blocks of 64, even element in the high nibble', async t => {
  t.same([...NF4_CODE], BNB_NF4)
  for (const v of BNB_NF4) t.equal(Math.fround(v), v, `${v} is an exact fp32`)
  // a block whose values are exactly the table scaled by 2, in a known order
  const order = [15, 0, 7, 8, 3, 12, 1, 14, 2, 13, 4, 11, 5, 10, 6, 9]
  const block = new Float32Array(64)
  for (let i = 0; i < 64; i++) block[i] = Math.fround(2 * BNB_NF4[order[i % 16]])
  const list: TensorInput[] = [{ name: 'w.weight', dtype: 'F32', shape: [2, 32], data: f32le(block) }]
  const { report, get, header } = await run('nf4', list)
  t.same(header.tensors.map(x => [x.name, x.dtype, x.shape]), [
    ['w.weight', 'U8', [32, 1]], ['w.weight.absmax', 'F32', [1]], ['w.weight.quant_map', 'F32', [16]], ['w.weight.quant_state.bitsandbytes__nf4', 'U8', [header.tensors[3].shape[0]]]
  ])
  const packed = get('w.weight').data
  for (let j = 0; j < 32; j++) {
    t.equal(packed[j] >> 4, order[(2 * j) % 16], `byte ${j} high nibble = element ${2 * j}`)
    t.equal(packed[j] & 15, order[(2 * j + 1) % 16], `byte ${j} low nibble = element ${2 * j + 1}`)
  }
  t.same([...new Float32Array(get('w.weight.absmax').data.buffer)], [2])
  t.same([...new Float32Array(get('w.weight.quant_map').data.buffer)], BNB_NF4)
  t.same(JSON.parse(new TextDecoder().decode(get('w.weight.quant_state.bitsandbytes__nf4').data)), { quant_type: 'nf4', blocksize: 64, dtype: 'float32', shape: [2, 32] })
  t.equal(new TextDecoder().decode(get('w.weight.quant_state.bitsandbytes__nf4').data), '{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [2, 32]}', 'python json.dumps spacing')
  t.equal(report.relativeRmsError, 0, 'table values quantize exactly')
})

t.test('NF4: random weights dequantize (table[q] · absmax) to the reported error; partial last block has its own absmax', async t => {
  const x = randomNormal(10 * 10, 3) // 100 elements: one full block + 36
  const list: TensorInput[] = [{ name: 'm.weight', dtype: 'F32', shape: [10, 10], data: f32le(x) }]
  const { report, get } = await run('nf4', list)
  const packed = get('m.weight').data
  const absmax = new Float32Array(get('m.weight.absmax').data.buffer)
  t.equal(packed.length, 50)
  t.equal(absmax.length, 2)
  t.equal(absmax[1], Math.max(...[...x.subarray(64)].map(Math.abs)))
  const y = new Float64Array(100)
  for (let i = 0; i < 100; i++) {
    const code = i % 2 === 0 ? packed[i >> 1] >> 4 : packed[i >> 1] & 15
    y[i] = BNB_NF4[code] * absmax[Math.floor(i / 64)]
    // nearest level
    const s = x[i] / absmax[Math.floor(i / 64)]
    const dist = BNB_NF4.map(v => Math.abs(v - s))
    t.ok(dist[code] <= Math.min(...dist) + 1e-6, `element ${i} uses the nearest level`)
  }
  const ref = refError(x, y)
  t.ok(Math.abs(report.relativeRmsError - ref.rel) < 1e-6, `reported ${report.relativeRmsError} vs ${ref.rel}`)
  t.equal(nearestNf4(0.03979), 7)
  t.equal(nearestNf4(0.0398), 8)
})

t.test('FP8: weight F8_E4M3 + scalar weight_scale = absmax/448; decodes with an independent E4M3 decoder', async t => {
  const { report, get, list } = await run('fp8')
  const x = original(list, 'layer.dense.weight')
  const w = get('layer.dense.weight')
  const s = get('layer.dense.weight_scale')
  t.equal(w.dtype, 'F8_E4M3')
  t.same(s.shape, [])
  const scale = new Float32Array(s.data.buffer)[0]
  const amax = Math.max(...[...x].map(Math.abs))
  t.equal(scale, Math.fround(amax / 448))
  const y = [...w.data].map(b => refE4M3(b) * scale)
  const iMax = [...x].findIndex(v => Math.abs(v) === amax)
  t.equal(w.data[iMax] & 0x7f, 0x7e, 'the absmax element maps to ±448')
  const ref = refError(x, y)
  t.ok(Math.abs(report.relativeRmsError - ref.rel) < 1e-6)
  t.ok(report.relativeRmsError < 0.05, `E4M3 relative error ${report.relativeRmsError}`)
  t.same(report.quantizationConfig, { quant_method: 'fp8', activation_scheme: 'dynamic' })
})

t.test('BF16 and F16 sources are decoded; plan sizes equal written sizes', async t => {
  const x = randomNormal(8 * 64, 11)
  const bf16 = new Uint8Array(x.length * 2)
  const dv = new DataView(bf16.buffer)
  const u = new Uint32Array(x.buffer)
  for (let i = 0; i < x.length; i++) dv.setUint16(i * 2, u[i] >>> 16, true) // truncation is fine for a test input
  const list: TensorInput[] = [{ name: 'b.weight', dtype: 'BF16', shape: [8, 64], data: bf16 }]
  for (const q of ['int8', 'nf4', 'fp8'] as const) {
    const plan = planQuantization(q, list)
    const { bytes, report } = await run(q, list)
    t.equal(bytes.length, plan.outputBytes, `${q}: planned size is written size`)
    t.ok(report.relativeRmsError > 0 && report.relativeRmsError < 0.2, `${q} on bf16: ${report.relativeRmsError}`)
  }
  const { get } = await run('nf4', list)
  t.match(new TextDecoder().decode(get('b.weight.quant_state.bitsandbytes__nf4').data), /"dtype": "bfloat16"/)
})

t.test('mismatched or short sources are refused with ERR_BAD_ARGUMENT', async t => {
  const list = tensors()
  await t.rejects(quantizeModel({ quantizer: 'int8', tensors: list, source: fromTensors(list.slice(0, 2)) }), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(quantizeModel({ quantizer: 'int8', tensors: list, source: fromTensors([list[1], list[0], list[2]]) }), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(quantizeModel({ quantizer: 'int8', tensors: list, source: fromTensors([{ ...list[0], data: list[0].data.subarray(4) }, list[1], list[2]]) }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => planQuantization('int3' as 'int8', list), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('quantizeModelToStream yields the same bytes as a sink, and stopping early aborts', async t => {
  const list = tensors()
  const mem = memorySink()
  await quantizeModel({ quantizer: 'nf4', tensors: list, source: fromTensors(list), sink: mem.sink })
  const s = quantizeModelToStream({ quantizer: 'nf4', tensors: list, source: fromTensors(list) })
  const parts: Uint8Array[] = []
  for await (const c of s.bytes) parts.push(c)
  t.same(Buffer.concat(parts), Buffer.from(mem.bytes()))
  t.equal((await s.report).bytes, mem.bytes().length)

  const early = quantizeModelToStream({ quantizer: 'int8', tensors: list, source: fromTensors(list) })
  for await (const c of early.bytes) { t.ok(c.length > 0); break }
  await t.rejects(early.report, { code: 'ERR_ABORTED' })
})
