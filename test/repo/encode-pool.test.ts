import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createEncodePool } from '../../src/repo/encode-pool.js'
import { decodeChunk, encodeChunk, encodeSmallest } from '../../src/codec/codecs.js'
import { CodecId } from '../../src/codec/types.js'
import { cidFromDigest, Codec } from '../../src/hash/cid.js'
import { blake3 } from '../../src/hash/blake3.js'
import { freshRepo, tempDir } from '../helpers/store.js'
import { projectRoot } from '../helpers/corpus.js'

/** F32 weights and a drifted copy (a fine-tune's piece). */
function weights (n: number, seed: number, drift = 0): { base: Uint8Array, derived: Uint8Array } {
  const a = new Float32Array(n)
  const b = new Float32Array(n)
  let s = seed >>> 0 || 1
  const rnd = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296 - 0.5 }
  for (let i = 0; i < n; i++) { a[i] = rnd() * 0.04; b[i] = a[i] + rnd() * drift * Math.abs(a[i]) }
  return { base: new Uint8Array(a.buffer), derived: new Uint8Array(b.buffer) }
}

t.test('the encode pool gives what the main thread gives, and sends work to the least-loaded worker', async t => {
  const pool = createEncodePool(2)
  if (pool == null) { t.skip('*** SKIPPED LOUDLY: no compiled encode worker (npm run build) ***'); return }
  t.teardown(async () => await pool.close())
  // one slow job first: a 3 MB text chunk patched at level 19
  const rows = Array.from({ length: 60_000 }, (_, i) => `${i},${(i * 7919) % 10007},${(i * 31) % 97}`).join('\n')
  const text = new TextEncoder().encode(rows)
  const edited = new TextEncoder().encode(rows.replace(/,5,/g, ',five,'))
  const order: string[] = []
  const slow = pool.encode(edited, { kind: 'records', level: 19 }, { bytes: text }).then(r => { order.push('slow'); return r })
  const small = Array.from({ length: 8 }, (_, i) => weights(16_384, i + 1, 0.01))
  const fast = small.map(async (w, i) => await pool.encode(w.derived, { kind: 'tensor', dtype: 'F32' }, { bytes: w.base, dtype: 'F32' }).then(r => { order.push(`fast${i}`); return r }))
  const results = await Promise.all([slow, ...fast])
  t.equal(order[order.length - 1], 'slow', `the small jobs do not wait behind the slow one: ${order.join(' ')}`)
  // identical to the main thread's encoding (the same policy), and decodes back
  const expect = [encodeSmallest(edited, { kind: 'records', level: 19 }, { bytes: text }), ...small.map(w => encodeSmallest(w.derived, { kind: 'tensor', dtype: 'F32' }, { bytes: w.base, dtype: 'F32' }))]
  for (const [i, r] of results.entries()) {
    t.same([r.codec, r.delta, Buffer.from(r.data).equals(expect[i].data)], [expect[i].codec, expect[i].delta, true], `job ${i} as on the main thread`)
    const base = i === 0 ? text : small[i - 1].base
    const want = i === 0 ? edited : small[i - 1].derived
    t.ok(Buffer.from(decodeChunk(r.codec, r.data, want.length, r.delta ? base : undefined)).equals(want), `job ${i} decodes back`)
  }
  t.equal(pool.inFlight, 0)
})

t.test('a base sent as its stored entry is decoded and hash-checked by the worker', async t => {
  const pool = createEncodePool(2)
  if (pool == null) { t.skip('*** SKIPPED LOUDLY: no compiled encode worker (npm run build) ***'); return }
  t.teardown(async () => await pool.close())
  const w = weights(65_536, 7, 0.01)
  const hint = { kind: 'tensor', dtype: 'F32' }
  const stored = encodeChunk(w.base, hint)
  t.equal(stored.codec, CodecId.BYTEGROUP_ZSTD)
  const cid = cidFromDigest(Codec.RAW, blake3(w.base))
  const r = await pool.encode(w.derived, hint, { encoded: { codec: stored.codec, data: stored.data, logicalLength: w.base.length }, cid, dtype: 'F32' })
  const expect = encodeSmallest(w.derived, hint, { bytes: w.base, dtype: 'F32' })
  t.same([r.codec, r.delta, Buffer.from(r.data).equals(expect.data)], [expect.codec, true, true], 'the same delta as against the decoded base')
  // an entry that does not hash to its CID is refused: never a delta against damaged bytes
  const other = cidFromDigest(Codec.RAW, blake3(w.derived))
  await t.rejects(pool.encode(w.derived, hint, { encoded: { codec: stored.codec, data: stored.data, logicalLength: w.base.length }, cid: other, dtype: 'F32' }), { code: 'ERR_HASH_MISMATCH' })
  t.equal(pool.inFlight, 0)
})

t.test('a fine-tune large enough for the pool (≥ 32 MiB) stored with --base reads back identical', async t => {
  const dir = tempDir(t)
  const gen = (out: string, extra: string[]): void => {
    const r = spawnSync(process.execPath, [join(projectRoot, 'scripts/gen-safetensors.mjs'), '--size', '40MiB', '--dtype', 'f32', '--out', out, ...extra])
    t.equal(r.status, 0, r.stderr.toString())
  }
  mkdirSync(join(dir, 'base'))
  mkdirSync(join(dir, 'ft'))
  gen(join(dir, 'base', 'model.safetensors'), [])
  gen(join(dir, 'ft', 'model.safetensors'), ['--finetune-drift', '0.001'])
  const { repo } = await freshRepo(t)
  await repo.add('org/base', join(dir, 'base'))
  const r = await repo.add('org/ft', join(dir, 'ft'), { base: 'org/base' })
  const size = readFileSync(join(dir, 'ft', 'model.safetensors')).length
  t.ok(r.deltaLogicalBytes > size * 0.9, 'stored as deltas of the base')
  t.ok(r.newStoredBytes < size * 0.6, `${r.newStoredBytes} bytes stored for ${size}`)
  await repo.export('org/ft', undefined, join(dir, 'out'))
  const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex')
  t.equal(sha(join(dir, 'out', 'model.safetensors')), sha(join(dir, 'ft', 'model.safetensors')), 'byte-identical')
})
