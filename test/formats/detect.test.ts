import t from 'tap'
import { detectLayout, formatForName } from '../../src/formats/detect.js'
import { parseSafetensors, safetensorsHeaderLength } from '../../src/formats/safetensors.js'
import { headReader } from '../helpers/byte-source.js'
import { readCorpus } from '../helpers/corpus.js'

const enc = new TextEncoder()

t.test('safetensors: reads only the header, through readHead, and parses strictly', async t => {
  const file = readCorpus('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0460.adapter_model.safetensors')
  const r = headReader(file)
  const layout = await detectLayout('adapter/adapter_model.safetensors', file.subarray(0, 16), file.length, r.read)
  const n = safetensorsHeaderLength(file, file.length)
  t.same(r.calls, [8 + n], 'one read of exactly the header')
  t.same(layout, parseSafetensors(file.subarray(8, 8 + n), file.length))
  t.equal(layout.tensors?.length, 148)

  const r2 = headReader(file)
  await detectLayout('x.safetensors', new Uint8Array(0), file.length, r2.read)
  t.same(r2.calls, [8, 8 + n], 'an empty head costs one more small read')

  const small = readCorpus('models/safetensors-format-fixtures/overall.safetensors')
  const r3 = headReader(small)
  const l3 = await detectLayout('overall.SafeTensors', small, small.length, r3.read)
  t.same(r3.calls, [], 'a head holding the whole header needs no read')
  t.equal(l3.tensors?.length, 9)
})

t.test('safetensors: errors propagate, also for an empty or shrunken file', async t => {
  const file = readCorpus('models/safetensors-format-fixtures/f.safetensors')
  const cut = file.slice(0, file.length - 4)
  await t.rejects(detectLayout('f.safetensors', cut, cut.length, headReader(cut).read), { code: 'ERR_BAD_SAFETENSORS' })
  await t.rejects(detectLayout('f.safetensors', new Uint8Array(0), 0, headReader(new Uint8Array(0)).read), { code: 'ERR_BAD_SAFETENSORS' })
  // sized at the full length, but only 20 bytes can be read any more
  const shrunk = file.slice(0, 20)
  await t.rejects(detectLayout('f.safetensors', shrunk.subarray(0, 8), file.length, headReader(shrunk).read), {
    code: 'ERR_BAD_SAFETENSORS',
    message: /truncated/
  })
})

t.test('jsonl and ndjson: one records segment', async t => {
  const file = readCorpus('datasets/gsm8k-test-socratic/test.jsonl')
  const layout = await detectLayout('test.jsonl', file.subarray(0, 4096), file.length, headReader(file).read)
  t.same(layout, { format: 'jsonl', segments: [{ start: 0, end: file.length, kind: 'records' }] })
  const l2 = await detectLayout('data/part-0.NDJSON', new Uint8Array(0), 10, async () => t.fail('no read') as never)
  t.same(l2, { format: 'jsonl', segments: [{ start: 0, end: 10, kind: 'records' }] })
})

t.test('csv: the header line is its own segment, then records', async t => {
  const file = readCorpus('datasets/vega-flights-subsets/weather.csv')
  const headerLine = 'location,date,precipitation,temp_max,temp_min,wind,weather\n'
  const layout = await detectLayout('weather.csv', file.subarray(0, 65536), file.length, headReader(file).read)
  t.same(layout, {
    format: 'csv',
    segments: [
      { start: 0, end: headerLine.length, kind: 'header' },
      { start: headerLine.length, end: file.length, kind: 'records' }
    ]
  })
  // a head too short to hold the first line: detect reads more
  const r = headReader(file)
  const l2 = await detectLayout('weather.csv', file.subarray(0, 10), file.length, r.read)
  t.same(l2, layout)
  t.equal(r.calls.length, 1)
})

t.test('tsv: same as csv', async t => {
  const file = enc.encode('a\tb\n1\t2\n3\t4\n')
  const layout = await detectLayout('t.tsv', file, file.length, headReader(file).read)
  t.same(layout, { format: 'tsv', segments: [{ start: 0, end: 4, kind: 'header' }, { start: 4, end: file.length, kind: 'records' }] })
})

t.test('csv without a newline is all header; a header-only csv has no records', async t => {
  const one = enc.encode('a,b,c')
  t.same(await detectLayout('x.csv', one, one.length, headReader(one).read),
    { format: 'csv', segments: [{ start: 0, end: 5, kind: 'header' }] })
  const hdr = enc.encode('a,b,c\n')
  t.same(await detectLayout('x.csv', hdr, hdr.length, headReader(hdr).read),
    { format: 'csv', segments: [{ start: 0, end: 6, kind: 'header' }] })
})

t.test('everything else is one bytes segment', async t => {
  for (const rel of [
    'datasets/debian-wordlists/british-english'
  ]) {
    const file = readCorpus(rel)
    const layout = await detectLayout(rel, file.subarray(0, 1024), file.length, async () => t.fail('no read') as never)
    t.same(layout, { format: 'bytes', segments: [{ start: 0, end: file.length, kind: 'bytes' }] }, rel)
  }
  t.equal(formatForName('m.GGUF'), 'gguf')
  t.equal(formatForName('dir/model.onnx'), 'onnx')
  t.equal(formatForName('palm.tflite'), 'tflite')
  t.equal(formatForName('model.onnx_data'), 'bytes', 'external data is laid out only with the model\'s tensors')
  t.equal(formatForName('.csv'), 'bytes', 'a dotfile has no extension')
  t.equal(formatForName('dir.csv/file'), 'bytes', 'only the last path component counts')
  t.equal(formatForName('a.jsonl.gz'), 'bytes')
  t.equal(formatForName('flights.JSON'), 'json')
  t.equal(formatForName('t.parquet'), 'parquet')
  t.equal(formatForName('t.pq'), 'parquet')
  for (const n of ['a.arrow', 'a.arrows', 'a.feather', 'a.ipc']) t.equal(formatForName(n), 'arrow', n)
})

t.test('a JSON array is laid out from its two ends; other JSON is bytes', async t => {
  const rel = 'datasets/vega-flights-subsets/flights-2k.json'
  const file = readCorpus(rel)
  const reads: number[][] = []
  const layout = await detectLayout(rel, file.subarray(0, 1024), file.length, async () => t.fail('no head read') as never, {
    read: async (o, n) => { reads.push([o, n]); return file.subarray(o, o + n) }
  })
  t.equal(layout.format, 'json-array')
  t.same(layout.segments.map(s => s.kind), ['header', 'records', 'header'])
  t.same(reads, [[file.length - 65536, 65536]], 'one read of the tail')
  const obj = enc.encode('{"a": [1, 2]}')
  t.same(await detectLayout('config.json', obj, obj.length, headReader(obj).read), { format: 'bytes', segments: [{ start: 0, end: obj.length, kind: 'bytes' }] })
})

t.test('zero-length files have no segments', async t => {
  const none = async (): Promise<Uint8Array> => new Uint8Array(0)
  for (const name of ['e.jsonl', 'e.csv', 'e.tsv', 'e.bin', 'e']) {
    const layout = await detectLayout(name, new Uint8Array(0), 0, none)
    t.same(layout.segments, [], name)
  }
})
