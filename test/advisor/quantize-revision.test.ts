/**
 * quantizeRevision / optimizeRevision over a real store: tensors streamed out
 * of the store by byte range, other files carried over, config.json amended,
 * several shards combined exactly, and no temporary output left on failure.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { freshRepo, tempDir } from '../helpers/store.js'
import { corpusPath } from '../helpers/corpus.js'
import { quantizeRevision, optimizeRevision, resolveNativeQuantizer } from '../../src/advisor/quantize-revision.js'
import { readStoredRange } from '../../src/advisor/store-model.js'

const CKPT = (step: string): string => corpusPath(`models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-${step}.adapter_model.safetensors`)

t.test('a model directory: shards quantized, other files copied, config.json gains quantization_config, figures combine exactly', async t => {
  const { repo, dir } = await freshRepo(t)
  const src = join(dir, 'src')
  mkdirSync(join(src, 'shards'), { recursive: true })
  copyFileSync(CKPT('0230'), join(src, 'shards', 'model-00001.safetensors'))
  copyFileSync(CKPT('0460'), join(src, 'shards', 'model-00002.safetensors'))
  writeFileSync(join(src, 'config.json'), JSON.stringify({ model_type: 'roberta', hidden_size: 768 }))
  writeFileSync(join(src, 'README.md'), '# a model\n')
  await repo.add('org/model', src)

  const res = await quantizeRevision(repo, { repo: 'org/model', quantizer: 'int8' })
  t.equal(res.files.length, 2)
  t.same(res.copied.sort(), ['README.md', 'config.json'])
  t.equal(res.bytes, res.files[0].bytes + res.files[1].bytes)
  t.equal(res.tensors.length, 4)
  t.same(res.tensors.map(x => x.file), ['shards/model-00001.safetensors', 'shards/model-00001.safetensors', 'shards/model-00002.safetensors', 'shards/model-00002.safetensors'])
  // overall = ||x - x̂|| / ||x|| over both files: recombine from per-file figures and element-weighted energies
  const lo = Math.min(...res.files.map(f => f.relativeRmsError))
  const hi = Math.max(...res.files.map(f => f.relativeRmsError))
  t.ok(res.relativeRmsError >= lo && res.relativeRmsError <= hi, 'overall lies between the files')
  t.ok(res.relativeRmsError < 0.01)
  t.equal(res.maxAbsError, Math.max(...res.files.map(f => f.maxAbsError)))

  const files = await repo.ls('org/model', 'quantized-int8', '')
  t.same(files.map(f => f.path).sort(), ['README.md', 'config.json', 'shards'])
  const m = await repo.manifest(await repo.resolve('org/model', 'quantized-int8'))
  const orig = await repo.manifest(await repo.resolve('org/model'))
  const byPath = (mm: typeof m, p: string) => mm.files.find(f => f.path === p)!
  t.ok(byPath(m, 'README.md').cid.equals(byPath(orig, 'README.md').cid), 'README.md carried over unchanged (same CID)')
  const cfg = JSON.parse(new TextDecoder().decode(await readStoredRange(repo, byPath(m, 'config.json'), 0, byPath(m, 'config.json').size)))
  t.same(cfg, { model_type: 'roberta', hidden_size: 768, quantization_config: { quant_method: 'bitsandbytes', load_in_8bit: true, load_in_4bit: false } })
  for (const f of res.files) t.equal(byPath(m, f.output).size, f.bytes)
  t.equal(byPath(m, 'shards/model-00001.safetensors').format, 'safetensors', 'the output is stored as a safetensors file with its own tensor table')
  t.ok(await repo.tensors(byPath(m, 'shards/model-00001.safetensors')) != null)

  // the optimizer measures both shards as one model (tensor names repeat across shards)
  const opt = await optimizeRevision(repo, { repo: 'org/model', maxError: 0.01 })
  t.equal(opt.chosen.id, 'int8')
  t.same(opt.source.files, ['shards/model-00001.safetensors', 'shards/model-00002.safetensors'])
  t.equal(opt.originalBytes, orig.files.filter(f => f.format === 'safetensors').reduce((s, f) => s + f.size, 0))
  const int8 = opt.candidates.find(c => c.id === 'int8')!
  t.ok(Math.abs(int8.relativeRmsError! - res.relativeRmsError) < 1e-12, `optimizer and quantizer agree: ${int8.relativeRmsError} vs ${res.relativeRmsError}`)
})

t.test('a failure after the output was written leaves no temporary files and no new revision', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('org/ckpt', CKPT('0230'))
  const parent = mkdtempSync(join(tempDir(t, 'tenpak-qr-'), 'tmp-'))
  const failing = {
    resolve: repo.resolve,
    manifest: repo.manifest,
    read: repo.read,
    tensors: repo.tensors,
    add: async () => { throw Object.assign(new Error('disk on fire'), { code: 'ERR_IO' }) }
  }
  await t.rejects(quantizeRevision(failing, { repo: 'org/ckpt', quantizer: 'nf4', tmpParent: parent }), /disk on fire/)
  t.same(readdirSync(parent), [], 'temporary output removed')
  await t.rejects(repo.resolve('org/ckpt', 'quantized-nf4'), { code: 'ERR_REVISION_NOT_FOUND' })
})

t.test('--preset names: native ids and the presets tenpak produces natively', async t => {
  t.equal(resolveNativeQuantizer('q4_0'), 'q4_0')
  t.equal(resolveNativeQuantizer('bnb-nf4'), 'nf4')
  t.equal(resolveNativeQuantizer('gguf-q8_0'), 'q8_0')
  t.equal(resolveNativeQuantizer('fp8-e4m3'), 'fp8')
  t.throws(() => resolveNativeQuantizer('awq-int4-g128'), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => resolveNativeQuantizer('int3'), { code: 'ERR_BAD_ARGUMENT' })
})
