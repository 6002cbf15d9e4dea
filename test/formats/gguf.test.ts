import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gguf, GGMLQuantizationType } from '@huggingface/gguf'
import t from 'tap'
import type { Test } from 'tap'
import { GgmlType, writeGgufHeader } from '../../src/advisor/quantize/gguf-writer.js'
import { chunkFile, DEFAULT_CHUNK_PARAMS, tensorPieceSize } from '../../src/chunk/chunker.js'
import type { Chunk } from '../../src/chunk/types.js'
import { detectLayout } from '../../src/formats/detect.js'
import { GGML_TYPES, parseGguf } from '../../src/formats/gguf.js'
import type { FileLayout, TensorInfo } from '../../src/formats/types.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { assertTiles, countingReadAt } from './model-helpers.js'

// ---- a hand-written GGUF writer covering every value type ----

const enc = new TextEncoder()

class W {
  private readonly parts: Uint8Array[] = []
  length = 0
  push (b: Uint8Array): this { this.parts.push(b); this.length += b.length; return this }
  private num (n: number, f: (dv: DataView) => void): this { const b = new Uint8Array(n); f(new DataView(b.buffer)); return this.push(b) }
  u8 (v: number): this { return this.num(1, dv => dv.setUint8(0, v)) }
  i8 (v: number): this { return this.num(1, dv => dv.setInt8(0, v)) }
  u16 (v: number): this { return this.num(2, dv => dv.setUint16(0, v, true)) }
  i16 (v: number): this { return this.num(2, dv => dv.setInt16(0, v, true)) }
  u32 (v: number): this { return this.num(4, dv => dv.setUint32(0, v, true)) }
  i32 (v: number): this { return this.num(4, dv => dv.setInt32(0, v, true)) }
  f32 (v: number): this { return this.num(4, dv => dv.setFloat32(0, v, true)) }
  u64 (v: number | bigint): this { return this.num(8, dv => dv.setBigUint64(0, BigInt(v), true)) }
  i64 (v: bigint): this { return this.num(8, dv => dv.setBigInt64(0, v, true)) }
  f64 (v: number): this { return this.num(8, dv => dv.setFloat64(0, v, true)) }
  str (s: string | Uint8Array): this { const b = typeof s === 'string' ? enc.encode(s) : s; return this.u64(b.length).push(b) }
  zeros (n: number): this { return this.push(new Uint8Array(n)) }
  bytes (): Uint8Array {
    const out = new Uint8Array(this.length)
    let o = 0
    for (const p of this.parts) { out.set(p, o); o += p.length }
    return out
  }
}

type KV = [key: string | Uint8Array, write: (w: W) => void]
interface TSpec { name: string, dims: number[], type: number, offset?: number }

const TYPE_IDS = Object.fromEntries(Object.entries(GGML_TYPES).map(([id, info]) => [info.name, Number(id)]))

function tensorBytes (s: TSpec): number {
  const info = GGML_TYPES[s.type]
  return s.dims.reduce((a, b) => a * b, 1) / info.blockElements * info.blockBytes
}

/** A GGUF file: header, then each tensor's data (seeded bytes) at its offset, padded. */
function buildGguf (opts: { version?: number, kv?: KV[], tensors?: TSpec[], alignment?: number, magic?: string, tail?: number, dataBytes?: number }): { bytes: Uint8Array, dataStart: number, offsets: number[] } {
  const alignment = opts.alignment ?? 32
  const w = new W()
  w.push(enc.encode(opts.magic ?? 'GGUF')).u32(opts.version ?? 3)
  const tensors = opts.tensors ?? []
  const kv = opts.kv ?? []
  w.u64(tensors.length).u64(kv.length)
  for (const [key, write] of kv) { w.str(key); write(w) }
  const offsets: number[] = []
  let next = 0
  for (const s of tensors) {
    const off = s.offset ?? next
    offsets.push(off)
    next = opts.dataBytes !== undefined ? 0 : Math.max(next, off + tensorBytes(s))
    next += (alignment - (next % alignment)) % alignment
    w.str(s.name).u32(s.dims.length)
    for (const d of s.dims) w.u64(d)
    w.u32(s.type).u64(off)
  }
  w.zeros((alignment - (w.length % alignment)) % alignment)
  const dataStart = w.length
  const data = new Uint8Array(opts.dataBytes ?? next + (opts.tail ?? 0))
  let seed = 1
  for (let i = 0; i < data.length; i++) { seed = (seed * 1103515245 + 12345) >>> 0; data[i] = seed >>> 24 }
  w.push(data)
  return { bytes: w.bytes(), dataStart, offsets }
}

const parse = async (bytes: Uint8Array): Promise<FileLayout> => await parseGguf(countingReadAt(bytes).read, bytes.length)

async function hfParse (t: Test, bytes: Uint8Array): Promise<Awaited<ReturnType<typeof gguf>>> {
  const dir = await mkdtemp(join(tmpdir(), 'tenpak-gguf-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'model.gguf')
  await writeFile(path, bytes)
  return await gguf(path, { allowLocalFile: true })
}

/** Our table against @huggingface/gguf's: names, ggml type names, shapes (reversed), absolute ranges. */
function crossCheck (t: Test, layout: FileLayout, hf: Awaited<ReturnType<typeof gguf>>): void {
  const dataStart = Number(hf.tensorDataOffset)
  const expected = hf.tensorInfos.map(i => {
    const name = GGMLQuantizationType[i.dtype]
    const info = GGML_TYPES[i.dtype]
    const elements = i.shape.reduce((a, b) => a * Number(b), 1)
    const start = dataStart + Number(i.offset)
    return [i.name, name, i.shape.map(Number).reverse(), start, start + elements / info.blockElements * info.blockBytes]
  }).sort((a, b) => (a[3] as number) - (b[3] as number))
  t.same((layout.tensors as TensorInfo[]).map(x => [x.name, x.dtype, x.shape, x.start, x.end]), expected, 'tensor table matches @huggingface/gguf')
}

t.test('a GGUF from the advisor\'s writer: table and metadata cross-checked with @huggingface/gguf', async t => {
  const tensors = [
    { name: 'token_embd.weight', dims: [64, 10], type: GgmlType.Q8_0 },
    { name: 'blk.0.attn_q.weight', dims: [64, 64], type: GgmlType.Q4_0 },
    { name: 'blk.0.attn_norm.weight', dims: [64], type: GgmlType.F32 },
    { name: 'blk.0.ffn.bias', dims: [7], type: GgmlType.F16 },
    { name: 'blk.0.bf', dims: [3, 5], type: GgmlType.BF16 },
    { name: 'ids', dims: [9], type: GgmlType.I8 },
    { name: 'empty', dims: [0, 4], type: GgmlType.F32 }
  ]
  const h = writeGgufHeader({
    metadata: [['general.architecture', { type: 'string', value: 'llama' }], ['general.name', { type: 'string', value: 'tiny' }],
      ['llama.block_count', { type: 'u32', value: 1 }], ['tokenizer.ggml.tokens', { type: 'string[]', value: ['<s>', 'a', 'b'] }]],
    tensors
  })
  const file = new Uint8Array(h.totalBytes)
  file.set(h.header)
  for (let i = h.header.length; i < file.length; i++) file[i] = (i * 31) & 0xff
  const r = countingReadAt(file)
  const layout = await detectLayout('tiny.gguf', new Uint8Array(0), file.length, headReader(file).read, { read: r.read })
  t.equal(layout.format, 'gguf')
  crossCheck(t, layout, await hfParse(t, file))
  t.same(layout.metadata, { 'general.architecture': 'llama', 'general.name': 'tiny', 'llama.block_count': '1', 'general.alignment': '32' }, 'scalar metadata kept, arrays left out')
  assertTiles(t, layout, file.length, 'advisor gguf')
  t.equal(layout.segments[0].kind, 'header')
  t.equal(layout.segments[0].end, h.header.length, 'the header ends where the data section starts')
  const q4 = layout.segments.find(s => s.name === 'blk.0.attn_q.weight')
  t.same([q4?.dtype, q4?.elementSize, q4?.blockElements], ['Q4_0', 18, 32])
  const f32 = layout.segments.find(s => s.name === 'blk.0.attn_norm.weight')
  t.same([f32?.dtype, f32?.elementSize, f32?.blockElements], ['F32', 4, undefined])
  t.notOk(layout.segments.some(s => s.name === 'empty'), 'a zero-length tensor has no segment')
  t.ok((layout.tensors as TensorInfo[]).some(x => x.name === 'empty' && x.start === x.end), 'but is in the table')
})

t.test('every metadata value type, v2 and v3, custom alignment, many ggml types: matches @huggingface/gguf', async t => {
  const kv: KV[] = [
    ['general.alignment', w => w.u32(4).u32(64)],
    ['u8', w => w.u32(0).u8(200)], ['i8', w => w.u32(1).i8(-5)], ['u16', w => w.u32(2).u16(65000)], ['i16', w => w.u32(3).i16(-300)],
    ['u32', w => w.u32(4).u32(4e9)], ['i32', w => w.u32(5).i32(-7)], ['f32', w => w.u32(6).f32(0.5)], ['bool', w => w.u32(7).u8(1)],
    ['str', w => w.u32(8).str('héllo')], ['u64', w => w.u32(10).u64(2n ** 60n)], ['i64', w => w.u32(11).i64(-(2n ** 40n))], ['f64', w => w.u32(12).f64(1.25)],
    ['long', w => w.u32(8).str('x'.repeat(5000))],
    ['arr.u8', w => w.u32(9).u32(0).u64(3).u8(1).u8(2).u8(3)],
    ['arr.bool', w => w.u32(9).u32(7).u64(2).u8(0).u8(1)],
    ['arr.str', w => w.u32(9).u32(8).u64(2).str('a').str('bc')],
    ['arr.nested', w => w.u32(9).u32(9).u64(2).u32(5).u64(1).i32(-1).u32(8).u64(1).str('z')]
  ]
  const names = ['Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'Q8_K', 'IQ2_XXS', 'IQ2_XS', 'IQ3_XXS', 'IQ1_S', 'IQ4_NL', 'IQ3_S', 'IQ2_S', 'IQ4_XS', 'I16', 'I32', 'I64', 'F64', 'IQ1_M', 'TQ1_0', 'TQ2_0', 'MXFP4']
  const tensors: TSpec[] = names.map((n, i) => ({ name: `t${i}.${n}`, dims: [GGML_TYPES[TYPE_IDS[n]].blockElements * 2, 3], type: TYPE_IDS[n] }))
  for (const version of [2, 3]) {
    const { bytes, dataStart } = buildGguf({ version, kv, tensors, alignment: 64, tail: 10 })
    const layout = await parse(bytes)
    const hf = await hfParse(t, bytes)
    t.equal(Number(hf.tensorDataOffset), dataStart)
    crossCheck(t, layout, hf)
    assertTiles(t, layout, bytes.length, `v${version}`)
    t.equal(layout.segments.at(-1)?.kind, 'bytes', 'bytes after the last tensor')
    t.same(layout.metadata, {
      'general.alignment': '64', u8: '200', i8: '-5', u16: '65000', i16: '-300', u32: '4000000000', i32: '-7', f32: '0.5', bool: 'true', str: 'héllo', u64: String(2n ** 60n), i64: String(-(2n ** 40n)), f64: '1.25'
    }, `v${version} metadata`)
    const meta = hf.metadata as unknown as Record<string, unknown>
    t.same([meta.u8, meta.i16, meta.str, meta.f64], [200, -300, 'héllo', 1.25], 'the reference reads the same values')
    for (const s of layout.segments.filter(s => s.kind === 'tensor')) {
      const info = GGML_TYPES[TYPE_IDS[s.dtype as string]]
      if (s.elementSize !== info.blockBytes || (s.blockElements ?? 1) !== info.blockElements) t.fail(`segment ${s.name}`)
    }
  }
})

t.test('block-quantised tensors are cut into pieces of whole blocks holding tensorPiece / 2 elements', async t => {
  t.equal(tensorPieceSize(DEFAULT_CHUNK_PARAMS.tensorPiece, 18, 32), 4096 * 18, 'Q4_0: 4096 blocks of 32 = 131072 elements, 73,728 bytes')
  t.equal(tensorPieceSize(DEFAULT_CHUNK_PARAMS.tensorPiece, 210, 256), 512 * 210, 'Q6_K: 512 blocks = 107,520 bytes')
  t.equal(tensorPieceSize(DEFAULT_CHUNK_PARAMS.tensorPiece, 4), 131072 * 4, 'F32 unchanged')
  t.equal(tensorPieceSize(64, 210, 256), 210, 'at least one block')
  const { bytes } = buildGguf({
    tensors: [
      { name: 'q4', dims: [4096, 100], type: TYPE_IDS.Q4_0 },
      { name: 'q6', dims: [1024, 300], type: TYPE_IDS.Q6_K },
      { name: 'f', dims: [300000], type: TYPE_IDS.F16 }
    ]
  })
  const layout = await parse(bytes)
  const chunks: Chunk[] = []
  for await (const c of chunkFile(bytesSource(bytes, 100_000), layout)) chunks.push(c)
  const starts = new Map((layout.tensors as TensorInfo[]).map(x => [x.name, x]))
  for (const [name, piece] of [['q4', 73728], ['q6', 107520], ['f', 262144]] as const) {
    const cs = chunks.filter(c => c.hint.tensor === name)
    const tensor = starts.get(name) as TensorInfo
    t.ok(cs.every((c, i) => c.offset === tensor.start + i * piece && (c.bytes.length === piece || i === cs.length - 1)), `${name}: pieces of ${piece} bytes from the tensor start`)
    t.equal(cs.reduce((n, c) => n + c.bytes.length, 0), tensor.end - tensor.start)
  }
  t.ok(chunks.every(c => c.bytes.length <= 1 << 20), 'no piece over 1 MiB')
})

t.test('a tensor-less (vocab-only) GGUF may end before the data section padding', async t => {
  const w = new W()
  w.push(enc.encode('GGUF')).u32(3).u64(0).u64(1).str('general.name').u32(8).str('v')
  const bytes = w.bytes()
  t.not(bytes.length % 32, 0)
  const layout = await parse(bytes)
  t.same(layout.segments, [{ start: 0, end: bytes.length, kind: 'header' }])
  t.same(layout.tensors, [])
})

t.test('gaps between tensors are bytes segments; tensors are sorted by offset', async t => {
  const { bytes, dataStart } = buildGguf({ tensors: [{ name: 'b', dims: [8], type: 0, offset: 128 }, { name: 'a', dims: [8], type: 0, offset: 0 }] })
  const layout = await parse(bytes)
  t.same((layout.tensors as TensorInfo[]).map(x => [x.name, x.start - dataStart]), [['a', 0], ['b', 128]])
  t.same(layout.segments.map(s => [s.kind, s.start - dataStart]), [['header', -dataStart], ['tensor', 0], ['bytes', 32], ['tensor', 128]])
})

t.test('malformed GGUF headers are ERR_BAD_FORMAT with a message naming the problem', async t => {
  const tensor: TSpec = { name: 'w', dims: [32, 2], type: TYPE_IDS.Q8_0 }
  const good = buildGguf({ kv: [['general.name', w => w.u32(8).str('m')]], tensors: [tensor] }).bytes
  await parse(good)
  const be = good.slice()
  new DataView(be.buffer).setUint32(4, 3, false)
  const hugeTensors = new W().push(enc.encode('GGUF')).u32(3).u64(2n ** 40n).u64(0).zeros(64).bytes()
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /too short/],
    ['bad magic', buildGguf({ magic: 'GGML', tensors: [tensor] }).bytes, /bad magic/],
    ['version 1', buildGguf({ version: 1 }).bytes, /version 1 is not supported/],
    ['big-endian', be, /big-endian/],
    ['unknown version', buildGguf({ version: 7 }).bytes, /unsupported GGUF version 7/],
    ['truncated in the tensor infos', good.subarray(0, 60), /truncated/],
    ['truncated tensor data', good.subarray(0, good.length - 40), /truncated: tensor "w" ends at/],
    ['huge tensor count', hugeTensors, /tensor count 1099511627776 exceeds the limit/],
    ['tensor count larger than the file', new W().push(enc.encode('GGUF')).u32(3).u64(1000).u64(0).zeros(64).bytes(), /cannot fit/],
    ['huge kv count', new W().push(enc.encode('GGUF')).u32(3).u64(0).u64(1_000_000).zeros(64).bytes(), /cannot fit/],
    ['huge string length', buildGguf({ kv: [['k', w => w.u32(8).u64(2n ** 62n)]] }).bytes, /length 4611686018427387904 exceeds the limit/],
    ['string past the end', buildGguf({ kv: [['k', w => w.u32(8).u64(1000)]] }).bytes, /truncated/],
    ['huge array', buildGguf({ kv: [['k', w => w.u32(9).u32(8).u64(2n ** 50n)]] }).bytes, /array length .* exceeds the limit/],
    ['unknown value type', buildGguf({ kv: [['k', w => w.u32(13).u32(0)]] }).bytes, /unknown value type 13/],
    ['unknown array type', buildGguf({ kv: [['k', w => w.u32(9).u32(42).u64(0)]] }).bytes, /unknown array element type 42/],
    ['arrays nested too deep', buildGguf({ kv: [['k', w => { w.u32(9); for (let i = 0; i < 5; i++) w.u32(9).u64(1); w.u32(0).u64(0) }]] }).bytes, /nests arrays/],
    ['bool not 0/1', buildGguf({ kv: [['k', w => w.u32(7).u8(2)]] }).bytes, /bool of value 2/],
    ['duplicate key', buildGguf({ kv: [['k', w => w.u32(0).u8(1)], ['k', w => w.u32(0).u8(1)]] }).bytes, /"k" appears twice/],
    ['invalid UTF-8 key', buildGguf({ kv: [[new Uint8Array([0x6b, 0xff]), w => w.u32(0).u8(1)]] }).bytes, /not valid UTF-8/],
    ['alignment of the wrong type', buildGguf({ kv: [['general.alignment', w => w.u32(10).u64(32)]] }).bytes, /not UINT32/],
    ['alignment not a power of two', buildGguf({ kv: [['general.alignment', w => w.u32(4).u32(24)]] }).bytes, /not a power of two/],
    ['alignment zero', buildGguf({ kv: [['general.alignment', w => w.u32(4).u32(0)]] }).bytes, /not a power of two/],
    ['duplicate tensor name', buildGguf({ tensors: [tensor, tensor] }).bytes, /"w" appears twice/],
    ['too many dims', buildGguf({ tensors: [{ name: 'w', dims: [1, 1, 1, 1, 1], type: 0 }] }).bytes, /5 dimensions/],
    ['unknown ggml type', buildGguf({ tensors: [{ name: 'w', dims: [4], type: 4 }], dataBytes: 64 }).bytes, /unknown ggml type 4/],
    ['ne0 not a multiple of the block', buildGguf({ tensors: [{ name: 'w', dims: [33, 1], type: TYPE_IDS.Q8_0 }], dataBytes: 64 }).bytes, /not a multiple of its block size 32/],
    ['misaligned offset', buildGguf({ tensors: [{ name: 'w', dims: [8], type: 0, offset: 4 }] }).bytes, /not a multiple of the alignment 32/],
    ['overlapping tensors', buildGguf({ tensors: [{ name: 'a', dims: [16], type: 0, offset: 0 }, { name: 'b', dims: [16], type: 0, offset: 32 }] }).bytes, /"a" and "b" overlap/],
    ['shared tensor bytes', buildGguf({ tensors: [{ name: 'a', dims: [8], type: 0, offset: 0 }, { name: 'b', dims: [8], type: 0, offset: 0 }] }).bytes, /"a" and "b" overlap/],
    ['huge dim', buildGguf({ tensors: [{ name: 'w', dims: [2 ** 53 + 2], type: 0 }], dataBytes: 64 }).bytes, /dimension 0 is 9007199254740994, too large/],
    ['shape too large to address', buildGguf({ tensors: [{ name: 'w', dims: [2 ** 30, 2 ** 30, 2 ** 30], type: 0 }], dataBytes: 64 }).bytes, /too large to address/],
    ['tensor past the end', buildGguf({ tensors: [{ name: 'w', dims: [2 ** 20], type: 0 }], dataBytes: 64 }).bytes, /truncated: tensor "w" ends at/]
  ]
  for (const [what, bytes, message] of cases) {
    await t.rejects(parse(bytes), { name: 'BadInputError', code: 'ERR_BAD_FORMAT', message }, what)
  }
  await t.rejects(detectLayout('m.gguf', new Uint8Array(0), 0, async () => new Uint8Array(0)), { code: 'ERR_BAD_FORMAT' }, 'an empty .gguf through detectLayout')
})
