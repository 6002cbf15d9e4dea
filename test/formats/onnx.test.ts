import onnxProto from 'onnx-proto'
import t from 'tap'
import { detectLayout } from '../../src/formats/detect.js'
import { ONNX_LIMITS, onnxExternalDataLayout, onnxExternalTensors, parseOnnx } from '../../src/formats/onnx.js'
import type { OnnxModel } from '../../src/formats/onnx.js'
import type { FileLayout, TensorInfo } from '../../src/formats/types.js'
import { headReader } from '../helpers/byte-source.js'
import { assertTiles, countingReadAt } from './model-helpers.js'

const { onnx } = onnxProto

// ---- a hand-written protobuf writer ----

const enc = new TextEncoder()

function varint (v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v))
  const out: number[] = []
  do {
    const b = Number(x & 0x7fn)
    x >>= 7n
    out.push(x > 0n ? b | 0x80 : b)
  } while (x > 0n)
  return out
}

type Part = number[] | Uint8Array
const cat = (...parts: Part[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}
const tag = (field: number, wire: number): number[] => varint(field * 8 + wire)
const vint = (field: number, v: number | bigint): Uint8Array => cat(tag(field, 0), varint(v))
const len = (field: number, payload: Uint8Array | string): Uint8Array => {
  const b = typeof payload === 'string' ? enc.encode(payload) : payload
  return cat(tag(field, 2), varint(b.length), b)
}
const f32le = (...xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer)
const f64le = (...xs: number[]): Uint8Array => new Uint8Array(new Float64Array(xs).buffer)

interface TP { name?: string, dataType?: number, dims?: number[], raw?: Uint8Array, floats?: Uint8Array, doubles?: Uint8Array, ints64?: number[], strings?: string[], external?: Array<[string, string]>, location?: number, extra?: Uint8Array[] }

/** A TensorProto; dims written unpacked (onnx-proto writes them packed). */
function tensorProto (s: TP): Uint8Array {
  const parts: Uint8Array[] = []
  for (const d of s.dims ?? []) parts.push(vint(1, d))
  if (s.dataType !== undefined) parts.push(vint(2, s.dataType))
  if (s.floats !== undefined) parts.push(len(4, s.floats))
  if (s.ints64 !== undefined) parts.push(len(7, cat(...s.ints64.map(v => varint(v)))))
  for (const x of s.strings ?? []) parts.push(len(6, x))
  if (s.name !== undefined) parts.push(len(8, s.name))
  if (s.raw !== undefined) parts.push(len(9, s.raw))
  if (s.doubles !== undefined) parts.push(len(10, s.doubles))
  for (const [k, v] of s.external ?? []) parts.push(len(13, cat(len(1, k), len(2, v))))
  if (s.location !== undefined) parts.push(vint(14, s.location))
  parts.push(...(s.extra ?? []))
  return cat(...parts)
}
const graph = (...fields: Uint8Array[]): Uint8Array => cat(...fields)
const initializer = (s: TP): Uint8Array => len(5, tensorProto(s))
const model = (graphBytes: Uint8Array | undefined, irVersion = 8): Uint8Array =>
  cat(vint(1, irVersion), len(2, 'tenpak-test'), ...(graphBytes === undefined ? [] : [len(7, graphBytes)]), len(8, cat(len(1, ''), vint(2, 17))))
/** A node with output `output` and attributes (AttributeProto bytes). */
const node = (opType: string, output: string, ...attrs: Uint8Array[]): Uint8Array =>
  len(1, cat(len(2, output), len(4, opType), ...attrs.map(a => len(5, a))))
const attrTensor = (name: string, tp: TP): Uint8Array => cat(len(1, name), len(5, tensorProto(tp)), vint(20, 4))
const attrGraph = (name: string, g: Uint8Array): Uint8Array => cat(len(1, name), len(6, g), vint(20, 5))

const parse = async (bytes: Uint8Array): Promise<OnnxModel> => await parseOnnx(countingReadAt(bytes).read, bytes.length)

const table = (l: FileLayout): Array<[string, string, number[]]> => (l.tensors as TensorInfo[]).map(x => [x.name, x.dtype, x.shape])

t.test('a hand-built model: raw_data, float_data, double_data, sub-byte, Constant and subgraph tensors; others skipped', async t => {
  const w = f32le(...Array.from({ length: 12 }, (_, i) => i / 4))
  const bytes = model(graph(
    node('Constant', 'const_out', attrTensor('value', { dataType: 7, dims: [2], raw: new Uint8Array(16).fill(3) })),
    node('If', 'if_out', attrGraph('then_branch', graph(initializer({ name: 'sub.w', dataType: 1, dims: [2], raw: f32le(5, 6) })))),
    len(2, 'main'),
    initializer({ name: 'w', dataType: 1, dims: [3, 4], raw: w }),
    initializer({ name: 'h', dataType: 10, dims: [2], raw: new Uint8Array([0, 60, 0, 188]) }),
    initializer({ name: 'bf', dataType: 16, dims: [1, 1, 3], raw: new Uint8Array(6).fill(0x3f) }),
    initializer({ name: 'i4', dataType: 22, dims: [5], raw: new Uint8Array([0x12, 0x34, 0x05]) }),
    initializer({ name: 'fd', dataType: 1, dims: [2, 2], floats: f32le(1, 2, 3, 4) }),
    initializer({ name: 'dd', dataType: 11, dims: [2], doubles: f64le(1.5, -2) }),
    initializer({ name: 'c64', dataType: 14, dims: [1], floats: f32le(1, 2) }),
    initializer({ name: 'shape', dataType: 7, dims: [2], ints64: [1, -1] }),
    initializer({ name: 'labels', dataType: 8, dims: [2], strings: ['a', 'b'] }),
    initializer({ name: 'none', dataType: 1, dims: [0, 3] }),
    initializer({ name: 'ext', dataType: 1, dims: [4], location: 1, external: [['location', 'weights.bin'], ['offset', '4096'], ['length', '16']] })
  ))
  const { layout, external } = await parse(bytes)
  t.equal(layout.format, 'onnx')
  t.same(table(layout), [
    ['const_out:value', 'I64', [2]],
    ['sub.w', 'F32', [2]],
    ['w', 'F32', [3, 4]],
    ['h', 'F16', [2]],
    ['bf', 'BF16', [1, 1, 3]],
    ['i4', 'I4', [5]],
    ['fd', 'F32', [2, 2]],
    ['dd', 'F64', [2]],
    ['c64', 'C64', [1]],
    ['none', 'F32', [0, 3]]
  ], 'tensors in file order; int64_data, string_data and external ones are not listed here')
  const get = (name: string): TensorInfo => (layout.tensors as TensorInfo[]).find(x => x.name === name) as TensorInfo
  t.same(bytes.subarray(get('w').start, get('w').end), w, 'raw_data range holds the weights')
  t.same(bytes.subarray(get('fd').start, get('fd').end), f32le(1, 2, 3, 4), 'packed float_data range holds little-endian floats')
  t.same(bytes.subarray(get('dd').start, get('dd').end), f64le(1.5, -2))
  t.equal(get('none').start, get('none').end)
  assertTiles(t, layout, bytes.length, 'hand-built model')
  const segs = layout.segments.filter(s => s.kind === 'tensor')
  t.same(segs.map(s => [s.name, s.elementSize]), [['const_out:value', 8], ['sub.w', 4], ['w', 4], ['h', 2], ['bf', 2], ['i4', 1], ['fd', 4], ['dd', 8], ['c64', 8]])
  t.equal(layout.segments[0].kind, 'header')
  t.same([...external.entries()], [['weights.bin', [{ name: 'ext', dtype: 'F32', shape: [4], start: 4096, end: 4112 }]]])
})

t.test('a model encoded by onnx-proto (protobufjs) parses to the same tensors it decodes', async t => {
  const rawW = f32le(...Array.from({ length: 100 }, (_, i) => Math.sin(i)))
  const m = onnx.ModelProto.create({
    irVersion: 9,
    producerName: 'onnx-proto',
    opsetImport: [{ domain: '', version: 19 }],
    graph: {
      name: 'g',
      node: [
        { opType: 'MatMul', input: ['x', 'w'], output: ['y'], name: 'mm' },
        { opType: 'Constant', output: ['c'], name: 'const', attribute: [{ name: 'value', type: 4, t: { dataType: 1, dims: [2], floatData: [0.25, 0.5] } }] }
      ],
      initializer: [
        { name: 'w', dataType: 1, dims: [10, 10], rawData: rawW },
        { name: 'b', dataType: 1, dims: [10], floatData: Array.from({ length: 10 }, (_, i) => i) },
        { name: 'd', dataType: 11, dims: [3], doubleData: [1, 2, 3] },
        { name: 'q', dataType: 3, dims: [4], rawData: new Uint8Array([1, 255, 3, 128]) },
        { name: 'e1', dataType: 10, dims: [8, 8], dataLocation: 1, externalData: [{ key: 'location', value: './data/model.onnx_data' }, { key: 'offset', value: '0' }, { key: 'length', value: '128' }] },
        { name: 'e2', dataType: 1, dims: [16], dataLocation: 1, externalData: [{ key: 'location', value: 'data//model.onnx_data' }, { key: 'offset', value: '4096' }] }
      ],
      input: [{ name: 'x' }],
      output: [{ name: 'y' }]
    }
  })
  const bytes = onnx.ModelProto.encode(m).finish()
  const decoded = onnx.ModelProto.decode(bytes)
  const r = countingReadAt(bytes)
  const layout = await detectLayout('model.onnx', bytes.subarray(0, 16), bytes.length, headReader(bytes).read, { read: r.read })
  const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
  const expected: Array<[string, string]> = []
  for (const tp of (decoded.graph?.initializer ?? []) as onnxProto.onnx.TensorProto[]) {
    if (tp.dataLocation === 1) continue
    const data = tp.rawData.length > 0 ? tp.rawData : tp.floatData.length > 0 ? f32le(...tp.floatData) : f64le(...tp.doubleData)
    expected.push([tp.name, hex(data)])
  }
  const c = decoded.graph?.node?.[1].attribute?.[0].t as { floatData: number[] }
  expected.unshift(['c:value', hex(f32le(...c.floatData))])
  t.same((layout.tensors as TensorInfo[]).map(x => [x.name, hex(bytes.subarray(x.start, x.end))]), expected, 'each range holds the bytes protobufjs decodes')
  t.same(table(layout).map(x => x[2]), [[2], [10, 10], [10], [3], [4]], 'packed dims')
  assertTiles(t, layout, bytes.length, 'onnx-proto model')

  const ext = await onnxExternalTensors(countingReadAt(bytes).read, bytes.length)
  t.same([...ext.keys()], ['data/model.onnx_data'], 'locations normalised to one relative path')
  const list = ext.get('data/model.onnx_data') as TensorInfo[]
  t.same(list, [
    { name: 'e1', dtype: 'F16', shape: [8, 8], start: 0, end: 128 },
    { name: 'e2', dtype: 'F32', shape: [16], start: 4096, end: 4160 }
  ], 'length defaults to the tensor size')

  // The data file, laid out from those tensors (twice, as if two models shared it).
  const dataFile = new Uint8Array(4160 + 7)
  const dl = await detectLayout('data/model.onnx_data', new Uint8Array(0), dataFile.length, async () => t.fail('no read') as never, { externalTensors: [...list, ...list] })
  t.equal(dl.format, 'onnx-data')
  t.same(dl.segments, [
    { start: 0, end: 128, kind: 'tensor', name: 'e1', dtype: 'F16', elementSize: 2 },
    { start: 128, end: 4096, kind: 'bytes' },
    { start: 4096, end: 4160, kind: 'tensor', name: 'e2', dtype: 'F32', elementSize: 4 },
    { start: 4160, end: 4167, kind: 'bytes' }
  ])
  t.equal(dl.tensors?.length, 4, 'the table keeps every listed tensor')
  t.throws(() => onnxExternalDataLayout(list, 4100), { code: 'ERR_BAD_FORMAT', message: /4100 bytes but tensor "e2"/ })
  t.throws(() => onnxExternalDataLayout([...list, { name: 'x', dtype: 'F32', shape: [4], start: 100, end: 116 }], 5000), { code: 'ERR_BAD_FORMAT', message: /overlap/ })
  const lead = onnxExternalDataLayout([list[1]], 5000)
  t.equal(lead.segments[0].kind, 'bytes', 'a data file has no header segment')
})

t.test('a model with no graph or no tensors is all header', async t => {
  const bytes = model(undefined)
  const { layout, external } = await parse(bytes)
  t.same(layout, { format: 'onnx', segments: [{ start: 0, end: bytes.length, kind: 'header' }], tensors: [] })
  t.equal(external.size, 0)
})

t.test('malformed models are ERR_BAD_FORMAT with a message naming the problem', async t => {
  const ok = (tp: TP): Uint8Array => model(graph(initializer(tp)))
  let deep = graph(initializer({ name: 'x', dataType: 1, dims: [1], raw: f32le(1) }))
  for (let i = 0; i <= ONNX_LIMITS.graphDepth; i++) deep = graph(node('If', `o${i}`, attrGraph('then_branch', deep)))
  const good = ok({ name: 'w', dataType: 1, dims: [4], raw: f32le(1, 2, 3, 4) })
  await parse(good)
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /no ir_version/],
    ['no ir_version', cat(len(7, graph())), /no ir_version/],
    ['ir_version not a varint', cat(len(1, 'x')), /ir_version is not a varint/],
    ['truncated inside raw_data', good.subarray(0, good.length - 20), /runs past its message/],
    ['group wire type', cat(vint(1, 8), tag(3, 3)), /unsupported wire type 3/],
    ['overlong varint', cat(vint(1, 8), tag(5, 0), new Array(10).fill(0xff), [1]), /longer than 64 bits/],
    ['truncated varint', cat(vint(1, 8), tag(5, 0), [0x80, 0x80]), /truncated varint/],
    ['field number 0', cat(vint(1, 8), [0, 1]), /bad field number/],
    ['length past the end', cat(vint(1, 8), tag(7, 2), varint(1000), [1, 2]), /runs past its message/],
    ['two graphs', cat(vint(1, 8), len(7, graph()), len(7, graph())), /more than one graph/],
    ['raw_data size mismatch', ok({ name: 'w', dataType: 1, dims: [5], raw: f32le(1, 2, 3, 4) }), /needs 20 bytes but its raw_data holds 16/],
    ['unknown data_type', ok({ name: 'w', dataType: 99, dims: [1], raw: f32le(1) }), /unknown data_type 99/],
    ['no data_type', ok({ name: 'w', dims: [1], raw: f32le(1) }), /no data_type/],
    ['negative dim', ok({ name: 'w', dataType: 1, dims: [-1], raw: f32le(1) }), /negative or huge dim/],
    ['float_data on an int tensor', ok({ name: 'w', dataType: 6, dims: [1], floats: f32le(1) }), /INT32|I32 has float_data/],
    ['raw_data on a string tensor', ok({ name: 'w', dataType: 8, dims: [1], raw: new Uint8Array(1) }), /STRING has raw_data/],
    ['two data fields', ok({ name: 'w', dataType: 1, dims: [1], raw: f32le(1), floats: f32le(1) }), /more than one data field/],
    ['raw_data and int64_data', ok({ name: 'w', dataType: 7, dims: [1], raw: new Uint8Array(8), ints64: [1] }), /more than one field/],
    ['EXTERNAL without location', ok({ name: 'w', dataType: 1, dims: [1], location: 1, external: [['offset', '0']] }), /has no location/],
    ['EXTERNAL with raw_data', ok({ name: 'w', dataType: 1, dims: [1], raw: f32le(1), location: 1, external: [['location', 'a']] }), /also holds data/],
    ['external length mismatch', ok({ name: 'w', dataType: 1, dims: [2], location: 1, external: [['location', 'a'], ['length', '4']] }), /needs 8 bytes but its external length is 4/],
    ['bad external offset', ok({ name: 'w', dataType: 1, dims: [1], location: 1, external: [['location', 'a'], ['offset', '12x']] }), /bad external offset "12x"/],
    ['absolute location', ok({ name: 'w', dataType: 1, dims: [1], location: 1, external: [['location', '/etc/passwd']] }), /unsafe external location/],
    ['location escaping the model directory', ok({ name: 'w', dataType: 1, dims: [1], location: 1, external: [['location', 'a/../../b']] }), /unsafe external location/],
    ['drive-letter location', ok({ name: 'w', dataType: 1, dims: [1], location: 1, external: [['location', 'C:\\w.bin']] }), /unsafe external location/],
    ['duplicate external key', ok({ name: 'w', dataType: 1, dims: [1], location: 1, external: [['location', 'a'], ['location', 'b']] }), /"location" appears twice/],
    ['unknown data_location', ok({ name: 'w', dataType: 1, dims: [1], raw: f32le(1), location: 2 }), /unknown data_location 2/],
    ['STRING stored externally', ok({ name: 'w', dataType: 8, dims: [1], location: 1, external: [['location', 'a']] }), /STRING cannot be stored externally/],
    ['graphs nested too deep', model(deep), /nested more than 16 deep/],
    ['invalid UTF-8 name', model(graph(len(5, cat(vint(2, 1), vint(1, 1), len(8, new Uint8Array([0xc3])), len(9, f32le(1)))))), /not valid UTF-8/],
    ['initializer not a message', cat(vint(1, 8), len(7, vint(5, 3))), /initializer is not a message/]
  ]
  for (const [what, bytes, message] of cases) {
    await t.rejects(parse(bytes), { name: 'BadInputError', code: 'ERR_BAD_FORMAT', message }, what)
  }
  await t.rejects(detectLayout('m.onnx', new Uint8Array(0), 0, async () => new Uint8Array(0)), { code: 'ERR_BAD_FORMAT' }, 'an empty .onnx through detectLayout')
})

t.test('reads only metadata: a model with 8 MiB of weights is parsed from a few pages', async t => {
  const big = new Uint8Array(8 << 20)
  const bytes = model(graph(
    initializer({ name: 'a', dataType: 1, dims: [1 << 20], raw: big.subarray(0, 4 << 20) }),
    initializer({ name: 'b', dataType: 1, dims: [1 << 20], raw: big.subarray(4 << 20) })
  ))
  const r = countingReadAt(bytes)
  const { layout } = await parseOnnx(r.read, bytes.length)
  t.same(table(layout), [['a', 'F32', [1 << 20]], ['b', 'F32', [1 << 20]]])
  t.ok(r.stats.bytes < 256 * 1024, `read ${r.stats.bytes} of ${bytes.length} bytes in ${r.stats.calls} calls`)
})
