import t from 'tap'
import { readdirSync, readFileSync, mkdirSync, copyFileSync, existsSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, runCli, tempDir } from '../helpers/store.js'

const peftDir = join(corpusDir, 'models', 'peft-finegates-roberta-mrpc-checkpoints')
const peft = readdirSync(peftDir).filter(f => f.endsWith('.safetensors')).sort().map(f => join(peftDir, f))

/** The file alone, in a directory of its own, under the name the pair shares. */
function stage (dir: string, file: string): string {
  mkdirSync(dir, { recursive: true })
  copyFileSync(file, join(dir, 'adapter_model.safetensors'))
  return dir
}

interface Tensor { name: string, dtype: string, shape: number[], values: Float32Array }

/** A minimal safetensors reader, independent of src/formats: header JSON, then F32 values. */
function parseSafetensors (buf: Buffer): { headerBytes: Buffer, tensors: Tensor[] } {
  const n = Number(buf.readBigUInt64LE(0))
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string, shape: number[], data_offsets: [number, number] }>
  const tensors: Tensor[] = []
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') continue
    const [a, b] = v.data_offsets
    const raw = Buffer.from(buf.subarray(8 + n + a, 8 + n + b)) // copy: aligned for Float32Array
    if (v.dtype !== 'F32') throw new Error(`unexpected dtype ${v.dtype} for ${name}`)
    tensors.push({ name, dtype: v.dtype, shape: v.shape, values: new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4) })
  }
  return { headerBytes: buf.subarray(0, 8 + n), tensors }
}

/** Error of `recon` against `orig`, in float64, element by element. */
function errorOf (orig: Float32Array, recon: Float32Array): { sumSqErr: number, sumSqRef: number, maxAbs: number } {
  let sumSqErr = 0
  let sumSqRef = 0
  let maxAbs = 0
  for (let i = 0; i < orig.length; i++) {
    const x = orig[i]
    const e = recon[i] - x
    sumSqErr += e * e
    sumSqRef += x * x
    if (Math.abs(e) > maxAbs) maxAbs = Math.abs(e)
  }
  return { sumSqErr, sumSqRef, maxAbs }
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))

/** Files of a store that a write would change: packs and refs (path → size). */
function snapshot (store: string): Map<string, number> {
  const out = new Map<string, number>()
  const walk = (d: string): void => {
    if (!existsSync(d)) return
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p)
      else out.set(relative(store, p), statSync(p).size)
    }
  }
  walk(join(store, 'packs'))
  walk(join(store, 'refs'))
  return out
}

/** A store holding the base, then the fine-tune added with `args`; returns the add's JSON and stderr. */
function addPair (dir: string, name: string, args: string[]): { store: string, json: any, stderr: string } {
  const store = join(dir, name, 'store')
  const base = stage(join(dir, name, 'base'), peft[0])
  const ft = stage(join(dir, name, 'ft'), peft[1])
  const b = runCli(['add', 'org/base', base], { store })
  if (b.status !== 0) throw new Error(b.stderr.toString())
  const r = runCli(['add', 'org/ft', ft, '--base', 'org/base', '--json', ...args], { store })
  if (r.status !== 0) throw new Error(r.stderr.toString())
  return { store, json: JSON.parse(r.stdout.toString()), stderr: r.stderr.toString() }
}

t.test('add --lossy int8 on the peft pair: < 1% error, smaller than lossless, report matches an independent computation', async t => {
  const dir = tempDir(t)
  const lossless = addPair(dir, 'lossless', [])
  t.equal(lossless.json.lossy, undefined, 'a plain add reports nothing lossy')
  t.notMatch(lossless.stderr, /lossy/i)

  const int8 = addPair(dir, 'int8', ['--lossy', 'int8'])
  const rep = int8.json.lossy
  t.equal(rep.mode, 'int8')
  t.match(int8.stderr, /^tenpak: warning: this revision is LOSSY \(lossy int8: /m, 'stderr says the revision is lossy')
  t.ok(rep.overall.relRms < 0.01, `overall relative RMS ${rep.overall.relRms} < 1%`)
  t.ok(int8.json.newStoredBytes < lossless.json.newStoredBytes, `int8 stored ${int8.json.newStoredBytes} < lossless ${lossless.json.newStoredBytes}`)
  t.comment(`lossless ${lossless.json.newStoredBytes} B; int8 ${int8.json.newStoredBytes} B, rel RMS ${rep.overall.relRms}, max abs ${rep.overall.maxAbs}`)

  // export the lossy revision and recompute every figure from the two files
  const out = join(dir, 'int8', 'out')
  t.equal(runCli(['export', 'org/ft', out], { store: int8.store }).status, 0)
  const exported = readFileSync(join(out, 'adapter_model.safetensors'))
  const origBuf = readFileSync(peft[1])
  t.equal(exported.length, origBuf.length)
  t.notOk(exported.equals(origBuf), 'the lossy revision differs from the input')
  const cat = runCli(['cat', 'org/ft', 'adapter_model.safetensors'], { store: int8.store })
  t.ok(cat.stdout.equals(exported), 'cat reads the same reconstruction')
  const orig = parseSafetensors(origBuf)
  const recon = parseSafetensors(exported)
  t.ok(recon.headerBytes.equals(orig.headerBytes), 'same safetensors header: names, dtypes, shapes, offsets')
  t.same(recon.tensors.map(x => [x.name, x.dtype, x.shape]), orig.tensors.map(x => [x.name, x.dtype, x.shape]))

  const reported = new Map<string, any>(rep.tensors.map((x: any) => [x.name, x]))
  t.equal(reported.size, orig.tensors.length, 'every tensor of the pair was quantised and reported')
  let allErr = 0
  let allRef = 0
  let allMax = 0
  let elements = 0
  let mismatches = 0
  for (const [i, o] of orig.tensors.entries()) {
    const e = errorOf(o.values, recon.tensors[i].values)
    allErr += e.sumSqErr
    allRef += e.sumSqRef
    allMax = Math.max(allMax, e.maxAbs)
    elements += o.values.length
    const r = reported.get(o.name)
    const relRms = e.sumSqRef > 0 ? Math.sqrt(e.sumSqErr / e.sumSqRef) : 0
    if (r == null || r.elements !== o.values.length || !close(r.relRms, relRms) || !close(r.maxAbs, e.maxAbs)) {
      mismatches++
      t.fail(`${o.name}: reported ${JSON.stringify(r)}, computed relRms ${relRms} maxAbs ${e.maxAbs}`)
    }
  }
  t.equal(mismatches, 0, 'per-tensor figures equal the independent computation within 1e-9')
  t.ok(close(rep.overall.relRms, Math.sqrt(allErr / allRef)), `overall relRms ${rep.overall.relRms} ≈ ${Math.sqrt(allErr / allRef)}`)
  t.ok(close(rep.overall.maxAbs, allMax), `overall maxAbs ${rep.overall.maxAbs} ≈ ${allMax}`)
  t.equal(rep.overall.elements, elements)

  const v = runCli(['verify'], { store: int8.store })
  t.equal(v.status, 0, v.stderr.toString() + v.stdout.toString())
  const log = runCli(['log', 'org/ft'], { store: int8.store })
  t.match(log.stdout.toString(), /\[lossy int8\]/, 'the commit message says lossy int8')

  // coarser modes: larger error, smaller store
  const int4 = addPair(dir, 'int4', ['--lossy', 'int4'])
  const bit1 = addPair(dir, '1bit', ['--lossy', '1bit'])
  const rows = [int8, int4, bit1].map(x => ({ mode: x.json.lossy.mode, relRms: x.json.lossy.overall.relRms, maxAbs: x.json.lossy.overall.maxAbs, stored: x.json.newStoredBytes }))
  t.comment(JSON.stringify(rows))
  t.ok(rows[0].relRms < rows[1].relRms && rows[1].relRms < rows[2].relRms, 'error grows int8 < int4 < 1bit')
  t.ok(rows[0].stored > rows[1].stored && rows[1].stored > rows[2].stored, 'store shrinks int8 > int4 > 1bit')
  for (const x of [int4, bit1]) t.equal(runCli(['verify'], { store: x.store }).status, 0, `${x.json.lossy.mode}: verify passes`)
})

t.test('--lossy is refused, with the store unchanged, for an unknown mode, without a base and with --no-base', async t => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const ft = stage(join(dir, 'ft'), peft[1])
  // no base at all: an empty store has nothing to quantise against
  const none = runCli(['add', 'org/ft', ft, '--lossy', 'int8'], { store })
  t.equal(none.status, 1)
  t.match(none.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: .*base/)
  t.equal(none.stderr.toString().trim().split('\n').length, 1, 'one line')

  t.equal(runCli(['add', 'org/base', stage(join(dir, 'base'), peft[0])], { store }).status, 0)
  const before = snapshot(store)
  for (const args of [['--lossy', 'bogus'], ['--lossy', 'bogus', '--base', 'org/base'], ['--lossy', 'int8', '--no-base']]) {
    const r = runCli(['add', 'org/ft', ft, ...args], { store })
    t.equal(r.status, 1, args.join(' '))
    t.match(r.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: [^\n]+\n$/, `${args.join(' ')}: one-line error`)
    t.same(snapshot(store), before, `${args.join(' ')}: store unchanged`)
  }
  t.equal(runCli(['log', 'org/ft'], { store }).status, 1, 'no org/ft was created')
})

t.test('the API records the mode in the commit, and lossless commits keep their encoding', async t => {
  const { repo, dir } = await freshRepo(t)
  await repo.add('org/base', stage(join(dir, 'base'), peft[0]), { time: 1 })
  await t.rejects(repo.add('org/x', stage(join(dir, 'ft'), peft[1]), { base: 'org/base', lossy: 'int2' }), { code: 'ERR_BAD_ARGUMENT' })
  const plain = await repo.add('org/plain', join(dir, 'ft'), { base: 'org/base', time: 1 })
  t.equal((await repo.resolve('org/plain')).commit.lossy, undefined)
  t.notOk('lossy' in (await repo.resolve('org/plain')).commit, 'no lossy field on a lossless commit')
  const r = await repo.add('org/lossy', join(dir, 'ft'), { base: 'org/base', lossy: '1bit', time: 1 })
  const c = (await repo.resolve('org/lossy')).commit
  t.equal(c.lossy, '1bit')
  t.match(c.message, /\[lossy 1bit\]$/)
  t.not(r.commit, plain.commit, 'a new revision with its own CIDs')
  const f = await repo.stat('org/lossy', undefined, 'adapter_model.safetensors')
  const p = await repo.stat('org/plain', undefined, 'adapter_model.safetensors')
  t.not(f.cid.toString(), p.cid.toString())
  t.equal(f.size, p.size)
  t.ok((await repo.verify()).ok)
})

t.test('delta compress --lossy int8 bundles the same reconstruction add --lossy int8 stores, and says so', async t => {
  const dir = tempDir(t)
  const int8 = addPair(dir, 'add', ['--lossy', 'int8'])
  const out = join(dir, 'add-out')
  t.equal(runCli(['export', 'org/ft', out], { store: int8.store }).status, 0)
  const noStore = join(dir, 'no-store')
  const est = runCli(['delta', 'estimate', peft[0], peft[1], '--lossy', 'int8', '--json'], { store: noStore })
  t.equal(est.status, 0, est.stderr.toString())
  t.match(est.stderr.toString(), /LOSSY \(lossy int8: /)
  t.same(JSON.parse(est.stdout.toString()).lossy.overall, int8.json.lossy.overall, 'estimate reports the figures add reports')
  const bundle = join(dir, 'bundle')
  const c = runCli(['delta', 'compress', peft[0], peft[1], '--lossy', 'int8', '-o', bundle], { store: noStore })
  t.equal(c.status, 0, c.stderr.toString())
  t.equal(JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')).lossy, 'int8', 'the bundle manifest records the mode')
  const d = runCli(['delta', 'decompress', peft[0], bundle, '-o', join(dir, 'rebuilt')], { store: noStore })
  t.equal(d.status, 0, d.stderr.toString())
  t.match(d.stderr.toString(), /bundle is LOSSY \(int8\)/)
  const rebuilt = readFileSync(join(dir, 'rebuilt', 'checkpoint-0460.adapter_model.safetensors'))
  t.ok(rebuilt.equals(readFileSync(join(out, 'adapter_model.safetensors'))), 'rebuilt bytes are the lossy revision add stores')
  const plain = runCli(['delta', 'estimate', peft[0], peft[1], '--json'], { store: noStore })
  t.equal(JSON.parse(plain.stdout.toString()).lossy, undefined, 'no lossy report without --lossy')
  t.notOk(existsSync(noStore), 'no store was created')
})
