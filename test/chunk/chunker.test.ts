import t from 'tap'
import { createHash } from 'node:crypto'
import { chunkFile, DEFAULT_CHUNK_PARAMS, WHOLE_FILE_MAX, MEDIUM_FILE_FACTOR, cdcParamsFor, tensorPieceSize } from '../../src/chunk/chunker.js'
import { createGearCutter, gearCuts, gearTable } from '../../src/chunk/gear.js'
import type { Chunk, ChunkParams } from '../../src/chunk/types.js'
import { detectLayout } from '../../src/formats/detect.js'
import type { FileLayout } from '../../src/formats/types.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { readCorpus } from '../helpers/corpus.js'

const WEATHER = 'datasets/vega-flights-subsets/weather.csv'
const SEATTLE = 'datasets/vega-flights-subsets/seattle-weather.csv'
const GSM8K = 'datasets/gsm8k-test-socratic/test.jsonl'
const PALM = 'models/mediapipe-palm_detection_full-repack/base.palm_detection_full.2021-11-03.tflite'
const PEFT = 'models/peft-finegates-roberta-mrpc-checkpoints/'
const SMALL: ChunkParams = { cdcMin: 1024, cdcAvg: 4096, cdcMax: 16384, tensorPiece: 65536 }
const MiB = 1024 * 1024
/** the default sizes with small files cut by content too (no whole-file chunks) */
const CDC_ONLY: ChunkParams = { ...DEFAULT_CHUNK_PARAMS, wholeMax: undefined }

async function layoutOf (name: string, file: Uint8Array): Promise<FileLayout> {
  return await detectLayout(name, file.subarray(0, 4096), file.length, headReader(file).read)
}

async function chunksOf (file: Uint8Array, layout: FileLayout, feed: number, params?: ChunkParams): Promise<Chunk[]> {
  const out: Chunk[] = []
  for await (const c of chunkFile(bytesSource(file, feed), layout, params)) out.push(c)
  return out
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
const shape = (cs: Chunk[]): Array<[number, number, string]> => cs.map(c => [c.offset, c.bytes.length, c.hint.kind])

type Asserts = Pick<typeof t, 'equal' | 'ok'>

function assertTilesAndRoundTrips (t: Asserts, cs: Chunk[], file: Uint8Array, what: string): void {
  let pos = 0
  let ok = true
  for (const c of cs) {
    if (c.offset !== pos || c.bytes.length === 0) ok = false
    if (Buffer.compare(c.bytes, file.subarray(pos, pos + c.bytes.length)) !== 0) ok = false
    pos += c.bytes.length
  }
  t.ok(ok, `${what}: chunks are contiguous, non-empty and equal the file's bytes`)
  t.equal(pos, file.length, `${what}: chunks cover the file`)
}

/**
 * FastCDC as plainly as it can be written, one byte at a time over the whole
 * input: the optimized streaming cutter must agree with it exactly.
 */
function referenceCuts (data: Uint8Array, p: ChunkParams, records: boolean): number[] {
  const G = gearTable()
  const bits = Math.round(Math.log2(p.cdcAvg))
  const top = (n: number): number => (0xffffffff << (32 - n)) | 0
  const maskS = top(bits + 2)
  const maskL = top(bits - 2)
  const cuts: number[] = []
  let start = 0
  while (start < data.length) {
    const end = Math.min(data.length, start + p.cdcMax)
    let cut = end
    let h = 0
    for (let i = start + p.cdcMin; i < end; i++) {
      h = ((h << 1) + G[data[i]]) | 0
      if ((h & (i - start < p.cdcAvg ? maskS : maskL)) === 0) {
        cut = i + 1
        if (records) {
          const nl = data.indexOf(0x0a, i)
          cut = nl >= 0 && nl + 1 - start <= p.cdcMax ? nl + 1 : end
        }
        break
      }
    }
    cuts.push(cut)
    start = cut
  }
  return cuts
}

t.test('the gear table is pinned (it decides every chunk boundary)', async t => {
  const g = gearTable()
  t.equal(g.length, 256)
  t.same(Array.from(g.subarray(0, 4), x => (x >>> 0).toString(16)), ['c236a8af', '6e4aaec8', '1107bd70', 'ea4d5b5e'])
  const le = new Uint8Array(1024)
  const dv = new DataView(le.buffer)
  g.forEach((x, i) => dv.setInt32(i * 4, x, true))
  t.equal(digest(le), '85c6c0f5b9d3cd403c26df4bc9adc1fdc91f1470e6f52aa235d5c73eca592be3')
})

t.test('gear cutter: same cuts however the stream is split, within min/max', async t => {
  const file = readCorpus(PALM)
  for (const records of [false, true]) {
    const whole = gearCuts(file, SMALL, { records })
    t.ok(whole.length > 100, 'many chunks')
    t.same(whole, referenceCuts(file, SMALL, records), 'the same cuts as a plain byte-at-a-time FastCDC')
    let prev = 0
    let sizesOk = true
    for (const [i, c] of whole.entries()) {
      const n = c - prev
      if (n > SMALL.cdcMax || (n <= SMALL.cdcMin && i < whole.length - 1)) sizesOk = false
      prev = c
    }
    t.ok(sizesOk, 'cdcMin < chunk size <= cdcMax (the last may be shorter)')
    for (const step of [1, 7, 4099, MiB]) {
      // byte-at-a-time pushes are slow, so the tiny steps cover a prefix only
      const data = step < 100 ? file.subarray(0, 256 * 1024) : file
      const expected = step < 100 ? gearCuts(data, SMALL, { records }) : whole
      const cutter = createGearCutter(SMALL, { records })
      const cuts: number[] = []
      // uneven pieces: step, then 3*step, ...
      let o = 0
      let k = 0
      while (o < data.length) {
        const len = step * (k++ % 3 + 1)
        for (const c of cutter.push(data.subarray(o, o + len))) cuts.push(o + c)
        o += len
      }
      if (cuts[cuts.length - 1] !== data.length) cuts.push(data.length)
      t.same(cuts, expected, `records=${String(records)}, pieces of ${step}..${3 * step} bytes`)
      if (step < 100) t.same(expected.filter(c => c < data.length), whole.filter(c => c < data.length), 'a prefix cuts like the whole file')
    }
  }
})

t.test('gear cutter agrees with the plain FastCDC on real data with the default sizes', async t => {
  for (const [rel, records] of [[GSM8K, true], [GSM8K, false], [PALM, false]] as const) {
    const file = readCorpus(rel)
    t.same(gearCuts(file, DEFAULT_CHUNK_PARAMS, { records }), referenceCuts(file, DEFAULT_CHUNK_PARAMS, records), `${rel} records=${String(records)}`)
  }
})

t.test('chunks tile the file and the boundaries do not depend on input buffer sizes', async t => {
  // Tiny buffers are slow under tap's async hooks, so they go to the small file;
  // the gear cutter test above splits a large file at 1 and 7 bytes directly.
  const cases: Array<[string, string, ChunkParams | undefined, number[]]> = [
    ['seattle-weather.csv', SEATTLE, { cdcMin: 256, cdcAvg: 1024, cdcMax: 4096, tensorPiece: 4096 }, [1, 7, MiB]],
    ['palm.tflite', PALM, SMALL, [997, 65537, MiB]],
    ['palm.tflite', PALM, undefined, [4099, MiB]],
    ['adapter.safetensors', PEFT + 'checkpoint-0230.adapter_model.safetensors', undefined, [1001, 65536, MiB]]
  ]
  for (const [name, rel, params, feeds] of cases) {
    const file = readCorpus(rel)
    const layout = await layoutOf(name, file)
    let first: Array<[number, number, string]> | undefined
    for (const feed of feeds) {
      const cs = await chunksOf(file, layout, feed, params)
      assertTilesAndRoundTrips(t, cs, file, `${name} fed ${feed} bytes at a time`)
      // tensor pieces of 8-byte elements are 4× the 2-byte piece size
      const max = Math.max(params?.cdcMax ?? DEFAULT_CHUNK_PARAMS.cdcMax, 4 * (params?.tensorPiece ?? DEFAULT_CHUNK_PARAMS.tensorPiece))
      t.ok(cs.every(c => c.bytes.length <= max || c.hint.kind === 'header'), 'no chunk exceeds the max')
      t.ok(cs.length > 10, `${cs.length} chunks`)
      if (first === undefined) first = shape(cs)
      else t.same(shape(cs), first, `${name}: same chunks with ${feed}-byte input buffers`)
    }
  }
})

t.test('tensor pieces are element-aligned and pair up across checkpoints', async t => {
  const a = readCorpus(PEFT + 'checkpoint-0230.adapter_model.safetensors')
  const b = readCorpus(PEFT + 'checkpoint-2300.adapter_model.safetensors')
  const params: ChunkParams = { ...DEFAULT_CHUNK_PARAMS, tensorPiece: 100_001 }
  const piece = tensorPieceSize(params.tensorPiece, 4)
  t.equal(piece, 200_000, 'pieces hold tensorPiece / 2 elements (50,000 f32 = 200,000 bytes)')
  const la = await layoutOf('a.safetensors', a)
  const ca = await chunksOf(a, la, MiB, params)
  const cb = await chunksOf(b, await layoutOf('b.safetensors', b), 65536, params)
  t.equal(ca[0].hint.kind, 'header')
  t.equal(ca[0].bytes.length, la.segments[0].end, 'the header is one chunk')
  const tensorStart = new Map(la.tensors?.map(x => [x.name, x.start]))
  let aligned = true
  for (const c of ca.slice(1)) {
    const h = c.hint
    if (h.kind !== 'tensor' || h.dtype !== 'F32' || h.elementSize !== 4 || h.tensor === undefined || h.piece === undefined) { aligned = false; continue }
    if (c.bytes.length % 4 !== 0 || c.bytes.length > piece) aligned = false
    if (c.offset !== (tensorStart.get(h.tensor) ?? NaN) + h.piece * piece) aligned = false
  }
  t.ok(aligned, 'every piece i of a tensor starts at tensor start + i * piece size, a multiple of 4 bytes long')
  const key = (cs: Chunk[]): string[] => cs.map(c => `${c.hint.tensor ?? '-'}#${c.hint.piece ?? '-'}@${c.offset}+${c.bytes.length}`)
  t.same(key(cb), key(ca), 'piece i of each tensor has the same offsets in both checkpoints')
  const big = ca.filter(c => c.hint.tensor === 'base_model.model.classifier.dense.weight')
  t.equal(big.length, Math.ceil(768 * 768 * 4 / piece))
  t.same(big.map(c => c.hint.piece), big.map((_, i) => i))
})

t.test('tensor pieces of 8-byte elements: F64 fixture with a 4-byte (2-element) piece size', async t => {
  const file = readCorpus('models/safetensors-format-fixtures/d.safetensors')
  const cs = await chunksOf(file, await layoutOf('d.safetensors', file), 3, { ...SMALL, tensorPiece: 4 })
  assertTilesAndRoundTrips(t, cs, file, 'd.safetensors')
  t.same(cs.slice(1).map(c => [c.bytes.length, c.hint.piece, c.hint.elementSize]), [[16, 0, 8], [16, 1, 8], [16, 2, 8]])
})

t.test('CDC boundaries resync after an insertion near the start', async t => {
  const file = readCorpus(PALM)
  const edited = new Uint8Array(file.length + 100)
  edited.set(file.subarray(0, 1000))
  edited.fill(0x5a, 1000, 1100)
  edited.set(file.subarray(1000), 1100)
  // laid out as opaque bytes: this tests CDC, and the edit breaks the flatbuffer
  const layout = await layoutOf('palm.bin', file)
  const before = await chunksOf(file, layout, MiB, CDC_ONLY)
  const after = await chunksOf(edited, await layoutOf('palm.bin', edited), MiB, CDC_ONLY)
  const seen = new Set(before.map(c => digest(c.bytes)))
  const same = after.filter(c => seen.has(digest(c.bytes))).length
  t.ok(before.length > 30, `${before.length} chunks`)
  t.ok(same >= after.length - 2, `${same} of ${after.length} chunks unchanged`)
})

t.test('record chunks end at record ends and resync after an inserted row', async t => {
  const file = readCorpus(GSM8K)
  const layout = await layoutOf('test.jsonl', file)
  const cs = await chunksOf(file, layout, 65536, CDC_ONLY)
  t.ok(cs.length > 10, `${cs.length} chunks`)
  t.ok(cs.every(c => c.hint.kind === 'records' && c.bytes[c.bytes.length - 1] === 0x0a), 'every chunk ends with a newline')
  // insert a record after the 3rd line
  let third = 0
  for (let i = 0; i < 3; i++) third = file.indexOf(0x0a, third) + 1
  const row = new TextEncoder().encode('{"question": "inserted", "answer": "#### 0"}\n')
  const edited = new Uint8Array(file.length + row.length)
  edited.set(file.subarray(0, third)); edited.set(row, third); edited.set(file.subarray(third), third + row.length)
  const after = await chunksOf(edited, await layoutOf('test.jsonl', edited), 7777, CDC_ONLY)
  const seen = new Set(cs.map(c => digest(c.bytes)))
  const same = after.filter(c => seen.has(digest(c.bytes))).length
  t.ok(same >= after.length - 2, `${same} of ${after.length} chunks unchanged`)
})

t.test('a small file without tensors is one chunk per segment: the csv header, then all its rows', async t => {
  const file = readCorpus(WEATHER)
  t.ok(file.length <= WHOLE_FILE_MAX)
  const h = file.indexOf(0x0a) + 1
  for (const feed of [1000, 65536, file.length]) {
    const cs = await chunksOf(file, await layoutOf('weather.csv', file), feed)
    t.same(shape(cs), [[0, h, 'header'], [h, file.length - h, 'records']], `fed ${feed} bytes at a time`)
  }
  // one byte over the limit: cut by content again, with the medium sizes
  const params: ChunkParams = { ...DEFAULT_CHUNK_PARAMS, wholeMax: file.length - 1 }
  const cut = await chunksOf(file, await layoutOf('weather.csv', file), 4096, params)
  t.ok(cut.length > 2, `${cut.length} chunks past wholeMax`)
  t.ok(cut.slice(1).every(c => c.bytes.length <= file.length - 1 && c.bytes[c.bytes.length - 1] === 0x0a), 'record chunks within wholeMax, ending at rows')
  // a model (tensor segments) is never kept whole, however small
  const model = { format: 'safetensors', segments: [{ start: 0, end: 8, kind: 'header' as const }, { start: 8, end: 8 + 4096, kind: 'tensor' as const, elementSize: 4, name: 'w', dtype: 'F32' }] }
  const small: ChunkParams = { ...SMALL, wholeMax: MiB }
  t.same(shape(await chunksOf(new Uint8Array(8 + 4096), model, 1000, small)).map(x => x[2]), ['header', 'tensor'])
  await t.rejects(chunksOf(file, await layoutOf('weather.csv', file), 4096, { ...DEFAULT_CHUNK_PARAMS, wholeMax: -1 }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('a medium file (up to MEDIUM_FILE_FACTOR x wholeMax) is cut into chunks of wholeMax/8 to wholeMax', async t => {
  const seg = (end: number, kind: 'records' | 'tensor' = 'records'): Array<{ start: number, end: number, kind: 'records' | 'tensor' }> => [{ start: 0, end, kind }]
  t.same(cdcParamsFor(seg(2 * MiB), DEFAULT_CHUNK_PARAMS), { ...DEFAULT_CHUNK_PARAMS, cdcMin: MiB / 8, cdcAvg: MiB / 2, cdcMax: MiB })
  t.equal(cdcParamsFor(seg(MEDIUM_FILE_FACTOR * MiB + 1), DEFAULT_CHUNK_PARAMS), DEFAULT_CHUNK_PARAMS, 'a large file keeps the small sizes')
  t.same(cdcParamsFor(seg(2 * MiB, 'tensor'), DEFAULT_CHUNK_PARAMS), { ...DEFAULT_CHUNK_PARAMS, cdcMin: MiB / 8, cdcAvg: MiB / 2, cdcMax: MiB }, 'a small model too (for its container bytes; tensors keep their pieces)')
  t.equal(cdcParamsFor(seg(MEDIUM_FILE_FACTOR * MiB + 1, 'tensor'), DEFAULT_CHUNK_PARAMS), DEFAULT_CHUNK_PARAMS, 'a large model keeps the small sizes')
  t.equal(cdcParamsFor(seg(2 * MiB), CDC_ONLY), CDC_ONLY, 'no wholeMax: no medium sizes')
  const file = readCorpus('datasets/debian-wordlists/american-english-large')
  const cs = await chunksOf(file, await layoutOf('american-english-large', file), 65536)
  t.ok(cs.length >= 2 && cs.length <= 8, `${cs.length} chunks for ${file.length} bytes`)
  t.same(cs.filter(c => c.bytes.length > MiB || (c.bytes.length < MiB / 8 && c !== cs[cs.length - 1])).map(c => [c.offset, c.bytes.length]), [], 'each within [wholeMax/8, wholeMax] but the last')
})

t.test('a csv header is its own chunk; the rows follow in record chunks', async t => {
  const file = readCorpus(WEATHER)
  const cs = await chunksOf(file, await layoutOf('weather.csv', file), 1000, SMALL)
  t.equal(new TextDecoder().decode(cs[0].bytes), 'location,date,precipitation,temp_max,temp_min,wind,weather\n')
  t.same(cs[0].hint, { kind: 'header' })
  t.ok(cs.length > 10)
  t.ok(cs.slice(1).every(c => c.hint.kind === 'records' && c.bytes[c.bytes.length - 1] === 0x0a))
})

t.test('a record longer than cdcMax is cut at cdcMax', async t => {
  const file = new Uint8Array(100_000).fill(0x61) // one 100 kB "record" with no newline
  file[99_999] = 0x0a
  const cs = await chunksOf(file, { format: 'jsonl', segments: [{ start: 0, end: file.length, kind: 'records' }] }, 4096, SMALL)
  assertTilesAndRoundTrips(t, cs, file, 'long record')
  t.ok(cs.slice(0, -1).every(c => c.bytes.length === SMALL.cdcMax))
})

t.test('a huge header is cut by CDC, still hinted as header', async t => {
  const file = readCorpus(PALM).subarray(0, 300_000)
  const params: ChunkParams = { cdcMin: 256, cdcAvg: 1024, cdcMax: 4096, tensorPiece: 4096 }
  const layout: FileLayout = { format: 'x', segments: [{ start: 0, end: 200_000, kind: 'header' }, { start: 200_000, end: 300_000, kind: 'header' }] }
  const cs = await chunksOf(file, layout, 65536, params)
  assertTilesAndRoundTrips(t, cs, file, 'huge header')
  t.ok(cs.every(c => c.hint.kind === 'header'))
  t.ok(cs.filter(c => c.offset < 200_000).length > 10, 'over 16 x cdcMax: many chunks')
  t.ok(cs.some(c => c.offset === 200_000), 'segments start chunks')
  const small: FileLayout = { format: 'x', segments: [{ start: 0, end: 60_000, kind: 'header' }] }
  t.equal((await chunksOf(file.subarray(0, 60_000), small, 7000, params)).length, 1, 'up to 16 x cdcMax: one chunk')
})

t.test('an empty file has no chunks', async t => {
  t.same(await chunksOf(new Uint8Array(0), { format: 'bytes', segments: [] }, 10), [])
  t.same(await chunksOf(new Uint8Array(0), { format: 'csv', segments: [{ start: 0, end: 0, kind: 'header' }] }, 10), [])
})

t.test('refuses a stream that does not match the layout, and bad params', async t => {
  const file = readCorpus(WEATHER)
  const layout = await layoutOf('weather.csv', file)
  const drain = async (src: Uint8Array, l: FileLayout, p?: ChunkParams): Promise<void> => { await chunksOf(src, l, 4096, p) }
  await t.rejects(drain(file.subarray(0, file.length - 1), layout), { code: 'ERR_BAD_ARGUMENT', message: /ended/ })
  const longer = new Uint8Array(file.length + 1); longer.set(file)
  await t.rejects(drain(longer, layout), { code: 'ERR_BAD_ARGUMENT', message: /longer/ })
  await t.rejects(drain(file, { format: 'x', segments: [{ start: 0, end: 10, kind: 'bytes' }, { start: 11, end: file.length, kind: 'bytes' }] }),
    { code: 'ERR_BAD_ARGUMENT', message: /tile/ })
  await t.rejects(drain(file, layout, { ...SMALL, cdcMin: 8192 }), { code: 'ERR_BAD_ARGUMENT' })
  await t.rejects(drain(file, layout, { ...SMALL, tensorPiece: 0 }), { code: 'ERR_BAD_ARGUMENT' })
})
