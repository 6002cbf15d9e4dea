import t from 'tap'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compress } from 'zstd-napi'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, tempDir } from '../helpers/store.js'
import { castSafetensorsToBf16 } from '../helpers/bf16.js'

const peftDir = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')
const checkpoints = readdirSync(peftDir).filter(f => f.endsWith('.safetensors')).sort()

t.test('each F32 checkpoint is stored smaller than zstd -19 makes it', async t => {
  t.equal(checkpoints.length, 10)
  for (const name of checkpoints) {
    // a fresh store each time: nothing to deduplicate against, only compression counts
    const { repo } = await freshRepo(t)
    const file = join(peftDir, name)
    const raw = readFileSync(file)
    const zstd19 = compress(raw, { compressionLevel: 19 }).length
    const res = await repo.add('org/ckpt', file)
    t.ok(res.newStoredBytes < zstd19, `${name}: stored ${res.newStoredBytes} < zstd -19 ${zstd19} (raw ${raw.length})`)
    await repo.close()
  }
})

t.test('the same checkpoints cast to bf16 store at ≤ 0.70 of raw', async t => {
  const dir = tempDir(t)
  for (const name of checkpoints) {
    const { repo } = await freshRepo(t)
    const bf16 = castSafetensorsToBf16(readFileSync(join(peftDir, name)))
    const file = join(dir, name.replace('.safetensors', '.bf16.safetensors'))
    writeFileSync(file, bf16)
    const res = await repo.add('org/ckpt-bf16', file)
    const ratio = res.newStoredBytes / bf16.length
    t.ok(ratio <= 0.70, `${name} as bf16: stored ${res.newStoredBytes} / raw ${bf16.length} = ${ratio.toFixed(3)}`)
    await repo.close()
  }
})
