/**
 * Resemblance sketches: near-identical chunks share super-features,
 * unrelated ones do not, the values are stable (they are stored in the
 * index), and through `add` a dataset stored in another repo becomes the
 * delta base of a similar new file with no base named.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { chunkFile, DEFAULT_CHUNK_PARAMS } from '../../src/chunk/chunker.js'
import { MIN_SKETCH_BYTES, resemblance, sketch } from '../../src/chunk/sketch.js'
import { detectLayout } from '../../src/formats/detect.js'
import { bytesSource, headReader } from '../helpers/byte-source.js'
import { corpusPath, readCorpus } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'

/** the sketch of a fixed 8 KiB pattern: changing the sketch function silently would orphan every stored sketch slot */
const PINNED = [1827426203, 4003395344, 2780708688]

async function chunks (name: string, file: Uint8Array): Promise<Uint8Array[]> {
  const layout = await detectLayout(name, file.subarray(0, 4096), file.length, headReader(file).read)
  const out: Uint8Array[] = []
  for await (const c of chunkFile(bytesSource(file, 1 << 20), layout, DEFAULT_CHUNK_PARAMS)) out.push(c.bytes.slice())
  return out
}

t.test('sketch values are stable (the index stores them)', async t => {
  const b = new Uint8Array(8192)
  for (let i = 0; i < b.length; i++) b[i] = (i * 7919 + (i >> 5) * 31) & 0xff
  t.same(Array.from(sketch(b) ?? []), PINNED)
  t.equal(sketch(new Uint8Array(MIN_SKETCH_BYTES - 1)), undefined, 'short chunks get none')
})

t.test('edited chunks resemble their originals, unrelated ones do not', async t => {
  const a = await chunks('american-english', readCorpus('datasets/debian-wordlists/american-english'))
  const b = await chunks('british-english', readCorpus('datasets/debian-wordlists/british-english'))
  const sa = a.map(sketch)
  let found = 0
  for (const c of b) {
    const s = sketch(c)
    if (s != null && sa.some(x => x != null && resemblance(x, s) > 0)) found++
  }
  t.ok(found >= 0.8 * b.length, `${found} of ${b.length} british chunks resemble an american one`)
  let false_ = 0
  for (let i = 0; i < 200; i++) {
    const x = sketch(randomBytes(32768))
    const y = sketch(randomBytes(32768))
    if (x != null && y != null && resemblance(x, y) > 0) false_++
  }
  t.equal(false_, 0, 'no two random chunks share a super-feature')
  const one = randomBytes(32768)
  const s1 = sketch(one)
  one[100] ^= 1
  const s2 = sketch(one)
  t.ok(s1 != null && s2 != null && resemblance(s1, s2) >= 2, 'a one-bit edit keeps most super-features')
})

t.test('through add: a similar file in another repo becomes the delta base; the sketches persist', async t => {
  const { repo, dir } = await freshRepo(t)
  await repo.add('datasets/org/american', corpusPath('datasets/debian-wordlists/american-english'))
  await repo.close()
  // reopen: the sketch slots live in LevelDB
  const { createRepo } = await import('../../src/repo/repo.js')
  const again = await createRepo({ dir: join(dir, 'store') })
  t.teardown(async () => { await again.close() })
  const r = await again.add('datasets/org/british', corpusPath('datasets/debian-wordlists/british-english'))
  t.equal(r.base, undefined, 'no base commit was used')
  t.ok(r.deltaLogicalBytes > 0.6 * 977_195, `${r.deltaLogicalBytes} bytes stored as deltas of similar chunks`)
  // alone, the file stores in ~300 KB (level-1 chunks); zstd -19 of it is 221,656
  t.ok(r.newStoredBytes < 100_000, `british-english beside american-english: ${r.newStoredBytes} bytes`)
  const back = Buffer.concat(await (async () => { const out: Buffer[] = []; for await (const b of again.read(await again.stat('datasets/org/british', undefined, 'british-english'))) out.push(Buffer.from(b)); return out })())
  t.ok(back.equals(readCorpus('datasets/debian-wordlists/british-english')), 'reads back identical')
  t.equal((await again.verify()).ok, true, 'verify passes')
})

