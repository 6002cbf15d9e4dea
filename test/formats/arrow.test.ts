import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as flatbuffers from 'flatbuffers'
import { chunkFile, DEFAULT_CHUNK_PARAMS } from '../../src/chunk/chunker.js'
import { detectLayout } from '../../src/formats/detect.js'
import { readAtBytes } from '../../src/formats/read-at.js'
import type { FileLayout } from '../../src/formats/types.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { projectRoot, readCorpus } from '../helpers/corpus.js'
import { freshRepo, tempDir } from '../helpers/store.js'

// Made by scripts/gen-arrow-ipc.py: 4 record batches (1000, 1000, 500, 2500 rows) and one dictionary batch.
const FILE = join(projectRoot, 'test/fixtures/arrow/batches.arrow')
const STREAM = join(projectRoot, 'test/fixtures/arrow/batches.arrows')
const FLIGHTS = 'datasets/vega-flights-subsets/flights-200k.arrow'

const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p))

async function layoutOf (name: string, file: Uint8Array): Promise<FileLayout> {
  return await detectLayout(name, file.subarray(0, 4096), file.length, headReader(file).read, { read: readAtBytes(file) })
}

/** Dictionary and record batch blocks [offset, end) listed in an Arrow file's footer (File.fbs), read with flatbuffers. */
function footerBlocks (file: Uint8Array): { dictionaries: Array<[number, number]>, recordBatches: Array<[number, number]> } {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const footerLen = dv.getInt32(file.length - 10, true)
  const bb = new flatbuffers.ByteBuffer(file.subarray(file.length - 10 - footerLen, file.length - 10))
  const root = bb.readInt32(0)
  const blocks = (id: number): Array<[number, number]> => {
    const off = bb.__offset(root, 4 + 2 * id)
    if (off === 0) return []
    const start = bb.__vector(root + off)
    const out: Array<[number, number]> = []
    for (let i = 0; i < bb.__vector_len(root + off); i++) {
      const b = start + 24 * i // struct Block { offset: long; metaDataLength: int; bodyLength: long }
      const offset = Number(bb.readInt64(b))
      out.push([offset, offset + bb.readInt32(b + 8) + Number(bb.readInt64(b + 16))])
    }
    return out
  }
  return { dictionaries: blocks(2), recordBatches: blocks(3) }
}

function assertTiles (t: Pick<typeof import('tap'), 'equal'>, l: FileLayout, size: number): void {
  let pos = 0
  for (const s of l.segments) { t.equal(s.start, pos, 'segments tile the file'); pos = s.end }
  t.equal(pos, size, 'up to its end')
}

t.test('an Arrow IPC file: one segment per record batch and dictionary batch, as its footer lists them', async t => {
  const file = load(FILE)
  const l = await layoutOf('d/batches.arrow', file)
  t.equal(l.format, 'arrow')
  assertTiles(t, l, file.length)
  const { dictionaries, recordBatches } = footerBlocks(file)
  t.equal(recordBatches.length, 4)
  t.equal(dictionaries.length, 1)
  const bytesSegs = l.segments.filter(s => s.kind === 'bytes').map(s => [s.start, s.end])
  t.same(bytesSegs, [...dictionaries, ...recordBatches].sort((a, b) => a[0] - b[0]), 'the batches, exactly')
  t.same(l.segments[0], { start: 0, end: dictionaries[0][0], kind: 'header' }, 'magic + schema')
  t.same(l.segments[l.segments.length - 1], { start: recordBatches[3][1], end: file.length, kind: 'header' }, 'end marker + footer')
})

t.test('an Arrow IPC stream: the same batches, byte for byte', async t => {
  const file = load(FILE)
  const stream = load(STREAM)
  const lf = await layoutOf('batches.arrow', file)
  const ls = await layoutOf('batches.ARROWS', stream)
  t.equal(ls.format, 'arrow')
  assertTiles(t, ls, stream.length)
  const body = (b: Uint8Array, l: FileLayout): string[] => l.segments.filter(s => s.kind === 'bytes').map(s => Buffer.from(b.subarray(s.start, s.end)).toString('hex'))
  t.same(body(stream, ls), body(file, lf), 'batches are the same bytes in both formats')
  t.same(ls.segments[ls.segments.length - 1], { start: stream.length - 8, end: stream.length, kind: 'header' }, 'the end-of-stream marker')
})

t.test('a big record batch is one segment, cut by CDC inside, and chunks stop at its ends', async t => {
  const file = readCorpus(FLIGHTS)
  const l = await layoutOf('flights.arrow', file)
  t.equal(l.format, 'arrow')
  assertTiles(t, l, file.length)
  t.equal(l.segments.filter(s => s.kind === 'bytes').length, 1, 'flights-200k.arrow holds one record batch')
  const ends = new Set<number>()
  // the small CDC sizes (a 1.6 MB file would otherwise get the medium ones, chunker.ts MEDIUM_FILE_FACTOR)
  const params = { ...DEFAULT_CHUNK_PARAMS, wholeMax: undefined }
  for await (const c of chunkFile(bytesSource(file, 100_000), l, params)) ends.add(c.offset + c.bytes.length)
  for (const s of l.segments) t.ok(ends.has(s.end), `a chunk ends at ${s.end}`)
  t.ok(ends.size > file.length / DEFAULT_CHUNK_PARAMS.cdcMax, `${ends.size} chunks`)
})

t.test('a damaged Arrow file is laid out as plain bytes, never a crash', async t => {
  const file = load(FILE)
  const bytes = (n: number): FileLayout => ({ format: 'bytes', segments: n > 0 ? [{ start: 0, end: n, kind: 'bytes' }] : [] })
  const cases: Array<[string, Uint8Array]> = [
    ['truncated', file.slice(0, file.length - 100)],
    ['cut in a batch', file.slice(0, 50_000)],
    ['tiny', file.slice(0, 7)],
    ['empty', new Uint8Array(0)],
    ['not Arrow', new TextEncoder().encode('hello, this is not an arrow file at all')]
  ]
  const badLen = file.slice(); new DataView(badLen.buffer).setInt32(badLen.length - 10, 0x7fffffff, true)
  cases.push(['footer length too large', badLen])
  const badMeta = file.slice(); new DataView(badMeta.buffer).setUint32(12, 0x7ffffff0, true)
  cases.push(['schema metadata length too large', badMeta])
  const badBody = file.slice()
  // The first batch's flatbuffer: scribble over its table so bodyLength points anywhere.
  badBody.fill(0xff, 330, 400)
  cases.push(['scribbled batch metadata', badBody])
  for (const [what, f] of cases) t.same(await layoutOf('x.arrow', f), bytes(f.length), what)

  // Any single corrupted byte in the framing still gives a tiling layout (Arrow or bytes).
  let arrow = 0
  for (let i = 0; i < 600; i += 3) {
    const f = file.slice()
    f[i] ^= 0xa5
    const l = await layoutOf('x.arrow', f)
    assertTiles({ equal: (a: unknown, b: unknown, m?: string) => { if (a !== b) t.fail(`byte ${i}: ${m ?? ''}`) } }, l, f.length)
    if (l.format === 'arrow') arrow++
  }
  t.ok(arrow > 0, `${arrow} of 200 corrupted files still parse (the flips hit unread bytes)`)
})

t.test('an Arrow file added to a repo reads back byte-identical, and its stream twin stores little', async t => {
  const { repo } = await freshRepo(t)
  const dir = tempDir(t)
  const file = load(FILE)
  const a = await repo.add('data/arrow', FILE)
  t.ok(a.newStoredBytes > 0)
  const entry = await repo.stat('data/arrow', undefined, 'batches.arrow')
  t.equal(entry.format, 'arrow')
  const parts: Uint8Array[] = []
  for await (const b of repo.read(entry)) parts.push(b)
  t.equal(Buffer.compare(Buffer.concat(parts), Buffer.from(file)), 0, 'byte-identical')
  // The same batches in the stream format: only the schema and end marker are new.
  const copy = join(dir, 'batches.arrows')
  writeFileSync(copy, load(STREAM))
  const s = await repo.add('data/arrow', copy)
  t.ok(s.newStoredBytes < 4096, `stream twin stored ${s.newStoredBytes} new bytes of ${load(STREAM).length}`)
})
