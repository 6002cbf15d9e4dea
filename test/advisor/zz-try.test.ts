import t from 'tap'
import { suggestOptimalModel } from '../../src/advisor/route.js'
t.test('try', async t => {
  for (const prompt of ['What is the capital of France?', 'Prove that the algorithm runs in O(n log n) time and derive a tight bound step by step, then analyze the edge cases and compare it with a heap-based design.', 'Summarize the following paragraph about the history of bread making in two sentences: bread has been made for thousands of years...']) {
    const d = suggestOptimalModel({ requestedModel: 'llama-3.1-70b', prompt, qualityThreshold: 0.8 })
    console.log(JSON.stringify({ rec: d.recommendedModel, hw: d.hardware.instanceType, preset: d.preset, cost: d.estimatedCostPer1kTokens, savings: d.savingsPct, base: d.baseline, diff: d.difficulty }, null, 0))
    for (const s of d.reasoning) console.log('  -', s.text)
  }
  t.pass()
})
