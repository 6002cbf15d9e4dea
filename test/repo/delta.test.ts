import t from 'tap'
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync, statSync, copyFileSync } from 'node:fs'
import { join, basename } from 'node:path'
import { spawnSync } from 'node:child_process'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, runCli, tempDir } from '../helpers/store.js'
import { castSafetensorsToBf16 } from '../helpers/bf16.js'
import { compressDelta, decompressDelta, estimateDeltaSavings } from '../../src/repo/delta-bundle.js'

const M = (p: string): string => join(corpusDir, 'models', p)
const peftDir = M('peft-finegates-roberta-mrpc-checkpoints')
const peft = readdirSync(peftDir).filter(f => f.endsWith('.safetensors')).sort().map(f => join(peftDir, f))
const pose = readdirSync(M('mediapipe-pose_detection-series')).filter(f => f.endsWith('.tflite')).sort().map(f => join(M('mediapipe-pose_detection-series'), f))
const pairOf = (dir: string): [string, string] => {
  const fs = readdirSync(M(dir)).filter(f => f !== 'SOURCE.txt').sort()
  return [M(join(dir, fs[0])), M(join(dir, fs[1]))]
}

/** Every pair of the corpus: named pairs, then consecutive steps of each series. */
const pairs: Array<[string, string, string]> = [
  ['peft 230→460', peft[0], peft[1]],
  ['peft 2070→2300', peft[8], peft[9]],
  ['palm repack', ...pairOf('mediapipe-palm_detection_full-repack')],
  ['face fp32→fp16', ...pairOf('mediapipe-face_landmark-fp32-to-fp16')],
  ['face retrain', ...pairOf('mediapipe-face_landmark-retrain-2020')],
  ...pose.slice(1).map((f, i): [string, string, string] => [`pose ${basename(pose[i])}→${basename(f)}`, pose[i], f]),
  ...peft.slice(1).map((f, i): [string, string, string] => [`peft step ${i + 1}`, peft[i], f])
]

// Every pair is expected below --patch-from now (the container re-serialisations too, since
// their bytes are cut in medium chunks, file nodes are link-list edits and tensor tables keep
// gaps and lengths). A name listed here would be reported as TODO instead of failing.
const KNOWN_MISSES: string[] = []

function patchFrom (base: string, derived: string): number {
  const r = spawnSync('zstd', ['-19', '--long=27', '-q', '-c', `--patch-from=${base}`, derived], { maxBuffer: 1 << 30 })
  if (r.status !== 0) return NaN
  return r.stdout.length
}
const haveZstd = spawnSync('zstd', ['--version']).status === 0

/** The file alone, in a directory of its own named like the base, so pairing by path applies. */
function stage (dir: string, file: string, as: string): string {
  mkdirSync(dir, { recursive: true })
  copyFileSync(file, join(dir, as))
  return dir
}

t.test('delta compress → decompress is byte-identical for every corpus pair, and smaller than zstd --patch-from', async t => {
  if (!haveZstd) t.comment('SKIPPED LOUDLY: zstd CLI missing, size comparison against --patch-from not made (run scripts/install-system-deps.sh)')
  const dir = tempDir(t)
  for (const [name, base, derived] of pairs) {
    const out = join(dir, name.replace(/\W+/g, '_'))
    const r = await compressDelta(base, derived, join(out, 'bundle'))
    const rebuilt = join(out, 'rebuilt')
    await decompressDelta(base, join(out, 'bundle'), rebuilt)
    const got = readFileSync(join(rebuilt, basename(derived)))
    t.ok(got.equals(readFileSync(derived)), `${name}: rebuilt byte-identical`)
    if (haveZstd) {
      const pf = patchFrom(base, derived)
      // Known misses (KNOWN_MISSES), kept visible as TODO: not hidden, not passing.
      const todo = KNOWN_MISSES.some(k => name.startsWith(k)) ? 'issue 3: tenpak does not yet beat --patch-from on this pair' : false
      t.ok(r.deltaBytes < pf, `${name}: bundle ${r.deltaBytes} < zstd -19 --long=27 --patch-from ${pf}`, { todo })
    }
  }
})

t.test('size goals: peft pairs below the XOR+planes+zstd -19 reference, palm repack below 1%, fp32→fp16 far below zstd', async t => {
  const a = await estimateDeltaSavings(peft[0], peft[1])
  t.ok(a.deltaBytes < 2_390_955, `peft 230→460: ${a.deltaBytes} < 2,390,955`)
  const b = await estimateDeltaSavings(peft[8], peft[9])
  t.ok(b.deltaBytes < 1_936_172, `peft 2070→2300: ${b.deltaBytes} < 1,936,172`)
  const [pb, pd] = pairOf('mediapipe-palm_detection_full-repack')
  const palm = await estimateDeltaSavings(pb, pd)
  t.ok(palm.deltaBytes < 0.01 * statSync(pd).size, `palm repack: ${palm.deltaBytes} < 1% of ${statSync(pd).size}`)
  const [fb, fd] = pairOf('mediapipe-face_landmark-fp32-to-fp16')
  const face = await estimateDeltaSavings(fb, fd)
  t.ok(face.deltaBytes < 0.25 * 1_118_722, `fp32→fp16: ${face.deltaBytes} far below zstd -19's 1,118,722`)
})

t.test('the 10-checkpoint series stored as a chain through add (each version on top of the last) stays under 20 MB and reads back', async t => {
  const { repo, dir } = await freshRepo(t)
  let total = 0
  for (const [i, f] of peft.entries()) {
    const src = stage(join(dir, `v${i}`), f, 'adapter_model.safetensors')
    const r = await repo.add('org/finegates', src, { message: basename(f) })
    if (i > 0) t.equal(r.base?.chosen, 'parent', 'the previous checkpoint is the base')
    total += r.newStoredBytes
  }
  t.ok(total < 26_965_001, `series stored in ${total} bytes, below the patch-from chain's 26,965,001`)
  t.ok(total < 20_000_000, `series stored in ${total} bytes (goal < 20 MB)`, { todo: 'issue 3: the chain is ~22 MB, the 20 MB goal is not met yet' })
  const log = await repo.log('org/finegates')
  t.equal(log.length, 10)
  for (const [i, c] of log.reverse().entries()) {
    const out = join(dir, `out${i}`)
    await repo.export('org/finegates', c.commit, out)
    t.ok(readFileSync(join(out, 'adapter_model.safetensors')).equals(readFileSync(peft[i])), `checkpoint ${i} reads back identical`)
  }
  t.ok((await repo.verify()).ok)
})

t.test('add --base stores a fine-tune as a delta that cat and export read back identical (f32 and bf16)', async t => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  for (const [kind, conv] of [['f32', (b: Buffer) => b], ['bf16', (b: Buffer) => Buffer.from(castSafetensorsToBf16(b))]] as const) {
    const base = stage(join(dir, kind, 'base'), peft[0], 'model.safetensors')
    writeFileSync(join(base, 'model.safetensors'), conv(readFileSync(peft[0])))
    const ft = join(dir, kind, 'ft')
    mkdirSync(ft, { recursive: true })
    const ftBytes = conv(readFileSync(peft[1]))
    writeFileSync(join(ft, 'model.safetensors'), ftBytes)
    t.equal(runCli(['add', `org/base-${kind}`, base], { store }).status, 0)
    const r = runCli(['add', `org/ft-${kind}`, ft, '--base', `org/base-${kind}`, '--json'], { store })
    t.equal(r.status, 0, r.stderr.toString())
    const j = JSON.parse(r.stdout.toString())
    t.equal(j.base.chosen, 'named')
    t.ok(j.deltaLogicalBytes > 0.5 * ftBytes.length, `${kind}: most bytes stored as deltas (${j.deltaLogicalBytes} of ${ftBytes.length})`)
    t.ok(j.newStoredBytes < ftBytes.length, `${kind}: stored ${j.newStoredBytes} < ${ftBytes.length}`)
    const cat = runCli(['cat', `org/ft-${kind}`, 'model.safetensors'], { store })
    t.ok(cat.stdout.equals(ftBytes), `${kind}: cat returns the fine-tune`)
    const part = runCli(['cat', `org/ft-${kind}`, 'model.safetensors', '--range', '1000-300000'], { store })
    t.ok(part.stdout.equals(ftBytes.subarray(1000, 300001)), `${kind}: ranges too`)
    t.equal(runCli(['export', `org/ft-${kind}`, join(dir, kind, 'out')], { store }).status, 0)
    t.ok(readFileSync(join(dir, kind, 'out', 'model.safetensors')).equals(ftBytes))
  }
  // without --base, the model with the most tensors in common is proposed and named
  const auto = runCli(['add', 'org/ft-auto', stage(join(dir, 'auto'), peft[7], 'model.safetensors'), '--json'], { store })
  const j = JSON.parse(auto.stdout.toString())
  t.equal(j.base.chosen, 'auto')
  t.match(j.base.repo, /models\/org\/(base|ft)-f32/)
  t.equal(runCli(['verify'], { store }).status, 0)
})

t.test('bad input: unrelated base warns and stays exact; corrupt bundle, wrong base, missing base chunk fail and write nothing', async t => {
  const dir = tempDir(t)
  const [fb] = pairOf('mediapipe-face_landmark-retrain-2020')
  // unrelated: a text dataset as the "base" of a model
  const unrelated = join(corpusDir, 'datasets/debian-wordlists/american-english')
  const est = runCli(['delta', 'estimate', unrelated, peft[1], '--json'])
  t.equal(est.status, 0)
  t.match(est.stderr.toString(), /warning: .*shares little/)
  const ub = join(dir, 'unrelated-bundle')
  t.equal(runCli(['delta', 'compress', unrelated, peft[1], '--output', ub]).status, 0)
  t.equal(runCli(['delta', 'decompress', unrelated, ub, '--output', join(dir, 'u-out')]).status, 0)
  t.ok(readFileSync(join(dir, 'u-out', basename(peft[1]))).equals(readFileSync(peft[1])), 'exact despite the unrelated base')

  const bundle = join(dir, 'bundle')
  t.equal(runCli(['delta', 'compress', peft[0], peft[1], '--output', bundle]).status, 0)
  // wrong base
  const wrong = runCli(['delta', 'decompress', fb, bundle, '--output', join(dir, 'o1')])
  t.equal(wrong.status, 1)
  t.match(wrong.stderr.toString(), /^tenpak: ERR_BASE_MISMATCH: /)
  t.notOk(existsSync(join(dir, 'o1')), 'nothing written at OUT')
  // corrupt bundle: flip a byte inside the pack's data
  const corrupt = join(dir, 'corrupt')
  mkdirSync(corrupt)
  copyFileSync(join(bundle, 'manifest.json'), join(corrupt, 'manifest.json'))
  const pack = readFileSync(join(bundle, 'delta.pack'))
  pack[Math.floor(pack.length / 2)] ^= 0x55
  writeFileSync(join(corrupt, 'delta.pack'), pack)
  const bad = runCli(['delta', 'decompress', peft[0], corrupt, '--output', join(dir, 'o2')])
  t.equal(bad.status, 1)
  t.match(bad.stderr.toString(), /^tenpak: ERR_(BAD_PACK|HASH_MISMATCH|CODEC): /)
  t.notOk(existsSync(join(dir, 'o2')), 'nothing written at OUT')
  // missing base chunk: the right base file with one tensor changed (same tree? no: different) → mismatch;
  // to hit a missing chunk, hand the bundle a base with the right tree CID recorded but strip it: edit the manifest
  const m = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'))
  const missing = join(dir, 'missing')
  mkdirSync(missing)
  copyFileSync(join(bundle, 'delta.pack'), join(missing, 'delta.pack'))
  const otherBase = join(dir, 'other-base')
  stage(otherBase, peft[2], basename(peft[0]))
  const r2 = runCli(['delta', 'compress', otherBase, peft[1], '--output', join(dir, 'tmpb')])
  t.equal(r2.status, 0)
  m.base.tree = JSON.parse(readFileSync(join(dir, 'tmpb', 'manifest.json'), 'utf8')).base.tree
  writeFileSync(join(missing, 'manifest.json'), JSON.stringify(m))
  const miss = runCli(['delta', 'decompress', otherBase, missing, '--output', join(dir, 'o3')])
  t.equal(miss.status, 1)
  t.match(miss.stderr.toString(), /^tenpak: ERR_BASE_MISMATCH: .*base chunk/)
  t.notOk(existsSync(join(dir, 'o3')), 'nothing written at OUT')
  // not a bundle at all
  const none = runCli(['delta', 'decompress', peft[0], dir, '--output', join(dir, 'o4')])
  t.match(none.stderr.toString(), /^tenpak: ERR_PATH_NOT_FOUND: .*not a tenpak delta bundle/)
})
