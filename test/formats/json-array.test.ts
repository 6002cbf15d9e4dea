import t from 'tap'
import { chunkFile } from '../../src/chunk/chunker.js'
import { createGearCutter, gearCuts } from '../../src/chunk/gear.js'
import type { Chunk, ChunkParams } from '../../src/chunk/types.js'
import { detectLayout } from '../../src/formats/detect.js'
import { jsonArrayEnd, jsonArrayStart } from '../../src/formats/json-array.js'
import { readAtBytes } from '../../src/formats/read-at.js'
import type { FileLayout } from '../../src/formats/types.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { readCorpus } from '../helpers/corpus.js'

const enc = new TextEncoder()
const SMALL: ChunkParams = { cdcMin: 256, cdcAvg: 1024, cdcMax: 4096, tensorPiece: 65536 }
const FLIGHTS = 'datasets/vega-flights-subsets/flights-5k.json'

async function layoutOf (name: string, file: Uint8Array, headLength = 4096): Promise<FileLayout> {
  return await detectLayout(name, file.subarray(0, headLength), file.length, headReader(file).read, { read: readAtBytes(file) })
}

async function chunksOf (file: Uint8Array, layout: FileLayout, feed: number, params?: ChunkParams): Promise<Chunk[]> {
  const out: Chunk[] = []
  for await (const c of chunkFile(bytesSource(file, feed), layout, params)) out.push(c)
  return out
}

/** Offsets just after each top-level ',' of a JSON array (found by parsing: the reference). */
function elementEnds (text: string): Set<number> {
  const values = JSON.parse(text) as unknown[]
  const ends = new Set<number>()
  // Re-serialise element by element: works for the compact files made here.
  let pos = text.indexOf('[') + 1
  for (let i = 0; i < values.length - 1; i++) {
    pos += Buffer.byteLength(JSON.stringify(values[i])) + 1
    ends.add(pos)
  }
  return ends
}

/** A compact JSON array whose strings are full of ',', '{', ']', quotes and escapes. */
function trickyArray (n: number): string {
  const rows = []
  for (let i = 0; i < n; i++) {
    rows.push({ id: i, s: `a,b],{"x":${i}},\\ "q" [${'z'.repeat(i % 37)}`, nested: [{ k: [i, i + 1], t: '},{' }], u: '\u00e9\u4e2d' })
  }
  return JSON.stringify(rows)
}

t.test('a JSON array lays out as [ header, records, ] header; other JSON as bytes', async t => {
  const file = enc.encode('\ufeff  [ {"a":1}, {"a":2} ]\n')
  const l = await layoutOf('d/data.JSON', file)
  t.equal(l.format, 'json-array')
  const open = file.indexOf(0x5b) + 1
  const close = file.lastIndexOf(0x5d)
  t.same(l.segments, [
    { start: 0, end: open, kind: 'header' },
    { start: open, end: close - 1, kind: 'records', recordSyntax: 'json-array' },
    { start: close - 1, end: file.length, kind: 'header' }
  ], 'the whitespace before the final ] goes with it, so the last element ends its segment')

  for (const [text, what] of [['{"a":[1,2]}', 'an object'], ['"[x]"', 'a string'], ['  \n ', 'whitespace only'], ['not json [', 'text']] as const) {
    const f = enc.encode(text)
    t.same(await layoutOf('x.json', f), { format: 'bytes', segments: [{ start: 0, end: f.length, kind: 'bytes' }] }, what)
  }
  t.same(await layoutOf('x.json', new Uint8Array(0)), { format: 'bytes', segments: [] }, 'an empty file')
  t.same((await layoutOf('e.json', enc.encode('[]'))).segments, [{ start: 0, end: 1, kind: 'header' }, { start: 1, end: 2, kind: 'header' }], 'an empty array')
})

t.test('a truncated array (no final ]) keeps its records to the end of the file', async t => {
  const file = enc.encode('[{"a":1},{"a":2},{"a":')
  const l = await layoutOf('t.json', file)
  t.equal(l.format, 'json-array')
  t.same(l.segments, [{ start: 0, end: 1, kind: 'header' }, { start: 1, end: file.length, kind: 'records', recordSyntax: 'json-array' }])
  const cs = await chunksOf(file, l, 3, SMALL)
  t.equal(Buffer.concat(cs.map(c => c.bytes)).toString(), Buffer.from(file).toString(), 'still chunks to the same bytes')
})

t.test('jsonArrayStart/End find the brackets, or nothing', async t => {
  t.equal(jsonArrayStart(enc.encode(' \t[1]')), 3)
  t.equal(jsonArrayStart(enc.encode('{}')), undefined)
  t.equal(jsonArrayEnd(enc.encode('1, 2 ]  \n'), 100), 104)
  t.equal(jsonArrayEnd(enc.encode('1, 2'), 100), undefined)
})

t.test('reads only the two ends of a large array', async t => {
  const file = readCorpus(FLIGHTS)
  const reads: Array<[number, number]> = []
  const read = readAtBytes(file)
  const l = await detectLayout('flights.json', file.subarray(0, 16), file.length, headReader(file).read, {
    read: async (o, n) => { reads.push([o, n]); return await read(o, n) }
  })
  t.equal(l.format, 'json-array')
  t.ok(reads.reduce((s, [, n]) => s + n, 0) <= 128 * 1024, `read ${JSON.stringify(reads)}`)
})

t.test('content-defined cuts snap to just after a top-level comma, however the stream is split', async t => {
  const text = trickyArray(400)
  const file = enc.encode(text)
  const l = await layoutOf('tricky.json', file)
  const ends = elementEnds(text)
  const whole = await chunksOf(file, l, file.length, SMALL)
  const body = l.segments[1]
  let snapped = 0
  for (const c of whole) {
    const end = c.offset + c.bytes.length
    if (end <= body.start || end >= body.end) continue
    if (ends.has(end)) snapped++
    else t.equal(c.bytes.length, SMALL.cdcMax, `a cut at ${end} off a record end is a forced cdcMax cut`)
  }
  t.ok(snapped > 10, `${snapped} cuts at element ends`)
  for (const feed of [1, 7, 1000]) {
    const cs = await chunksOf(file, l, feed, SMALL)
    t.same(cs.map(c => [c.offset, c.bytes.length]), whole.map(c => [c.offset, c.bytes.length]), `fed ${feed} bytes at a time`)
  }
  // The cutter alone: streaming equals one-shot, for arbitrary splits.
  const data = file.subarray(body.start, body.end)
  const oneShot = gearCuts(data, SMALL, { records: true, syntax: 'json-array' })
  const cutter = createGearCutter(SMALL, { records: true, syntax: 'json-array' })
  const cuts: number[] = []
  let base = 0
  for (let o = 0, step = 1; o < data.length; o += step, step = (step * 7 + 3) % 911 + 1) {
    const piece = data.subarray(o, Math.min(o + step, data.length))
    for (const c of cutter.push(piece)) cuts.push(base + c)
    base += piece.length
  }
  if (cuts[cuts.length - 1] !== data.length) cuts.push(data.length)
  t.same(cuts, oneShot)
})

t.test('records of a prefix file chunk identically inside its superset', async t => {
  const rows = JSON.parse(new TextDecoder().decode(readCorpus(FLIGHTS))) as unknown[]
  const small = enc.encode(JSON.stringify(rows.slice(0, 2500)))
  const big = enc.encode(JSON.stringify(rows))
  const a = await chunksOf(small, await layoutOf('a.json', small), 65536, SMALL)
  const b = await chunksOf(big, await layoutOf('b.json', big), 65536, SMALL)
  const key = (c: Chunk): string => Buffer.from(c.bytes).toString('base64')
  const have = new Set(a.map(key))
  const shared = b.filter(c => have.has(key(c))).reduce((s, c) => s + c.bytes.length, 0)
  // All of the small file but its last chunk (which ends at its ']').
  t.ok(shared >= small.length - 2 * SMALL.cdcMax, `${shared} of ${small.length} bytes shared`)
})
