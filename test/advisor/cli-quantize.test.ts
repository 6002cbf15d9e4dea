/**
 * `tenpak quantize` through the real CLI, on a store
 * holding the corpus's peft checkpoint (F32, 148 tensors).
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { gguf } from '@huggingface/gguf'
import { runCli, tempDir } from '../helpers/store.js'
import { corpusPath } from '../helpers/corpus.js'

const CHECKPOINT = corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors')
const FILE = 'checkpoint-0230.adapter_model.safetensors'
const REPO = 'peft/roberta-mrpc'

/** A store holding the checkpoint as REPO@main, with a private TMPDIR the CLI writes its temporary output to. */
function setup (t: Test): { store: string, env: NodeJS.ProcessEnv, tmp: string } {
  const dir = tempDir(t, 'tenpak-cli-quantize-')
  const store = join(dir, 'store')
  const tmp = mkdtempSync(join(dir, 'tmp-'))
  const env = { TMPDIR: tmp }
  const add = runCli(['add', REPO, CHECKPOINT, '--json'], { store, env })
  t.equal(add.status, 0, add.stderr.toString())
  return { store, env, tmp }
}

function json (r: ReturnType<typeof runCli>): any {
  return JSON.parse(r.stdout.toString())
}

t.test('quantize via the CLI writes a new revision with its own CIDs; INT8 < 1% and NF4 < 10% relative RMS, figures printed', async t => {
  const { store, env, tmp } = setup(t)
  const main = json(runCli(['ls', REPO, '--json'], { store, env }))
  t.equal(main.length, 1)

  const i8 = runCli(['quantize', REPO, '--preset', 'int8', '--json'], { store, env })
  t.equal(i8.status, 0, i8.stderr.toString())
  const r8 = json(i8)
  t.ok(r8.relativeRmsError < 0.01, `INT8 relative RMS ${r8.relativeRmsError} < 1%`)
  t.type(r8.maxAbsError, 'number')
  t.type(r8.sqnrDb, 'number')
  t.type(r8.bytes, 'number')
  t.equal(r8.tensors.length, 2, 'two 2-D linear weights quantized')
  for (const tr of r8.tensors) t.same(Object.keys(tr).filter(k => ['name', 'relativeRmsError', 'maxAbsError', 'sqnrDb'].includes(k)).sort(), ['maxAbsError', 'name', 'relativeRmsError', 'sqnrDb'])
  t.equal(r8.commit.branch, 'quantized-int8')
  t.equal(r8.commit.unchanged, false)
  t.comment(`int8: relativeRmsError ${r8.relativeRmsError}, maxAbsError ${r8.maxAbsError}, SQNR ${r8.sqnrDb} dB, ${r8.bytes} bytes (${r8.compressionRatio}x)`)

  // the new revision exists, on its own branch, with a file of its own CID and the reported size
  const q = json(runCli(['ls', `${REPO}@quantized-int8`, '--json'], { store, env }))
  t.equal(q.length, 1)
  t.equal(q[0].path, FILE)
  t.equal(q[0].size, r8.bytes)
  t.not(q[0].cid, main[0].cid, 'quantized file has its own CID')
  const log = json(runCli(['log', `${REPO}@quantized-int8`, '--json'], { store, env }))
  t.equal(log[0].commit, r8.commit.commit)
  t.match(log[0].message, /--preset int8/)
  t.equal(json(runCli(['ls', REPO, '--json'], { store, env }))[0].cid, main[0].cid, 'main is untouched')

  const nf = runCli(['quantize', REPO, '--preset', 'nf4', '--to', 'peft/roberta-mrpc-nf4', '--json'], { store, env })
  t.equal(nf.status, 0, nf.stderr.toString())
  const r4 = json(nf)
  t.ok(r4.relativeRmsError < 0.10, `NF4 relative RMS ${r4.relativeRmsError} < 10%`)
  t.equal(r4.commit.repo, 'models/peft/roberta-mrpc-nf4')
  t.equal(r4.commit.branch, 'main')
  t.comment(`nf4: relativeRmsError ${r4.relativeRmsError}, maxAbsError ${r4.maxAbsError}, SQNR ${r4.sqnrDb} dB, ${r4.bytes} bytes (${r4.compressionRatio}x)`)
  t.equal(json(runCli(['ls', 'peft/roberta-mrpc-nf4', '--json'], { store, env }))[0].size, r4.bytes)

  // text output prints the exact figures
  const fp8 = runCli(['quantize', REPO, '--preset', 'fp8-e4m3'], { store, env })
  t.equal(fp8.status, 0, fp8.stderr.toString())
  t.match(fp8.stdout.toString(), /relative RMS error \d+\.\d+% \(0\.0\d+\), max abs error/)
  t.match(fp8.stdout.toString(), /quantized-fp8/)
  t.match(fp8.stdout.toString(), /proxy/)

  // GGUF output: a .gguf file that an independent parser reads, exported byte for byte
  const g = runCli(['quantize', REPO, '--preset', 'q8_0', '--json'], { store, env })
  t.equal(g.status, 0, g.stderr.toString())
  const rg = json(g)
  t.equal(rg.files[0].output, 'checkpoint-0230.adapter_model.gguf')
  const out = tempDir(t, 'tenpak-cli-gguf-')
  t.equal(runCli(['export', `${REPO}@quantized-q8_0`, out], { store, env }).status, 0)
  const path = join(out, 'checkpoint-0230.adapter_model.gguf')
  t.equal(statSync(path).size, rg.bytes)
  const parsed = await gguf(path, { allowLocalFile: true })
  t.equal(parsed.tensorInfos.length, 148)
  t.equal(parsed.metadata.version, 3)

  t.same(readdirSync(tmp), [], 'no temporary output left behind')
})

t.test('quantize refuses unknown presets, calibration presets and revisions without safetensors with one line and a non-zero exit', async t => {
  const { store, env, tmp } = setup(t)
  const gptq = runCli(['quantize', REPO, '--preset', 'gptq-int4-g128'], { store, env })
  t.not(gptq.status, 0)
  t.match(gptq.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: preset "gptq-int4-g128" is not produced natively .*calibration/)
  t.equal(gptq.stderr.toString().trim().split('\n').length, 1)
  const missing = runCli(['quantize', 'nobody/nothing', '--preset', 'int8'], { store, env })
  t.not(missing.status, 0)
  t.match(missing.stderr.toString(), /^tenpak: ERR_REPO_NOT_FOUND:/)
  t.equal(runCli(['add', 'data/csv', corpusPath('datasets/vega-flights-subsets/weather.csv')], { store, env }).status, 0)
  const csv = runCli(['quantize', 'data/csv', '--preset', 'int8'], { store, env })
  t.not(csv.status, 0)
  t.match(csv.stderr.toString(), /^tenpak: ERR_UNSUPPORTED: .*no safetensors file/)
  const badTarget = runCli(['quantize', REPO, '--preset', 'int8', '--to', 'not a repo'], { store, env })
  t.not(badTarget.status, 0)
  t.match(badTarget.stderr.toString(), /^tenpak: ERR_BAD_REPO_NAME:/)
  t.same(readdirSync(tmp), [], 'no temporary output left behind')
})
