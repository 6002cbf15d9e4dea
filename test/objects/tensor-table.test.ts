import t from 'tap'
import * as dagCbor from '@ipld/dag-cbor'
import { decodeTensorTable, encodeTensorTable, TENSOR_TABLE_VERSION } from '../../src/objects/commit.js'
import { cidOf, Codec } from '../../src/hash/cid.js'
import { encodeDelta } from '../../src/codec/delta.js'
import type { TensorInfo } from '../../src/formats/types.js'

const table = (shift: (i: number) => number): TensorInfo[] => Array.from({ length: 140 }, (_, i) => {
  const start = 4096 + i * 70_000 + shift(i)
  return { name: `layer.${i}.weight`, dtype: i % 3 === 0 ? 'INT8' : 'FLOAT32', shape: [i + 1, 64], start, end: start + (i + 1) * 64 * (i % 3 === 0 ? 1 : 4) }
})

t.test('a tensor table round-trips (v2), in file order or not', async t => {
  for (const tensors of [table(() => 0), table(i => 16 * (i % 5)), [...table(() => 0)].reverse()]) {
    const b = encodeTensorTable(tensors)
    t.equal((dagCbor.decode(b.bytes) as { v: number }).v, TENSOR_TABLE_VERSION)
    t.same(decodeTensorTable(b.cid, b.bytes), tensors)
  }
})

t.test('a v1 table (absolute offsets, as stores before v2 hold) is still read', async t => {
  const tensors = table(() => 0)
  const bytes = dagCbor.encode({ v: 1, tensors: tensors.map(x => [x.name, x.dtype, x.shape, x.start, x.end]) })
  t.same(decodeTensorTable(cidOf(Codec.DAG_CBOR, bytes), bytes), tensors)
  const bad = dagCbor.encode({ v: 3, tensors: [] })
  t.throws(() => decodeTensorTable(cidOf(Codec.DAG_CBOR, bad), bad), { code: 'ERR_CORRUPT' })
})

t.test('a repacked model (every tensor moved, gaps and lengths kept) patches small against its base table', async t => {
  const base = encodeTensorTable(table(() => 0))
  // the container metadata in front grew by 1,234 bytes and a few gaps changed: every absolute offset moved
  const moved = encodeTensorTable(table(i => 1234 + (i > 100 ? 8 : 0)))
  const v2 = encodeDelta(moved.bytes, base.bytes, { kind: 'header' })
  const v1 = (x: TensorInfo[]): Uint8Array => dagCbor.encode({ v: 1, tensors: x.map(y => [y.name, y.dtype, y.shape, y.start, y.end]) })
  const old = encodeDelta(v1(table(i => 1234 + (i > 100 ? 8 : 0))), v1(table(() => 0)), { kind: 'header' })
  t.ok((v2?.data.length ?? Infinity) < 0.5 * (old?.data.length ?? 0), `v2 delta ${v2?.data.length} bytes, v1 ${old?.data.length}`)
})
