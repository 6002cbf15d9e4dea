import t from 'tap'
import { randomBytes } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { decodeChunk } from '../../src/codec/codecs.js'
import { encodeDelta } from '../../src/codec/delta.js'
import { CodecId } from '../../src/codec/types.js'
import { cidFromDigest, cidOf, Codec, inlineCid } from '../../src/hash/cid.js'
import { blake3 } from '../../src/hash/blake3.js'
import { encodeDirectory, encodeFileNode, type DagLink } from '../../src/objects/unixfs.js'

const dec = (codec: number, data: Uint8Array, length: number, base: Uint8Array): Buffer => Buffer.from(decodeChunk(codec, data, length, base))

const leaf = (n: number): DagLink => {
  const bytes = randomBytes(n)
  return { cid: cidFromDigest(Codec.RAW, blake3(bytes)), size: n, tsize: n }
}
const gap = (n: number): DagLink => {
  const bytes = randomBytes(n)
  return { cid: inlineCid(bytes), size: n, tsize: n }
}

/** A repacked model's node: the same tensor leaves, every small gap between them new. */
function repack (): { base: Uint8Array, derived: Uint8Array } {
  const tensors = Array.from({ length: 80 }, (_, i) => leaf(1000 + i))
  const baseLinks = tensors.flatMap(l => [gap(16), l])
  const derivedLinks = tensors.flatMap(l => [gap(20), l])
  return { base: encodeFileNode(baseLinks).bytes, derived: encodeFileNode(derivedLinks).bytes }
}

t.test('a file node is stored as the edit of its base node and decodes byte-exact', async t => {
  const links = Array.from({ length: 174 }, (_, i) => leaf(4096 + i))
  const base = encodeFileNode(links).bytes
  // a fine-tune: three leaves changed in place, one interior-node link with a new tsize
  const changed = links.map((l, i) => i === 5 || i === 77 || i === 150 ? leaf(l.size) : i === 100 ? { ...l, tsize: l.tsize + 7 } : l)
  const derived = encodeFileNode(changed).bytes
  const enc = encodeDelta(derived, base, { kind: 'node' })
  t.ok(enc != null)
  t.ok((enc?.data.length ?? Infinity) < 3 * 36 + 60, `${enc?.data.length} bytes (codec ${enc?.codec}) for 3 new links of a ${derived.length}-byte node`)
  t.ok(dec(enc?.codec ?? -1, enc?.data ?? new Uint8Array(0), derived.length, base).equals(derived))
  // the edit codec alone, too (add keeps whichever of it and the byte patch is smaller)
  const node = encodeDelta(derived, base, { kind: 'node' }, { codecs: [CodecId.DELTA_NODE] })
  t.equal(node?.codec, CodecId.DELTA_NODE)
  t.ok(dec(CodecId.DELTA_NODE, node?.data ?? new Uint8Array(0), derived.length, base).equals(derived))
})

t.test('moved and reordered links, and new inline gaps, round-trip', async t => {
  const { base, derived } = repack()
  const enc = encodeDelta(derived, base, { kind: 'node' })
  t.equal(enc?.codec, CodecId.DELTA_NODE)
  t.ok(dec(enc?.codec ?? -1, enc?.data ?? new Uint8Array(0), derived.length, base).equals(derived), `codec ${enc?.codec}`)
  const patch = encodeDelta(derived, base, { kind: 'header' })
  t.ok((enc?.data.length ?? Infinity) < (patch?.data.length ?? 0), `${enc?.data.length} bytes, smaller than the byte patch (${patch?.data.length})`)
  // reversed order: every link a step away from the next
  const links = Array.from({ length: 50 }, (_, i) => leaf(500 + i))
  const b = encodeFileNode(links).bytes
  const d = encodeFileNode([...links].reverse()).bytes
  const e = encodeDelta(d, b, { kind: 'node' })
  t.ok(dec(e?.codec ?? -1, e?.data ?? new Uint8Array(0), d.length, b).equals(d))
})

t.test('a node the encoder does not write this way falls back to a patch', async t => {
  const links = Array.from({ length: 10 }, (_, i) => leaf(100 + i))
  const base = encodeFileNode(links).bytes
  // a file node with inline data (another importer's): not rebuilt by encodeFileNode
  const foreign = dagPb.encode(dagPb.prepare({ Data: new UnixFS({ type: 'file', data: randomBytes(40), blockSizes: links.map(l => BigInt(l.size)) }).marshal(), Links: links.map(l => ({ Hash: l.cid, Tsize: l.tsize, Name: '' })) }))
  const enc = encodeDelta(foreign, base, { kind: 'node' })
  t.equal(enc?.codec, CodecId.DELTA_PATCH)
  t.ok(dec(CodecId.DELTA_PATCH, enc?.data ?? new Uint8Array(0), foreign.length, base).equals(foreign))
  // a directory is not a file node either; a dag-cbor block is not a node at all
  const dir = encodeDirectory([{ name: 'a', cid: links[0].cid, tsize: 100 }]).bytes
  t.equal(encodeDelta(dir, base, { kind: 'node' })?.codec, CodecId.DELTA_PATCH)
  t.equal(cidOf(Codec.DAG_PB, dir).code, Codec.DAG_PB)
})

t.test('a corrupt payload or the wrong base fails with ERR_CODEC, never a wrong node', async t => {
  const { base, derived } = repack()
  const enc = encodeDelta(derived, base, { kind: 'node' }, { codecs: [CodecId.DELTA_NODE] })
  t.equal(enc?.codec, CodecId.DELTA_NODE)
  const data = enc?.data ?? new Uint8Array(0)
  const bad = [
    new Uint8Array([1, ...data.subarray(1)]), // unknown version
    data.subarray(0, data.length - 3), // truncated frame
    new Uint8Array([0, 0xff, 0xff, 0xff, 0xff, 0x7f]) // absurd op length
  ]
  for (const b of bad) t.throws(() => dec(CodecId.DELTA_NODE, b, derived.length, base), { code: 'ERR_CODEC' })
  t.throws(() => dec(CodecId.DELTA_NODE, data, derived.length, randomBytes(300)), { code: 'ERR_CODEC' }, 'base that is not a node')
  const other = encodeFileNode([leaf(10)]).bytes
  t.throws(() => dec(CodecId.DELTA_NODE, data, derived.length, other), { code: 'ERR_CODEC' }, 'base node with other links')
  t.throws(() => dec(CodecId.DELTA_NODE, data, derived.length + 1, base), { code: 'ERR_CODEC' }, 'wrong logical length')
})
