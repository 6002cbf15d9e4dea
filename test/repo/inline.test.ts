/**
 * Inline leaves: chunks of at most INLINE_MAX bytes are identity CIDs held in
 * their DAG node, not stored. A TFLite model has ~150 of them (buffer length
 * prefixes and padding between tensors); they read back, verify, survive gc,
 * travel in delta bundles, and cost no pack or index entry.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { corpusPath } from '../helpers/corpus.js'
import { freshRepo, tempDir } from '../helpers/store.js'
import { INLINE_MAX, inlineCid, isInline, verifyBlock, Codec, type CID } from '../../src/hash/cid.js'
import { compressDelta, decompressDelta } from '../../src/repo/delta-bundle.js'

const DIR = 'models/mediapipe-palm_detection_full-repack'
const BASE = corpusPath(`${DIR}/base.palm_detection_full.2021-11-03.tflite`)
const DERIVED = corpusPath(`${DIR}/derived.palm_detection_full.2023-09-22.tflite`)

t.test('identity CIDs hold their bytes and verify', async t => {
  const b = new Uint8Array([1, 2, 3, 4, 5])
  const cid = inlineCid(b)
  t.ok(isInline(cid))
  t.equal(cid.code, Codec.RAW)
  verifyBlock(cid, b)
  t.throws(() => { verifyBlock(cid, new Uint8Array([1, 2, 3, 4, 6])) }, { code: 'ERR_HASH_MISMATCH' })
  t.equal(INLINE_MAX, 32)
})

t.test('a TFLite model: tiny leaves inline, everything reads back, verifies and survives gc', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('models/org/palm', BASE)
  const r = await repo.add('models/org/palm', DERIVED)
  // before inline leaves and anchored pairing: 24,383 bytes; zstd -19 --long=27 --patch-from: 5,900
  t.ok(r.newStoredBytes < 10_000, `the repack stores in ${r.newStoredBytes} bytes`)
  const entry = await repo.stat('models/org/palm', undefined, 'derived.palm_detection_full.2023-09-22.tflite')
  const leaves: CID[] = []
  const walk = (c: CID): void => {
    if (c.code === Codec.RAW) { leaves.push(c); return }
    for (const l of dagPb.decode(repo.blocks.getSync(c)).Links) walk(l.Hash)
  }
  walk(entry.cid)
  const inline = leaves.filter(isInline)
  t.ok(inline.length > 100, `${inline.length} of ${leaves.length} leaves are inline`)
  for (const c of inline) {
    t.equal(repo.blocks.location(c), undefined, 'no index entry')
    if (!repo.blocks.has(c)) t.fail('has() is true for inline leaves')
  }
  const read = async (): Promise<Buffer> => { const out: Buffer[] = []; for await (const b of repo.read(entry)) out.push(Buffer.from(b)); return Buffer.concat(out) }
  t.ok((await read()).equals(readFileSync(DERIVED)), 'reads back byte-identical')
  t.equal((await repo.verify()).ok, true, 'verify passes')
  await repo.gc()
  t.ok((await read()).equals(readFileSync(DERIVED)), 'still after gc')
  t.equal((await repo.verify()).ok, true, 'verify passes after gc')
})

t.test('delta bundles carry nodes with inline leaves and rebuild the file', async t => {
  const dir = tempDir(t)
  const res = await compressDelta(BASE, DERIVED, join(dir, 'bundle'))
  t.ok(res.deltaBytes < 8000, `bundle pack: ${res.deltaBytes} bytes`)
  await decompressDelta(BASE, join(dir, 'bundle'), join(dir, 'out'))
  t.ok(readFileSync(join(dir, 'out', 'derived.palm_detection_full.2023-09-22.tflite')).equals(readFileSync(DERIVED)), 'rebuilt byte-identical')
})
