/**
 * Anchored chunking: a derived file chunked with its base's chunk ends as
 * anchors cuts where those ends reappear, so its chunks lie inside base
 * chunks; the cuts do not depend on how the stream is split; an append-only
 * new version chunks exactly like its base; repetitive data is not shredded;
 * and through `add`, the anchored pairing makes record-edited datasets store
 * far smaller than ordinal pairing did.
 */
import t from 'tap'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { chunkFile, DEFAULT_CHUNK_PARAMS } from '../../src/chunk/chunker.js'
import { ANCHOR_MIN_CHUNK, ANCHOR_VERIFY, createAnchors, type Anchors } from '../../src/chunk/gear.js'
import type { Chunk } from '../../src/chunk/types.js'
import { detectLayout } from '../../src/formats/detect.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { corpusDir, corpusPath, readCorpus } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'

async function chunks (name: string, file: Uint8Array, anchors?: Anchors, feed = 1 << 20): Promise<Chunk[]> {
  const layout = await detectLayout(name, file.subarray(0, 4096), file.length, headReader(file).read)
  const out: Chunk[] = []
  for await (const c of chunkFile(bytesSource(file, feed), layout, DEFAULT_CHUNK_PARAMS, { anchors })) out.push({ ...c, bytes: c.bytes.slice() })
  return out
}

function anchorsOf (cs: Chunk[]): Anchors {
  return createAnchors(cs.slice(0, -1).map((c, index) => ({ index, bytes: c.bytes, end: c.offset + c.bytes.length })))
}

const OIL = 'datasets/oil-prices-brent-daily-git-series'
const oil = readdirSync(join(corpusDir, OIL)).filter(f => f.endsWith('.csv')).sort()

t.test('word lists: british chunks lie inside american chunks, cut at the same ends', async t => {
  const base = readCorpus('datasets/debian-wordlists/american-english')
  const derived = readCorpus('datasets/debian-wordlists/british-english')
  const B = await chunks('american-english', base)
  const plain = await chunks('british-english', derived)
  const D = await chunks('british-english', derived, anchorsOf(B))
  const hits = D.filter(c => c.anchor !== undefined)
  t.ok(hits.length >= 0.8 * (B.length - 1), `${hits.length} of ${B.length - 1} base chunk ends found again`)
  for (const c of hits) {
    const b = B[c.anchor as number]
    // a verified hit ends with the base chunk's own last bytes
    const tail = b.bytes.subarray(Math.max(0, b.bytes.length - 32))
    t.same(Buffer.from(c.bytes.subarray(c.bytes.length - tail.length)), Buffer.from(tail), `chunk at ${c.offset} ends like base chunk ${String(c.anchor)}`)
  }
  t.same(D.reduce((s, c) => s + c.bytes.length, 0), derived.length, 'the chunks tile the file')
  t.ok(plain.length > 0)
})

t.test('the cuts do not depend on how the stream is split', async t => {
  const base = readCorpus('datasets/debian-wordlists/american-english')
  const derived = readCorpus('datasets/debian-wordlists/british-english')
  const A = anchorsOf(await chunks('american-english', base))
  const whole = await chunks('british-english', derived, A, derived.length)
  for (const feed of [1, 4093, 65536]) {
    const bits = feed === 1 ? await chunks('british-english', derived.subarray(0, 200_000), A, 1) : await chunks('british-english', derived, A, feed)
    const ref = feed === 1 ? await chunks('british-english', derived.subarray(0, 200_000), A, 200_000) : whole
    t.same(bits.map(c => [c.offset, c.bytes.length, c.anchor]), ref.map(c => [c.offset, c.bytes.length, c.anchor]), `fed ${feed} bytes at a time`)
  }
})

t.test('an appended CSV version chunks exactly like its base, and a CRLF → LF rewrite is not shredded', async t => {
  const v0 = readCorpus(join(OIL, oil[0]))
  const v1 = readCorpus(join(OIL, oil[1]))
  const B = await chunks('a.csv', v0)
  const D = await chunks('a.csv', v1, anchorsOf(B))
  const shape = (cs: Chunk[]): Array<[number, number]> => cs.map(c => [c.offset, c.bytes.length])
  t.same(shape(D).slice(0, -1), shape(B).slice(0, -1), 'every chunk but the last is unchanged')
  const v2 = readCorpus(join(OIL, oil[2]))
  const D2 = await chunks('a.csv', v2, anchorsOf(D))
  // every line changed ('\r' dropped): few 32-byte windows survive, and none may cut a tiny chunk
  for (const c of D2.slice(0, -1)) if (c.anchor !== undefined) t.ok(c.bytes.length >= ANCHOR_MIN_CHUNK, `anchor cut chunk of ${c.bytes.length} bytes`)
  t.ok(D2.length < 40, `${D2.length} chunks for ${v2.length} bytes`)
  t.ok(ANCHOR_VERIFY >= 64)
})

t.test('through add: record edits store as small deltas of the base chunks holding them', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('datasets/org/words', corpusPath('datasets/debian-wordlists/american-english'))
  const r = await repo.add('datasets/org/words', corpusPath('datasets/debian-wordlists/british-english'))
  t.equal(r.base?.chosen, 'parent')
  // ordinal pairing stored 33,548 bytes here; zstd -19 --long=27 --patch-from: 7,466
  t.ok(r.newStoredBytes < 16_000, `british after american: ${r.newStoredBytes} bytes`)
  const g = await freshRepo(t)
  await g.repo.add('datasets/org/gsm8k', corpusPath('datasets/gsm8k-test-socratic/test.jsonl'))
  const s = await g.repo.add('datasets/org/gsm8k', corpusPath('datasets/gsm8k-test-socratic/test_socratic.jsonl'))
  // ordinal pairing: 267,320; zstd -19 of the file alone: 227,495
  t.ok(s.newStoredBytes < 120_000, `gsm8k socratic after test: ${s.newStoredBytes} bytes`)
})
