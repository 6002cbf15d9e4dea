/** `tenpak route` and `tenpak presets` through the real CLI. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runCli, tempDir } from '../helpers/store.js'

const TRIVIAL = 'What is the capital of France?'
const HARD = 'Prove that the algorithm below runs in O(n log n) time, derive a tight bound step by step, analyze the edge cases and compare it with a heap-based design.'

t.test('route: a trivial prompt for a 70B request goes to a smaller model; a hard one does not; reasoning is printed', async t => {
  const easy = runCli(['route', 'llama-3.1-70b', TRIVIAL, '--quality-threshold', '0.8', '--json'])
  t.equal(easy.status, 0, easy.stderr.toString())
  const d = JSON.parse(easy.stdout.toString())
  t.equal(d.requestedModel, 'meta-llama/Llama-3.1-70B-Instruct')
  t.equal(d.recommendedModel, 'meta-llama/Llama-3.1-8B-Instruct')
  for (const k of ['recommendedModel', 'hardware', 'preset', 'estimatedCostPer1kTokens', 'savingsPct', 'reasoning']) t.ok(k in d, `has ${k}`)
  t.ok(d.savingsPct > 50)
  // every figure in the reasoning carries a source; published ones say how they were checked
  for (const step of d.reasoning) {
    for (const v of Object.values(step.values) as any[]) {
      if ('name' in v) continue
      t.ok(v.source.kind.length > 0)
      if (v.source.kind === 'published') t.type(v.source.verified, 'boolean', `${v.source.title} records its verification`)
    }
  }

  const hard = runCli(['route', 'meta-llama/Llama-3.1-70B-Instruct', HARD, '--json'])
  t.equal(hard.status, 0, hard.stderr.toString())
  const h = JSON.parse(hard.stdout.toString())
  t.equal(h.recommendedModel, 'meta-llama/Llama-3.1-70B-Instruct')
  t.equal(h.difficulty.tier, 'hard')

  const text = runCli(['route', 'llama-3.1-70b', TRIVIAL])
  t.equal(text.status, 0)
  const out = text.stdout.toString()
  t.match(out, /llama-3\.1-70b|Llama-3\.1-70B/i)
  t.match(out, /-> meta-llama\/Llama-3\.1-8B-Instruct/)
  t.match(out, /reasoning:\n {2}1\. Prompt difficulty/)
  t.match(out, /roofline/)
})

t.test('route: the Mistral score is flagged as unverified in text output; --catalog overrides prices', async t => {
  const m = runCli(['route', 'mistral-7b', TRIVIAL])
  t.equal(m.status, 0, m.stderr.toString())
  t.match(m.stdout.toString(), /unverified figures.*\n {2}60\.1 score \(Jiang et al\., "Mistral 7B", 2023 — Table 2\)/)

  const dir = tempDir(t, 'tenpak-route-')
  const catalog = join(dir, 'catalog.json')
  writeFileSync(catalog, JSON.stringify({ offers: [{ id: 'aws-g6e.xlarge', gpu: 'nvidia-l40s', gpuCount: 1, hourlyUsd: 0.25 }], onlyOffers: ['aws-g6e.xlarge', 'aws-p5.48xlarge'] }))
  const r = runCli(['route', 'llama-3.1-70b', TRIVIAL, '--catalog', catalog, '--json'])
  t.equal(r.status, 0, r.stderr.toString())
  const d = JSON.parse(r.stdout.toString())
  t.equal(d.hardware.offerId, 'aws-g6e.xlarge')
  t.equal(d.hardware.hourlyUsd, 0.25)
  const price = d.reasoning.find((s: any) => s.template.startsWith('At {price}'))
  t.equal(price.values.price.source.kind, 'config')
})

t.test('route refuses unknown models and bad thresholds with one line and a non-zero exit', async t => {
  const unknown = runCli(['route', 'gpt-17', 'hi'])
  t.not(unknown.status, 0)
  t.match(unknown.stderr.toString(), /^tenpak: ERR_NOT_FOUND: model gpt-17 is not in the routing catalog\n$/)
  const bad = runCli(['route', 'llama-3.1-8b', 'hi', '--quality-threshold', '2'])
  t.not(bad.status, 0)
  t.match(bad.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: qualityThreshold must be a number in \(0, 1\]/)
})

t.test('presets lists the nine presets with cited quality impact and commands', async t => {
  const r = runCli(['presets', '--json'])
  t.equal(r.status, 0, r.stderr.toString())
  const list = JSON.parse(r.stdout.toString())
  t.same(list.map((p: any) => p.id), ['gptq-int4-g128', 'gptq-int8-g128', 'awq-int4-g128', 'bnb-nf4', 'bnb-fp4', 'bnb-int8', 'gguf-q4_k_m', 'gguf-q8_0', 'fp8-e4m3'])
  for (const p of list) {
    t.ok(p.quality.citations.length > 0, `${p.id} cites its quality claim`)
    for (const c of p.quality.citations) t.ok(c.verification != null, `${p.id}: ${c.title} records how it was checked`)
  }
  const text = runCli(['presets'])
  t.equal(text.status, 0)
  t.match(text.stdout.toString(), /bnb-nf4 — bitsandbytes NF4/)
  t.match(text.stdout.toString(), /native: tenpak quantize REPO --preset nf4/)
  t.match(text.stdout.toString(), /\[UNVERIFIED\]/, 'the unconfirmed llama.cpp README figure is flagged')
})
