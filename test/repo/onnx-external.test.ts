/**
 * ONNX external data through add: the data file an ONNX model points at is
 * laid out tensor by tensor (format 'onnx-data', with a tensor table), so a
 * fine-tune's data file pairs with its base's tensor by tensor and stores as
 * small deltas; both read back byte-identical.
 */
import t from 'tap'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import onnxProto from 'onnx-proto'
import { freshRepo } from '../helpers/store.js'

const { onnx } = onnxProto
const N = 256 * 1024 // elements per tensor (1 MiB of f32)

function model (): Uint8Array {
  const ext = (name: string, offset: number): onnxProto.onnx.ITensorProto => ({
    name,
    dataType: 1,
    dims: [512, N / 512],
    dataLocation: 1,
    externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(N * 4) }]
  })
  const m = onnx.ModelProto.create({
    irVersion: 9,
    opsetImport: [{ domain: '', version: 19 }],
    graph: { name: 'g', node: [{ opType: 'MatMul', input: ['x', 'w1'], output: ['y'] }], initializer: [ext('w1', 0), ext('w2', N * 4 + 64)], input: [{ name: 'x' }], output: [{ name: 'y' }] }
  })
  return onnx.ModelProto.encode(m).finish()
}

function weights (drift: number): Uint8Array {
  const f = new Float32Array(2 * N + 16)
  let seed = 12345
  for (let i = 0; i < f.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    const base = ((seed >>> 8) / 2 ** 24 - 0.5) * 0.1
    // a fine-tune: every 50th weight moves a little
    f[i] = drift !== 0 && i % 50 === 0 ? base + drift * Math.sin(i) : base
  }
  return new Uint8Array(f.buffer)
}

t.test('an ONNX model with external data: tensor layout, tensor-wise deltas, exact reads', async t => {
  const { repo, dir } = await freshRepo(t)
  const src = (name: string, drift: number): string => {
    const d = join(dir, name)
    mkdirSync(d)
    writeFileSync(join(d, 'model.onnx'), model())
    writeFileSync(join(d, 'weights.bin'), weights(drift))
    return d
  }
  const base = src('base', 0)
  const ft = src('ft', 1e-3)
  await repo.add('models/org/m', base)
  const m = await repo.manifest(await repo.resolve('models/org/m'))
  const data = m.files.find(f => f.path === 'weights.bin')
  t.equal(data?.format, 'onnx-data', 'the data file is laid out from the model\'s tensors')
  t.ok(data?.tensors != null, 'with a tensor table')
  const r = await repo.add('models/org/m', ft)
  const size = 2 * N * 4 + 64
  t.ok(r.deltaLogicalBytes > 0.9 * size, `${r.deltaLogicalBytes} bytes stored as deltas of the base's tensors`)
  t.ok(r.newStoredBytes < 0.25 * size, `the fine-tune stores in ${r.newStoredBytes} of ${size} bytes`)
  for (const [name, path] of [['weights.bin', join(ft, 'weights.bin')], ['model.onnx', join(ft, 'model.onnx')]]) {
    const e = await repo.stat('models/org/m', undefined, name)
    const out: Buffer[] = []
    for await (const b of repo.read(e)) out.push(Buffer.from(b))
    t.ok(Buffer.concat(out).equals(readFileSync(path)), `${name} reads back identical`)
  }
  t.equal((await repo.verify()).ok, true)
})
