import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { exporter } from 'ipfs-unixfs-exporter'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'
import type { CID } from 'multiformats/cid'

t.test('an independent UnixFS exporter returns every file from its CID', async t => {
  const { repo } = await freshRepo(t, { packTarget: 4 << 20 })
  // a blockstore over tenpak's verified block reads, in the shape the exporter expects
  const blockstore = {
    async * get (cid: CID) { yield await repo.blocks.get(cid) },
    has: async (cid: CID) => repo.blocks.has(cid)
  }
  let files = 0
  for (const [kind, name] of [['models', 'peft-finegates-roberta-mrpc-checkpoints'], ['models', 'mediapipe-pose_detection-series'], ['models', 'safetensors-format-fixtures'], ['datasets', 'vega-flights-subsets'], ['datasets', 'gsm8k-test-socratic']]) {
    const src = join(corpusDir, kind, name)
    const repoName = `${kind}/corpus/${name}`
    await repo.add(repoName, src)
    const res = await repo.resolve(repoName)
    // the directory root exports too, listing every file
    const dir = await exporter(res.commit.tree, blockstore as never)
    t.equal(dir.type, 'directory')
    const listed: string[] = []
    if (dir.type === 'directory') for await (const e of dir.entries()) listed.push(e.name)
    t.same(listed.sort(), readdirSync(src).sort(), `${name}: directory lists every file`)
    for (const f of (await repo.manifest(res)).files) {
      const entry = await exporter(f.cid, blockstore as never)
      const parts: Uint8Array[] = []
      for await (const p of entry.content() as AsyncIterable<Uint8Array>) parts.push(p)
      const got = Buffer.concat(parts)
      if (!got.equals(readFileSync(join(src, f.path)))) t.fail(`${name}/${f.path} differs through the exporter`)
      files++
    }
  }
  t.ok(files > 30, `${files} files exported by ipfs-unixfs-exporter, byte-identical`)
})
