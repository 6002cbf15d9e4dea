/**
 * The citation audit: every published figure in the catalogs, presets and
 * savings defaults records how it was checked, and exactly the figures no
 * stored source confirmed are marked unverified.
 */
import t from 'tap'
import { CITATIONS_CHECKED_ON, isUnverified, type Citation } from '../../src/advisor/citations.js'
import { GPU_CATALOG, OFFER_CATALOG } from '../../src/advisor/catalog/gpus.js'
import { MODEL_CATALOG } from '../../src/advisor/catalog/models.js'
import { PRESETS } from '../../src/advisor/presets.js'
import { DEFAULT_EGRESS_PRICE, DEFAULT_STORAGE_PRICE } from '../../src/advisor/savings.js'
import { suggestOptimalModel } from '../../src/advisor/route.js'

function allCitations (): Citation[] {
  const out: Citation[] = []
  for (const g of GPU_CATALOG) out.push(g.memoryGB.source, g.bandwidthGBs.source)
  for (const o of OFFER_CATALOG) out.push(o.specSource, o.hourlyUsd.source)
  for (const m of MODEL_CATALOG) out.push(m.params.source, m.contextLength.source, m.architecture.source, ...m.scores.map(s => s.source))
  for (const p of PRESETS) out.push(...p.quality.citations)
  out.push(DEFAULT_STORAGE_PRICE.source, DEFAULT_EGRESS_PRICE.source)
  // the route reasoning's own citations (vLLM utilisation, characters per token)
  const d = suggestOptimalModel({ requestedModel: 'mistral-7b', prompt: 'What is the capital of France?' })
  for (const step of d.reasoning) for (const v of Object.values(step.values)) if (!('name' in v)) out.push(v.source)
  return out
}

t.test('every published citation records its verification', async t => {
  const published = allCitations().filter(c => c.kind === 'published')
  t.ok(published.length > 30)
  for (const c of published) {
    t.ok(c.verification != null, `${c.title}: verification recorded`)
    if (c.verification == null) continue
    t.equal(c.verification.checkedOn, CITATIONS_CHECKED_ON)
    t.ok(['primary', 'secondary', 'unverified'].includes(c.verification.status))
    t.equal(c.verified, c.verification.status !== 'unverified', `${c.title}: verified flag agrees with the status`)
    t.ok(c.verification.note.length > 20, `${c.title}: says what was found`)
    t.match(c.url, /^https:\/\//)
  }
})

t.test('exactly the unconfirmed figures are marked unverified', async t => {
  const titles = [...new Set(allCitations().filter(isUnverified).map(c => c.title))].sort()
  t.same(titles, [
    'Jiang et al., "Mistral 7B", 2023 — Table 2',
    'llama.cpp, tools/quantize/README.md (meta-llama/Llama-3.1-8B table)'
  ])
})

t.test('corrected figures: AWS P4d/P5 prices, Llama 3.1 architecture source', async t => {
  const price = (id: string): number => OFFER_CATALOG.find(o => o.id === id)!.hourlyUsd.value
  t.equal(price('aws-p5.48xlarge'), 55.04)
  t.equal(price('aws-p4d.24xlarge'), 21.957642)
  for (const o of OFFER_CATALOG) t.match(o.hourlyUsd.source.asOf, /^\d{4}-\d{2}$/, `${o.id} price is dated`)
  const l70 = MODEL_CATALOG.find(m => m.id === 'meta-llama/Llama-3.1-70B-Instruct')!
  t.match(l70.architecture.source.url, /llama-models\/blob\/main\/models\/llama3_1\/api\/sku_list\.py$/)
  t.equal(l70.architecture.source.verification?.status, 'primary')
})
