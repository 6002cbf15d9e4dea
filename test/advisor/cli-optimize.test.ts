/**
 * `tenpak optimize` through the real CLI, on a store holding the corpus's
 * peft checkpoint (F32, 148 tensors).
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runCli, tempDir } from '../helpers/store.js'
import { corpusPath } from '../helpers/corpus.js'

const CHECKPOINT = corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors')
const REPO = 'peft/roberta-mrpc'

/** A store holding the checkpoint as REPO@main, with a private TMPDIR the CLI writes its temporary output to. */
function setup (t: Test): { store: string, env: NodeJS.ProcessEnv, tmp: string } {
  const dir = tempDir(t, 'tenpak-cli-optimize-')
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

t.test('optimize via the CLI picks different presets under different constraints and refuses in one line when none fits', async t => {
  const { store, env } = setup(t)
  const pick = (args: string[]): any => {
    const r = runCli(['optimize', REPO, ...args, '--json'], { store, env })
    t.equal(r.status, 0, r.stderr.toString())
    return json(r)
  }
  const strict = pick(['--max-error', '0.01', '--min-compression', '2'])
  t.equal(strict.chosen.id, 'int8')
  t.match(strict.note, /proxy/)
  t.ok(strict.candidates.some((c: any) => c.id === 'fp8' && !c.accepted && /weight error 2\.64% > max 1\.00%/.test(c.reasons.join(' '))), 'fp8 rejected for its error')
  t.equal(pick(['--max-error', '0.03']).chosen.id, 'fp8')
  t.equal(pick(['--max-error', '0.1', '--min-compression', '2.98']).chosen.id, 'nf4')
  // sampled measurement keeps sizes exact and still chooses
  const sampled = pick(['--max-error', '0.03', '--sample-rows', '64'])
  t.equal(sampled.chosen.id, 'fp8')
  t.equal(sampled.sampled, true)

  const text = runCli(['optimize', REPO, '--max-error', '0.01'], { store, env })
  t.equal(text.status, 0)
  t.match(text.stdout.toString(), /chosen: int8/)
  t.match(text.stdout.toString(), /- fp8 .*weight error 2\.644%: weight error 2\.64% > max 1\.00%/)
  t.match(text.stdout.toString(), /proxy for model quality, not perplexity/)

  const none = runCli(['optimize', REPO, '--max-error', '0.001', '--min-compression', '2'], { store, env })
  t.not(none.status, 0, 'non-zero exit')
  const lines = none.stderr.toString().trim().split('\n')
  t.equal(lines.length, 1, 'one line')
  t.match(lines[0], /^tenpak: ERR_NO_PRESET_FITS: no preset meets weight error ≤ 0\.100% and compression ≥ 2\.000×/)
  t.match(lines[0], /int8: .*weight error 0\.780% > max 0\.100%/, 'rejected alternatives with their reasons')
  t.match(lines[0], /proxy for model quality, not perplexity/)
  t.equal(none.stdout.toString(), '')
  const noneJson = runCli(['optimize', REPO, '--max-error', '0.001', '--min-compression', '2', '--json'], { store, env })
  t.not(noneJson.status, 0)
  const body = json(noneJson)
  t.equal(body.error.code, 'ERR_NO_PRESET_FITS')
  t.equal(body.candidates.length, 5)

  const bad = runCli(['optimize', REPO, '--max-error', 'lots'], { store, env })
  t.not(bad.status, 0)
  t.match(bad.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: --max-error must be/)
})

t.test('optimize --eval takes measured figures for presets tenpak cannot run', async t => {
  const { store, env } = setup(t)
  const dir = tempDir(t, 'tenpak-eval-')
  const evalFile = join(dir, 'eval.json')
  const size = statSync(CHECKPOINT).size
  // a GPTQ result that is small and within the perplexity budget wins over the native candidates
  writeFileSync(evalFile, JSON.stringify({ results: [{ preset: 'gptq-int4-g128', perplexityDelta: 0.05, relativeRmsError: 0.05, bytes: Math.floor(size / 4), source: 'test harness' }] }))
  const r = runCli(['optimize', REPO, '--max-error', '0.06', '--eval', evalFile, '--json'], { store, env })
  t.equal(r.status, 0, r.stderr.toString())
  const res = json(r)
  t.equal(res.chosen.id, 'gptq-int4-g128')
  t.equal(res.chosen.origin, 'eval')
  const broken = join(dir, 'broken.json')
  writeFileSync(broken, 'not json')
  const b = runCli(['optimize', REPO, '--max-error', '0.06', '--eval', broken], { store, env })
  t.not(b.status, 0)
  t.match(b.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: .*not valid JSON/)
})
