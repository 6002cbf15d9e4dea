import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CarReader } from '@ipld/car'
import { exporter } from 'ipfs-unixfs-exporter'
import { verifyBlock, type CID } from '../../src/hash/cid.js'
import { corpusServer, corpusFolder, CORPUS_REPOS, get } from './helpers.js'

/** Read a CAR, re-hash every block (BLAKE3) and give a blockstore over it. */
async function verifiedCar (t: Tap.Test, bytes: Uint8Array): Promise<{ roots: CID[], blocks: Map<string, Uint8Array>, blockstore: unknown }> {
  const reader = await CarReader.fromBytes(bytes)
  const blocks = new Map<string, Uint8Array>()
  let bad = 0
  for await (const { cid, bytes: b } of reader.blocks()) {
    try { verifyBlock(cid as unknown as CID, b) } catch { bad++ }
    blocks.set(cid.toString(), b)
  }
  t.equal(bad, 0, `all ${blocks.size} blocks match their CIDs`)
  const blockstore = {
    async * get (cid: CID) {
      const b = blocks.get(cid.toString())
      if (b == null) throw new Error(`block ${cid.toString()} missing from the CAR`)
      yield b
    },
    has: async (cid: CID) => blocks.has(cid.toString())
  }
  return { roots: (await reader.getRoots()) as unknown as CID[], blocks, blockstore }
}

async function exportFile (blockstore: unknown, path: CID | string): Promise<Buffer> {
  const entry = await exporter(path as CID, blockstore as never)
  const parts: Uint8Array[] = []
  for await (const p of entry.content() as AsyncIterable<Uint8Array>) parts.push(p)
  return Buffer.concat(parts)
}

declare namespace Tap { type Test = Parameters<Parameters<typeof t.test>[1]>[0] }

t.test('CARs from /ipfs/{cid} verify block by block and export byte-identical files', async t => {
  const { url, repo } = await corpusServer(t, { repos: ['models/corpus/peft', 'datasets/corpus/gsm8k'] })

  for (const [name, file] of [['models/corpus/peft', 'checkpoint-0690.adapter_model.safetensors'], ['datasets/corpus/gsm8k', 'test_socratic.jsonl']] as const) {
    t.test(`${name}/${file}`, async t => {
      const want = readFileSync(join(corpusFolder(CORPUS_REPOS[name]), file))
      const f = await repo.stat(name, 'main', file)
      const r = await get(`${url}/ipfs/${f.cid.toString()}?format=car`)
      t.equal(r.status, 200)
      t.match(r.headers.get('content-type'), /^application\/vnd\.ipld\.car; version=1/)
      t.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable')
      const car = await verifiedCar(t, r.body)
      t.equal(car.roots.length, 1)
      t.equal(car.roots[0].toString(), f.cid.toString())
      const got = await exportFile(car.blockstore, f.cid)
      t.equal(got.length, want.length)
      t.ok(got.equals(want), 'ipfs-unixfs-exporter yields the identical file')

      // Accept header instead of ?format=
      const r2 = await get(`${url}/ipfs/${f.cid.toString()}`, { headers: { accept: 'application/vnd.ipld.car' } })
      t.ok(r2.body.equals(r.body), 'Accept: application/vnd.ipld.car gives the same CAR')
      // revalidation of an immutable answer
      t.equal((await get(`${url}/ipfs/${f.cid.toString()}?format=car`, { headers: { 'if-none-match': r.headers.get('etag') as string } })).status, 304)
      // without a format: the file's bytes, with ranges
      const plain = await get(`${url}/ipfs/${f.cid.toString()}`, { headers: { range: 'bytes=1000-1999' } })
      t.equal(plain.status, 206)
      t.ok(plain.body.equals(want.subarray(1000, 2000)))
    })
  }

  t.test('a commit tree: the directory and a path under it', async t => {
    const res = await repo.resolve('datasets/corpus/gsm8k')
    const tree = res.commit.tree
    const r = await get(`${url}/ipfs/${tree.toString()}?format=car`)
    const car = await verifiedCar(t, r.body)
    const dir = await exporter(tree, car.blockstore as never)
    t.equal(dir.type, 'directory')
    const names: string[] = []
    // the exporter lists a directory through entries() (content() in older releases)
    const d = dir as unknown as { entries?: () => AsyncIterable<{ name: string }>, content: () => AsyncIterable<{ name: string }> }
    if (dir.type === 'directory') for await (const e of (d.entries ?? d.content).call(d)) names.push(e.name)
    t.same(names.sort(), (await repo.ls('datasets/corpus/gsm8k')).map(e => e.path).sort())

    const file = 'test_socratic.jsonl'
    const rp = await get(`${url}/ipfs/${tree.toString()}/${file}?format=car`)
    t.equal(rp.status, 200)
    const carp = await verifiedCar(t, rp.body)
    t.equal(carp.roots[0].toString(), tree.toString(), 'roots name the requested CID, path blocks included')
    const got = await exportFile(carp.blockstore, `${tree.toString()}/${file}`)
    t.ok(got.equals(readFileSync(join(corpusFolder(CORPUS_REPOS['datasets/corpus/gsm8k']), file))))
  })

  t.test('format=raw answers one verified block', async t => {
    const f = await repo.stat('models/corpus/peft', 'main', 'checkpoint-0690.adapter_model.safetensors')
    for (const req of [{ u: `${url}/ipfs/${f.cid.toString()}?format=raw`, h: {} }, { u: `${url}/ipfs/${f.cid.toString()}`, h: { accept: 'application/vnd.ipld.raw' } }]) {
      const r = await get(req.u, { headers: req.h })
      t.equal(r.status, 200)
      t.equal(r.headers.get('content-type'), 'application/vnd.ipld.raw')
      t.doesNotThrow(() => { verifyBlock(f.cid, r.body) })
    }
    t.equal((await get(`${url}/ipfs/${f.cid.toString()}?format=xml`)).status, 400)
    t.equal((await get(`${url}/ipfs/not-a-cid?format=raw`)).status, 400)
    t.equal((await get(`${url}/ipfs/bafkr4ibwoi7pbh7xvdtb2fh4bksvb343ukc4xjkx65zwwyd44ftncvsaaa?format=raw`)).status, 404)
  })
})
