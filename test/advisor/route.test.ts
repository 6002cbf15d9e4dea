import t, { type Test } from 'tap'
import { MODEL_CATALOG, findModel } from '../../src/advisor/catalog/models.js'
import { estimateDifficulty } from '../../src/advisor/difficulty.js'
import { suggestOptimalModel, type RouteDecision } from '../../src/advisor/route.js'

const TRIVIAL = 'What is the capital of France?'
const HARD = 'Prove that the algorithm below runs in O(n log n) time, derive a tight bound step by step, analyze the edge cases and compare it with a heap-based design.'

/** Every number in every reasoning sentence comes from a cited figure: templates hold no digits, every slot is filled by a figure with a source or by a name. */
function checkReasoning (t: Test, d: RouteDecision): void {
  t.ok(d.reasoning.length >= 5)
  for (const step of d.reasoning) {
    t.notMatch(step.template, /[0-9]/, `template has no literal numbers: ${step.template}`)
    const slots = [...step.template.matchAll(/\{(\w+)\}/g)].map(m => m[1])
    for (const slot of slots) {
      const v = step.values[slot]
      t.ok(v != null, `slot ${slot} filled`)
      if (v == null || 'name' in v) continue
      t.type(v.value, 'number')
      t.ok(Number.isFinite(v.value), `${slot} finite`)
      const src = v.source
      t.ok(['published', 'derived', 'assumption', 'config', 'measured'].includes(src.kind), `${slot} has a source kind`)
      t.ok(src.title.length > 0)
      if (src.kind === 'published') t.match(src.url, /^https:\/\//, `${slot} published source has a URL`)
      if (src.kind === 'assumption' || src.kind === 'derived') t.match(src.url, /^docs\/advisor\.md/, `${slot} documented in docs/advisor.md`)
    }
    // the rendered text has no number that is not a slot value or part of a name
    let stripped = step.template
    for (const slot of slots) stripped = stripped.replace(`{${slot}}`, '')
    t.notMatch(stripped, /[0-9]/)
  }
}

t.test('a trivial prompt for a 70B request goes to a smaller model whose published score meets the threshold', async t => {
  const d = suggestOptimalModel({ requestedModel: 'llama-3.1-70b', prompt: TRIVIAL, qualityThreshold: 0.8 })
  t.equal(d.difficulty.tier, 'trivial')
  t.equal(d.requestedModel, 'meta-llama/Llama-3.1-70B-Instruct')
  t.not(d.recommendedModel, d.requestedModel)
  const rec = findModel(MODEL_CATALOG, d.recommendedModel)!
  const req = findModel(MODEL_CATALOG, d.requestedModel)!
  const recMmlu = rec.scores.find(s => s.benchmark === 'mmlu')!.value
  const reqMmlu = req.scores.find(s => s.benchmark === 'mmlu')!.value
  t.ok(recMmlu >= 0.8 * reqMmlu, `${d.recommendedModel} MMLU ${recMmlu} ≥ 0.8 × ${reqMmlu}`)
  t.ok(rec.params.value < req.params.value)
  t.equal(d.recommendedModel, 'meta-llama/Llama-3.1-8B-Instruct', 'Llama 3.1 8B (69.4) clears 66.88; Llama 3.2 3B (63.4) does not')
  t.ok(d.estimatedCostPer1kTokens > 0 && d.estimatedCostPer1kTokens < d.baseline.estimatedCostPer1kTokens)
  t.ok(d.savingsPct > 50, `saves ${d.savingsPct.toFixed(1)}%`)
  t.equal(d.baseline.preset, 'bf16')
  t.equal(d.savingsPct, 100 * (d.baseline.estimatedCostPer1kTokens - d.estimatedCostPer1kTokens) / d.baseline.estimatedCostPer1kTokens)
  checkReasoning(t, d)
  // the score the decision rests on is the Llama 3.1 model card's
  const scoreStep = d.reasoning.find(s => 'reqScore' in s.values)!
  const reqScore = scoreStep.values.reqScore as { value: number, source: { url?: string } }
  t.equal(reqScore.value, 83.6)
  t.match(reqScore.source.url, /llama3_1\/MODEL_CARD\.md$/)
  t.comment(d.reasoning.map(s => s.text).join('\n'))
})

t.test('a hard prompt for a 70B request is not routed to a smaller model', async t => {
  const d = suggestOptimalModel({ requestedModel: 'meta-llama/Llama-3.1-70B-Instruct', prompt: HARD, qualityThreshold: 0.8 })
  t.equal(d.difficulty.tier, 'hard')
  t.equal(d.recommendedModel, 'meta-llama/Llama-3.1-70B-Instruct')
  t.not(d.preset, 'awq-int4-g128', 'no 4-bit preset for hard prompts')
  t.ok(d.savingsPct >= 0)
  checkReasoning(t, d)
  t.comment(d.reasoning.map(s => s.text).join('\n'))
})

t.test('a stricter threshold keeps even a trivial prompt on the requested model', async t => {
  const d = suggestOptimalModel({ requestedModel: 'llama-3.1-70b', prompt: TRIVIAL, qualityThreshold: 0.9 })
  t.equal(d.recommendedModel, 'meta-llama/Llama-3.1-70B-Instruct', '8B (69.4) < 0.9 × 83.6')
})

t.test('scores from different harnesses are never compared', async t => {
  const d = suggestOptimalModel({ requestedModel: 'mistral-7b', prompt: TRIVIAL, qualityThreshold: 0.5 })
  t.equal(d.recommendedModel, 'mistralai/Mistral-7B-v0.1', 'Llama models are not substitutes: their MMLU comes from another evaluation')
})

t.test('price overrides from config change the cost and are cited as config', async t => {
  const d = suggestOptimalModel({
    requestedModel: 'llama-3.1-70b',
    prompt: TRIVIAL,
    catalog: { offers: [{ id: 'aws-g6e.xlarge', gpu: 'nvidia-l40s', gpuCount: 1, hourlyUsd: 0.5 }] }
  })
  t.equal(d.hardware.offerId, 'aws-g6e.xlarge')
  t.equal(d.hardware.hourlyUsd, 0.5)
  const priceStep = d.reasoning.find(s => s.template.startsWith('At {price}'))!
  t.equal((priceStep.values.price as { source: { kind: string } }).source.kind, 'config')
  checkReasoning(t, d)
})

t.test('memory fit: a model that does not fit any offer in BF16 falls back to a smaller preset for the baseline', async t => {
  const d = suggestOptimalModel({ requestedModel: 'llama-3.1-405b', prompt: HARD })
  t.equal(d.recommendedModel, 'meta-llama/Llama-3.1-405B-Instruct')
  t.not(d.baseline.preset, 'bf16', '810 GB of BF16 weights exceed 8 × 80 GB × 0.9')
  const onlyL4 = () => suggestOptimalModel({ requestedModel: 'llama-3.1-405b', prompt: HARD, catalog: { onlyOffers: ['aws-g6.xlarge'] } })
  t.throws(onlyL4, { code: 'ERR_UNSUPPORTED' })
})

t.test('bad requests are refused with stable codes', async t => {
  t.throws(() => suggestOptimalModel({ requestedModel: 'gpt-17', prompt: 'hi' }), { code: 'ERR_NOT_FOUND' })
  t.throws(() => suggestOptimalModel({ requestedModel: 'llama-3.1-8b', prompt: 'hi', qualityThreshold: 1.5 }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => suggestOptimalModel({ requestedModel: 'llama-3.1-8b', prompt: 'hi', concurrency: 0 }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('prompt difficulty heuristic: tiers, categories and signals', async t => {
  t.equal(estimateDifficulty('hi there').tier, 'trivial')
  t.equal(estimateDifficulty('Translate "good morning" into German.').tier, 'trivial')
  const code = estimateDifficulty('Implement a function in TypeScript that parses this:\n```ts\nconst x = 1;\n```\nand refactor it, then debug the edge case.')
  t.equal(code.category, 'code')
  t.not(code.tier, 'trivial')
  const math = estimateDifficulty('Solve the equation x^2 - 5x + 6 = 0 and prove the roots are integers.')
  t.equal(math.category, 'math')
  const hard = estimateDifficulty(HARD)
  t.equal(hard.tier, 'hard')
  t.ok(hard.signals.length >= 2)
  t.equal(estimateDifficulty('x'.repeat(40)).estimatedTokens, 10)
  t.equal(estimateDifficulty('a '.repeat(5000)).signals.some(s => s.rule.startsWith('long prompt')), true)
})
