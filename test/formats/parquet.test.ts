import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetMetadata } from 'hyparquet'
import { chunkFile, DEFAULT_CHUNK_PARAMS } from '../../src/chunk/chunker.js'
import { detectLayout } from '../../src/formats/detect.js'
import { pageHeaderSizes } from '../../src/formats/parquet.js'
import { readAtBytes } from '../../src/formats/read-at.js'
import type { ReadAt } from '../../src/formats/read-at.js'
import type { FileLayout } from '../../src/formats/types.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { projectRoot, readCorpus } from '../helpers/corpus.js'

// Made by scripts/gen-parquet-cdc.py (pyarrow, content-defined chunking: pages of 16-64 KiB before encoding).
const BASE = join(projectRoot, 'test/fixtures/parquet/cdc-base.parquet')
const FLIGHTS = 'datasets/vega-flights-subsets/flights-3m.parquet'

const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p))

async function layoutOf (name: string, file: Uint8Array, read: ReadAt = readAtBytes(file)): Promise<FileLayout> {
  return await detectLayout(name, file.subarray(0, 4096), file.length, headReader(file).read, { read })
}

function assertTiles (t: Pick<typeof import('tap'), 'equal'>, l: FileLayout, size: number): void {
  let pos = 0
  let ok = true
  for (const s of l.segments) { if (s.start !== pos || s.end <= s.start) ok = false; pos = s.end }
  t.equal(ok && pos === size, true, 'segments tile the file')
}

/**
 * Checks a layout against the footer as hyparquet reads it: every column chunk
 * starts and ends on segment boundaries, and holds as many segments as the
 * footer's encoding stats count pages (when it has them). Returns the pages counted.
 */
function assertPagesMatchFooter (t: Pick<typeof import('tap'), 'equal' | 'ok'>, l: FileLayout, file: Uint8Array): number {
  const meta = parquetMetadata(file)
  const starts = new Map(l.segments.map((s, i) => [s.start, i]))
  let pages = 0
  for (const rg of meta.row_groups) {
    for (const cc of rg.columns) {
      const md = cc.meta_data
      if (md === undefined) { t.ok(false, 'column metadata'); continue }
      const dict = md.dictionary_page_offset !== undefined && md.dictionary_page_offset > 0n ? Number(md.dictionary_page_offset) : undefined
      const start = dict ?? Number(md.data_page_offset)
      const end = start + Number(md.total_compressed_size)
      const first = starts.get(start)
      const dataFirst = starts.get(Number(md.data_page_offset))
      t.ok(first !== undefined && dataFirst !== undefined, `column ${md.path_in_schema.join('.')} starts on a segment`)
      if (first === undefined) continue
      let i = first
      while (i < l.segments.length && l.segments[i].end < end) i++
      t.equal(l.segments[i]?.end, end, `column ${md.path_in_schema.join('.')} ends on a segment`)
      // Writers that list encoding stats count the pages there (pyarrow does; flights-3m's writer did not).
      if (md.encoding_stats === undefined) continue
      const expected = md.encoding_stats.reduce((s, e) => s + e.count, 0)
      t.equal(i - first + 1, expected, `column ${md.path_in_schema.join('.')}: one segment per page (${expected})`)
      pages += expected
    }
  }
  return pages
}

t.test('a CDC-written Parquet file: a segment per page, as the footer counts them', async t => {
  const file = load(BASE)
  let read = 0
  const l = await layoutOf('d/cdc.parquet', file, async (o, n) => { read += n; return file.subarray(o, o + n) })
  t.equal(l.format, 'parquet')
  assertTiles(t, l, file.length)
  const pages = assertPagesMatchFooter(t, l, file)
  t.ok(pages > 100, `${pages} pages`)
  t.same(l.segments[0], { start: 0, end: 4, kind: 'header' }, 'PAR1')
  const footer = l.segments[l.segments.length - 1]
  t.equal(footer.kind, 'header')
  t.equal(footer.end - footer.start, new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true) + 8, 'the footer')
  t.ok(read < file.length / 10, `read ${read} of ${file.length} bytes: footer and page headers only`)
})

t.test('a big-page Parquet file: pages past cdcMax are cut inside, and chunks stop at page ends', async t => {
  const file = readCorpus(FLIGHTS)
  const l = await layoutOf('flights.parquet', file)
  t.equal(l.format, 'parquet')
  assertTiles(t, l, file.length)
  assertPagesMatchFooter(t, l, file)
  const ends = new Set<number>()
  const counts = new Map<number, number>()
  let seg = 0
  for await (const c of chunkFile(bytesSource(file, 1 << 20), l)) {
    const end = c.offset + c.bytes.length
    ends.add(end)
    while (l.segments[seg].end < end) seg++
    counts.set(seg, (counts.get(seg) ?? 0) + 1)
  }
  t.ok(l.segments.every(s => ends.has(s.end)), 'every page end is a chunk end')
  const big = l.segments.findIndex(s => s.end - s.start > 2 * DEFAULT_CHUNK_PARAMS.cdcMax)
  t.ok(big >= 0 && (counts.get(big) ?? 0) >= 2, 'a large page is several chunks')
})

t.test('pageHeaderSizes reads a Thrift PageHeader, or asks for more bytes', async t => {
  const file = load(BASE)
  const l = await layoutOf('x.parquet', file)
  const page = l.segments[1]
  const h = pageHeaderSizes(file.subarray(page.start, page.end))
  t.ok(h !== undefined && h.headerLength + (h.compressedPageSize ?? -1) === page.end - page.start, 'header + data = the page')
  t.equal(pageHeaderSizes(file.subarray(page.start, page.start + 3)), undefined, 'a cut header needs more')
  t.throws(() => pageHeaderSizes(Uint8Array.of(0x15, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), /varint/)
})

t.test('a damaged Parquet file is laid out as plain bytes, never a crash', async t => {
  const file = load(BASE)
  const bytes = (n: number): FileLayout => ({ format: 'bytes', segments: n > 0 ? [{ start: 0, end: n, kind: 'bytes' }] : [] })
  const metaLen = new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true)
  const footerStart = file.length - 8 - metaLen
  const cases: Array<[string, Uint8Array]> = [
    ['truncated', file.slice(0, file.length - 100)],
    ['cut in half', file.slice(0, file.length >> 1)],
    ['tiny', Uint8Array.of(0x50, 0x41, 0x52, 0x31)],
    ['empty', new Uint8Array(0)],
    ['not Parquet', new TextEncoder().encode('PAR1 is how this starts, but it is only text PAR1?')]
  ]
  const badLen = file.slice(); new DataView(badLen.buffer).setUint32(badLen.length - 8, 0xfffffff0, true)
  cases.push(['footer length too large', badLen])
  const badFooter = file.slice(); badFooter.fill(0xff, footerStart, footerStart + 64)
  cases.push(['scribbled footer', badFooter])
  const badPage = file.slice(); badPage.fill(0x00, 5, 40)
  cases.push(['scribbled page header', badPage])
  const badMagic = file.slice(); badMagic[0] = 0x51
  cases.push(['bad leading magic', badMagic])
  for (const [what, f] of cases) t.same(await layoutOf('x.parquet', f), bytes(f.length), what)

  // Corrupt single bytes of the footer and of the first page headers: always a tiling layout.
  let parquet = 0
  let tried = 0
  for (const at of [...Array.from({ length: 60 }, (_, i) => 4 + i), ...Array.from({ length: 140 }, (_, i) => footerStart + Math.floor(i * metaLen / 140))]) {
    const f = file.slice()
    f[at] ^= 0x5a
    const l = await layoutOf('x.parquet', f)
    assertTiles({ equal: (a: unknown, b: unknown) => { if (a !== b) t.fail(`byte ${at}: not tiling`) } }, l, f.length)
    if (l.format === 'parquet') parquet++
    tried++
  }
  t.ok(parquet < tried, `${tried - parquet} of ${tried} corrupted files fall back to bytes, the rest still parse`)
})
