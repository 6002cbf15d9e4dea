import t from 'tap'
import { readdirSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, runCli, tempDir } from '../helpers/store.js'
import { collect } from '../../src/util/iter.js'

const folders = ['models', 'datasets'].flatMap(kind =>
  readdirSync(join(corpusDir, kind)).map(name => ({ kind, name, path: join(corpusDir, kind, name) })))

// deterministic pseudo-random ranges (no flakiness)
function * ranges (size: number, n: number, seed: number): Generator<[number, number]> {
  let x = seed
  const rnd = (): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x / 0x7fffffff }
  for (let i = 0; i < n; i++) {
    const start = Math.floor(rnd() * size)
    const len = 1 + Math.floor(rnd() * Math.min(size - start, 600_000))
    yield [start, start + len]
  }
}

function pread (file: string, start: number, end: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(end - start)
    readSync(fd, b, 0, b.length, start)
    return b
  } finally { closeSync(fd) }
}

t.test('add then export of every corpus folder gives byte-identical files (diff -r)', async t => {
  const { repo, dir } = await freshRepo(t)
  for (const f of folders) {
    const name = `${f.kind}/corpus/${f.name}`
    const res = await repo.add(name, f.path, { message: f.name })
    t.equal(res.files, readdirSync(f.path).length, `${f.name}: all files added`)
    const out = join(dir, 'export', f.kind, f.name)
    await repo.export(name, undefined, out)
    const diff = spawnSync('diff', ['-r', f.path, out])
    t.equal(diff.status, 0, `diff -r ${f.name}: ${diff.stdout.toString().slice(0, 200)}`)
  }
})

t.test('reads return exactly the source bytes at random ranges, across chunk and tensor boundaries', async t => {
  const { repo } = await freshRepo(t)
  const model = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')
  await repo.add('org/peft', model)
  const data = join(corpusDir, 'datasets/vega-flights-subsets')
  await repo.add('datasets/org/flights', data)
  let checked = 0
  for (const [name, src, file] of [
    ['org/peft', model, 'checkpoint-1150.adapter_model.safetensors'],
    ['datasets/org/flights', data, 'flights-200k.json'],
    ['datasets/org/flights', data, 'flights-3m.parquet']
  ]) {
    const f = await repo.stat(name, undefined, file)
    const srcFile = join(src, file)
    t.equal(f.size, statSync(srcFile).size)
    // tensor boundaries of the model file, and chunk boundaries, spanned on purpose
    const tensors = await repo.tensors(f)
    const edges = tensors != null ? tensors.map(x => x.start) : []
    const picks: Array<[number, number]> = [...ranges(f.size, 40, 7)]
    for (const e of edges.slice(0, 40)) picks.push([Math.max(0, e - 3), Math.min(f.size, e + 5)])
    picks.push([0, 1], [f.size - 1, f.size], [0, f.size])
    for (const [s, e] of picks) {
      const got = await collect(repo.read(f, { start: s, end: e }))
      if (!Buffer.from(got).equals(pread(srcFile, s, e))) t.fail(`${file} ${s}-${e} differs`)
      checked++
    }
  }
  t.ok(checked > 100, `${checked} ranges compared`)
})

t.test('cat --range prints END-inclusive ranges through the CLI', async t => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const src = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0460.adapter_model.safetensors')
  const add = runCli(['add', 'org/one', src, '--json'], { store })
  t.equal(add.status, 0, add.stderr.toString())
  const whole = readFileSync(src)
  for (const [s, e] of [[0, 7], [8, 20000], [100000, 400000], [whole.length - 10, whole.length - 1]]) {
    const r = runCli(['cat', 'org/one', 'checkpoint-0460.adapter_model.safetensors', '--range', `${s}-${e}`], { store })
    t.equal(r.status, 0)
    t.ok(r.stdout.equals(whole.subarray(s, e + 1)), `bytes ${s}-${e}`)
  }
  const all = runCli(['cat', 'org/one', 'checkpoint-0460.adapter_model.safetensors'], { store })
  t.ok(all.stdout.equals(whole), 'whole file')
  const bad = runCli(['cat', 'org/one', 'checkpoint-0460.adapter_model.safetensors', '--range', `5-${whole.length}`], { store })
  t.equal(bad.status, 1)
  t.match(bad.stderr.toString(), /^tenpak: ERR_BAD_RANGE: /)
})
