import { existsSync, readFileSync } from 'node:fs'
import t from 'tap'
import { castSafetensorsToBf16, f32BitsToBf16, parseSafetensorsHeader } from '../helpers/bf16.js'

const PEFT = new URL('../../../shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors', import.meta.url)

const bitsOf = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0]

/** Round to nearest, ties to even, written as the definition (not the +0x7fff trick). */
function referenceBf16 (bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return 'nan' as unknown as number
  const lo = bits >>> 16
  const rem = bits & 0xffff
  if (rem > 0x8000) return (lo + 1) & 0xffff
  if (rem < 0x8000) return lo
  return (lo & 1) === 0 ? lo : (lo + 1) & 0xffff
}

const isBf16NaN = (h: number): boolean => (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0

/** Write a safetensors buffer from named typed arrays (as the reference writer lays it out). */
function writeSafetensors (tensors: Array<[string, string, number[], Uint8Array]>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {}
  if (metadata != null) header.__metadata__ = metadata
  let off = 0
  for (const [name, dtype, shape, data] of tensors) {
    header[name] = { dtype, shape, data_offsets: [off, off + data.length] }
    off += data.length
  }
  let json = JSON.stringify(header)
  json += ' '.repeat((8 - (json.length % 8)) % 8)
  const out = new Uint8Array(8 + json.length + off)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(new TextEncoder().encode(json), 8)
  let p = 8 + json.length
  for (const [, , , data] of tensors) { out.set(data, p); p += data.length }
  return out
}

t.test('rounds f32 to bf16 to nearest, ties to even, keeping NaN, ±Inf and -0', async t => {
  const cases: Array<[string, number, number]> = [
    ['1.0', bitsOf(1), 0x3f80],
    ['-2.5', bitsOf(-2.5), 0xc020],
    ['+0', bitsOf(0), 0x0000],
    ['-0', bitsOf(-0), 0x8000],
    ['+Inf', bitsOf(Infinity), 0x7f80],
    ['-Inf', bitsOf(-Infinity), 0xff80],
    ['tie 1+2^-8 goes down to even', bitsOf(1 + 2 ** -8), 0x3f80],
    ['tie 1+3·2^-8 goes up to even', bitsOf(1 + 3 * 2 ** -8), 0x3f82],
    ['just above the tie rounds up', bitsOf(1 + 2 ** -8 + 2 ** -20), 0x3f81],
    ['f32 max overflows to +Inf', bitsOf(3.4028234663852886e38), 0x7f80],
    ['-f32 max overflows to -Inf', bitsOf(-3.4028234663852886e38), 0xff80],
    ['smallest subnormal rounds to +0', 0x00000001, 0x0000],
    ['largest bf16 below Inf stays', 0x7f7f0000, 0x7f7f],
    ['pi', bitsOf(Math.PI), 0x4049]
  ]
  for (const [label, bits, expected] of cases) {
    t.equal(f32BitsToBf16(bits), expected, label)
    t.equal(referenceBf16(bits), expected, `${label} (reference)`)
  }
  for (const nan of [0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0xff800001]) {
    const h = f32BitsToBf16(nan)
    t.ok(isBf16NaN(h), `NaN 0x${nan.toString(16)} stays NaN`)
    t.equal(h & 0x8000, (nan >>> 16) & 0x8000, 'NaN keeps its sign')
  }
  // Many random patterns against the definition.
  for (let i = 0; i < 100_000; i++) {
    const bits = (Math.random() * 2 ** 32) >>> 0
    const want = referenceBf16(bits)
    const got = f32BitsToBf16(bits)
    if (typeof want === 'string' ? !isBf16NaN(got) : got !== want) {
      t.fail(`0x${bits.toString(16)}: got 0x${got.toString(16)}, want ${String(want)}`)
      break
    }
  }
})

t.test('casts F32 tensors to a valid BF16 safetensors file', async t => {
  const values = [1, -0, NaN, Infinity, -Infinity, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4028234663852886e38]
  const f32 = new Uint8Array(Float32Array.from(values).buffer)
  const ids = new Uint8Array(BigInt64Array.of(7n, -1n).buffer)
  const last = new Uint8Array(Float32Array.of(-2.5).buffer)
  const src = writeSafetensors([['a.weight', 'F32', [2, 4], f32], ['ids', 'I64', [2], ids], ['z', 'F32', [1], last]], { format: 'pt' })
  const out = castSafetensorsToBf16(src)

  const h = parseSafetensorsHeader(out)
  t.equal(h.headerLength % 8, 0, 'header padded to 8 bytes')
  t.same(h.json.__metadata__, { format: 'pt' })
  t.same(h.tensors.map(x => [x.name, x.dtype, x.shape, x.data_offsets]), [
    ['a.weight', 'BF16', [2, 4], [0, 16]],
    ['ids', 'I64', [2], [16, 32]],
    ['z', 'BF16', [1], [32, 34]]
  ])
  t.equal(out.length, h.dataStart + 34, 'no bytes after the last tensor')
  const view = new DataView(out.buffer, out.byteOffset + h.dataStart)
  const got = values.map((_, i) => view.getUint16(2 * i, true))
  t.same(got, [0x3f80, 0x8000, 0x7fc0, 0x7f80, 0xff80, 0x3f80, 0x3f82, 0x7f80])
  t.same(out.subarray(h.dataStart + 16, h.dataStart + 32), ids, 'non-F32 tensors copied unchanged')
  t.equal(view.getUint16(32, true), 0xc020)
})

t.test('casts a real peft checkpoint', { skip: existsSync(PEFT) ? false : 'corpus not present' }, async t => {
  const src = new Uint8Array(readFileSync(PEFT))
  const before = parseSafetensorsHeader(src)
  const out = castSafetensorsToBf16(src)
  const after = parseSafetensorsHeader(out)
  t.equal(after.tensors.length, 148)
  t.ok(after.tensors.every(x => x.dtype === 'BF16'))
  const dataBefore = src.length - before.dataStart
  t.equal(out.length - after.dataStart, dataBefore / 2, 'data section halves')
  const inV = new DataView(src.buffer, src.byteOffset + before.dataStart)
  const outV = new DataView(out.buffer, out.byteOffset + after.dataStart)
  for (let i = 0; i < dataBefore / 4; i += 997) {
    t.equal(outV.getUint16(2 * i, true), referenceBf16(inV.getUint32(4 * i, true)), `element ${i}`)
  }
})
