import t from 'tap'
import { readdirSync } from 'node:fs'
import {
  parseSafetensors,
  safetensorsElementSize,
  safetensorsHeaderLength,
  SAFETENSORS_MAX_HEADER
} from '../../src/formats/safetensors.js'
import type { FileLayout } from '../../src/formats/types.js'
import { corpusPath, readCorpus } from '../helpers/corpus.js'

const FIXTURES = 'models/safetensors-format-fixtures'
const PEFT = 'models/peft-finegates-roberta-mrpc-checkpoints'

/** Parse a whole in-memory safetensors file the way the add path does. */
function parseFile (file: Uint8Array, fileSize = file.length): FileLayout {
  const n = safetensorsHeaderLength(file.subarray(0, 8), fileSize)
  return parseSafetensors(file.subarray(8, 8 + n), fileSize)
}

/** A safetensors file with `header` (object or raw JSON text) and `dataLen` data bytes. */
function makeFile (header: unknown, dataLen: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + dataLen)
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
  out.set(json, 8)
  return out
}

function lengthPrefix (n: bigint): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, n, true)
  return b
}

type Asserts = Pick<typeof t, 'equal' | 'ok'>

function assertTiles (t: Asserts, layout: FileLayout, size: number): void {
  let pos = 0
  let ok = true
  for (const s of layout.segments) {
    if (s.start !== pos || s.end <= s.start) ok = false
    pos = s.end
  }
  t.ok(ok, 'segments are contiguous and non-empty')
  t.equal(pos, size, 'segments cover the file')
}

t.test('parses every dtype fixture of the safetensors project', async t => {
  const files = readdirSync(corpusPath(FIXTURES)).filter(f => f.endsWith('.safetensors'))
  t.equal(files.length, 10)
  for (const f of files) {
    const bytes = readCorpus(`${FIXTURES}/${f}`)
    const layout = parseFile(bytes)
    t.equal(layout.format, 'safetensors', f)
    t.same(layout.metadata, { test: 'a' }, f)
    assertTiles(t, layout, bytes.length)
    t.equal(layout.segments[0].kind, 'header')
    const n = safetensorsHeaderLength(bytes, bytes.length)
    t.equal(layout.segments[0].end, 8 + n, 'the header segment is the length prefix plus the JSON')
    for (const tensor of layout.tensors ?? []) {
      t.same(tensor.shape, [6])
      t.equal(tensor.end - tensor.start, 6 * safetensorsElementSize(tensor.dtype), `${f}: ${tensor.name} byte length`)
    }
    const tensorSegs = layout.segments.filter(s => s.kind === 'tensor')
    t.equal(tensorSegs.length, layout.tensors?.length)
    for (const s of tensorSegs) t.equal(s.elementSize, safetensorsElementSize(s.dtype ?? ''))
  }
  const overall = parseFile(readCorpus(`${FIXTURES}/overall.safetensors`))
  t.same(overall.tensors?.map(x => x.name), ['B', 'H', 'I', 'b', 'd', 'e', 'f', 'h', 'i'])
  t.same(overall.tensors?.map(x => x.dtype), ['U8', 'U16', 'U32', 'I8', 'F64', 'F16', 'F32', 'I16', 'I32'])
})

t.test('parses the peft checkpoints: 148 F32 tensors at absolute offsets, same layout in each', async t => {
  const files = readdirSync(corpusPath(PEFT)).filter(f => f.endsWith('.safetensors')).sort()
  t.equal(files.length, 10)
  let first: FileLayout | undefined
  for (const f of files) {
    const bytes = readCorpus(`${PEFT}/${f}`)
    const layout = parseFile(bytes)
    t.equal(layout.tensors?.length, 148, f)
    t.equal(layout.segments.length, 149, 'header + one segment per tensor')
    t.same(layout.metadata, { format: 'pt' })
    assertTiles(t, layout, bytes.length)
    const dataStart = layout.segments[0].end
    t.equal(layout.tensors?.[0].start, dataStart, 'offsets are absolute')
    t.ok(layout.tensors?.every(x => x.dtype === 'F32'))
    t.ok(layout.segments.slice(1).every(s => s.elementSize === 4 && s.kind === 'tensor'))
    // 768x768 F32 = 2,359,296 bytes: classifier.dense.weight
    const w = layout.tensors?.find(x => x.name === 'base_model.model.classifier.dense.weight')
    t.same(w?.shape, [768, 768])
    t.equal((w?.end ?? 0) - (w?.start ?? 0), 768 * 768 * 4)
    if (first === undefined) first = layout
    else t.same(layout, first, `${f} has the same layout as the first checkpoint`)
  }
})

t.test('sorts tensors by offset, whatever the JSON key order', async t => {
  const file = makeFile({
    z: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    a: { dtype: 'BF16', shape: [2, 3], data_offsets: [8, 20] }
  }, 20)
  const layout = parseFile(file)
  t.same(layout.tensors?.map(x => x.name), ['z', 'a'])
  const file2 = makeFile({
    a: { dtype: 'BF16', shape: [2, 3], data_offsets: [8, 20] },
    z: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }
  }, 20)
  const layout2 = parseFile(file2)
  t.same(layout2.tensors?.map(x => x.name), ['z', 'a'])
  t.same(layout2.segments.map(s => [s.kind, s.name, s.elementSize]), [['header', undefined, undefined], ['tensor', 'z', 4], ['tensor', 'a', 2]])
  t.equal(layout2.metadata, undefined, 'no __metadata__, no metadata')
})

t.test('a zero-length tensor is listed but gets no segment', async t => {
  const layout = parseFile(makeFile({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    empty: { dtype: 'F16', shape: [0, 5], data_offsets: [8, 8] },
    b: { dtype: 'I64', shape: [1], data_offsets: [8, 16] }
  }, 16))
  t.same(layout.tensors?.map(x => x.name), ['a', 'empty', 'b'])
  t.same(layout.segments.map(s => s.name ?? s.kind), ['header', 'a', 'b'])
})

t.test('a file with no tensors is one header segment', async t => {
  const file = makeFile({ __metadata__: { k: 'v' } }, 0)
  const layout = parseFile(file)
  t.same(layout.segments, [{ start: 0, end: file.length, kind: 'header' }])
  t.same(layout.tensors, [])
})

t.test('sub-byte dtypes must fill whole bytes and get byte-aligned pieces', async t => {
  const ok = parseFile(makeFile({ q: { dtype: 'F4', shape: [4], data_offsets: [0, 2] } }, 2))
  t.equal(ok.segments[1].elementSize, 1)
  t.throws(() => parseFile(makeFile({ q: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2)), { code: 'ERR_BAD_SAFETENSORS' })
})

t.test('header padded with trailing spaces is accepted', async t => {
  const json = JSON.stringify({ a: { dtype: 'U8', shape: [3], data_offsets: [0, 3] } }) + '     '
  t.equal(parseFile(makeFile(json, 3)).tensors?.length, 1)
})

t.test('refuses a truncated file', async t => {
  const bytes = readCorpus(`${PEFT}/checkpoint-0230.adapter_model.safetensors`)
  t.throws(() => parseFile(bytes.subarray(0, bytes.length - 1000), bytes.length - 1000), {
    code: 'ERR_BAD_SAFETENSORS',
    message: /truncated/
  })
})

t.test('refuses a header length larger than the file', async t => {
  t.throws(() => safetensorsHeaderLength(lengthPrefix(123456n), 1000), {
    code: 'ERR_BAD_SAFETENSORS',
    message: 'safetensors header length 123456 is larger than the file (1000 bytes)'
  })
  t.throws(() => parseSafetensors(new Uint8Array(2000), 1000), { code: 'ERR_BAD_SAFETENSORS' })
})

t.test('refuses a header over the cap', async t => {
  t.throws(() => safetensorsHeaderLength(lengthPrefix(BigInt(SAFETENSORS_MAX_HEADER) + 1n), 2 ** 40), {
    code: 'ERR_BAD_SAFETENSORS',
    message: /cap/
  })
  t.throws(() => safetensorsHeaderLength(lengthPrefix(2n ** 64n - 1n), 2 ** 40), { code: 'ERR_BAD_SAFETENSORS' })
  t.equal(safetensorsHeaderLength(lengthPrefix(BigInt(SAFETENSORS_MAX_HEADER)), 2 ** 40), SAFETENSORS_MAX_HEADER, 'the cap itself is allowed')
})

t.test('refuses a zero header length and a file shorter than 8 bytes', async t => {
  t.throws(() => safetensorsHeaderLength(lengthPrefix(0n), 100), { code: 'ERR_BAD_SAFETENSORS', message: /is 0/ })
  t.throws(() => safetensorsHeaderLength(new Uint8Array(5), 5), { code: 'ERR_BAD_SAFETENSORS', message: /too short/ })
})

t.test('refuses overlapping offsets', async t => {
  t.throws(() => parseFile(makeFile({
    a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
    b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] }
  }, 24)), { code: 'ERR_BAD_SAFETENSORS', message: /overlap/ })
})

t.test('refuses a gap between offsets', async t => {
  t.throws(() => parseFile(makeFile({
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [12, 20] }
  }, 20)), { code: 'ERR_BAD_SAFETENSORS', message: /gap of 4 bytes/ })
  t.throws(() => parseFile(makeFile({ a: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12)),
    { code: 'ERR_BAD_SAFETENSORS', message: /gap/ }, 'data must start at offset 0')
})

t.test('refuses trailing bytes after the last tensor', async t => {
  t.throws(() => parseFile(makeFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 10)),
    { code: 'ERR_BAD_SAFETENSORS', message: /2 trailing bytes/ })
})

t.test('refuses a shape that does not match the byte length', async t => {
  t.throws(() => parseFile(makeFile({ a: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 20] } }, 20)), {
    code: 'ERR_BAD_SAFETENSORS',
    message: /needs 24 bytes but data_offsets span 20/
  })
})

t.test('refuses an unknown dtype', async t => {
  t.throws(() => parseFile(makeFile({ a: { dtype: 'F17', shape: [1], data_offsets: [0, 4] } }, 4)), {
    code: 'ERR_BAD_SAFETENSORS',
    message: /unknown dtype "F17"/
  })
  t.throws(() => safetensorsElementSize('toString'), { code: 'ERR_BAD_SAFETENSORS' }, 'no prototype keys')
})

t.test('refuses invalid JSON', async t => {
  t.throws(() => parseFile(makeFile('{"a": {"dtype": "F32",', 0)), { code: 'ERR_BAD_SAFETENSORS', message: /not valid JSON/ })
  t.throws(() => parseFile(makeFile('[1, 2]', 0)), { code: 'ERR_BAD_SAFETENSORS', message: /start with/ })
  t.throws(() => parseFile(makeFile('{"a": 1}', 0)), { code: 'ERR_BAD_SAFETENSORS', message: /not a JSON object/ })
  const badUtf8 = makeFile('{"a":"xx"}', 0)
  badUtf8[14] = 0xff
  t.throws(() => parseFile(badUtf8), { code: 'ERR_BAD_SAFETENSORS', message: /UTF-8/ })
})

t.test('refuses malformed tensor entries and metadata', async t => {
  const cases: Array<[string, unknown]> = [
    ['negative dim', { a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }],
    ['fractional dim', { a: { dtype: 'U8', shape: [1.5], data_offsets: [0, 1] } }],
    ['string dim', { a: { dtype: 'U8', shape: ['2'], data_offsets: [0, 2] } }],
    ['no shape', { a: { dtype: 'U8', data_offsets: [0, 2] } }],
    ['no dtype', { a: { shape: [2], data_offsets: [0, 2] } }],
    ['three offsets', { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2, 4] } }],
    ['end before begin', { a: { dtype: 'U8', shape: [0], data_offsets: [2, 0] } }],
    ['huge shape', { a: { dtype: 'U8', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 2] } }],
    ['numeric metadata', { __metadata__: { n: 1 } }],
    ['array metadata', { __metadata__: ['x'] }]
  ]
  for (const [what, header] of cases) {
    t.throws(() => parseFile(makeFile(header, 2)), { code: 'ERR_BAD_SAFETENSORS' }, what)
  }
})
