/** Routing playground: which model, preset and GPU a prompt would be routed to, with the reasoning. */
import { h, mount, errorBox, field, loading } from '../dom.js'
import { getJson, postJson } from '../api.js'
import { fmtPct } from '../format.js'

interface Decision {
  requestedModel: string
  recommendedModel: string
  preset: string
  hardware: { provider: string, instanceType: string, gpu: string, gpuCount: number, hourlyUsd: number }
  estimatedCostPer1kTokens: number
  savingsPct: number
  baseline: { model: string, preset: string, estimatedCostPer1kTokens: number }
  difficulty: { tier: string, score: number, category?: string }
  reasoning: Array<{ text: string }>
}

const EXAMPLES = [
  'What is the capital of France?',
  'Write a Python function that merges two sorted lists, with tests.',
  'Prove that there are infinitely many primes p such that p ≡ 3 (mod 4), and explain each step.'
]

/** Render /route. */
export async function routePage (el: HTMLElement, _p: string[], signal: AbortSignal): Promise<void> {
  mount(el, h('h1', {}, 'Routing playground'), loading())
  const { models } = await getJson<{ models: Array<{ id: string, family: string }> }>('/api/dashboard/models', signal)
  // default to a large model: that is where routing to something cheaper shows
  const preferred = models.find(m => /70b/i.test(m.id)) ?? models[models.length - 1]
  const model = h('select', { id: 'route-model' }, models.map(m => h('option', { value: m.id, selected: m === preferred }, m.id)))
  const prompt = h('textarea', { id: 'route-prompt', rows: 5, required: true }, EXAMPLES[0])
  const threshold = h('input', { id: 'route-threshold', type: 'number', min: '0.05', max: '1', step: '0.05', value: '0.8', inputmode: 'decimal' })
  const tokens = h('input', { id: 'route-tokens', type: 'number', min: '1', step: '1', value: '512', inputmode: 'numeric' })
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'route-result' })
  const button = h('button', { type: 'submit' }, 'Route')
  const form = h('form', { class: 'card form' },
    h('div', { class: 'row' }, field('Requested model', model), field('Quality threshold', threshold, 'fraction of the requested model\'s score'), field('Max output tokens', tokens)),
    field('Prompt', prompt),
    h('p', { class: 'examples' }, 'Examples: ', EXAMPLES.map((x, i) => h('button', { type: 'button', class: 'link', onclick: () => { prompt.value = x } }, ['easy', 'code', 'hard'][i]))),
    button)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    button.disabled = true
    mount(out, loading('Routing…'))
    postJson<Decision>('/api/dashboard/route', { model: model.value, prompt: prompt.value, qualityThreshold: Number(threshold.value), maxOutputTokens: Number(tokens.value) }, signal)
      .then(d => { mount(out, result(d)) })
      .catch(err => { if (!signal.aborted) mount(out, errorBox(err)) })
      .finally(() => { button.disabled = false })
  })
  mount(el, h('h1', {}, 'Routing playground'),
    h('p', {}, 'The decision ', h('code', {}, 'tenpak route'), ' and ', h('code', {}, 'POST /v1/route'), ' make: the cheapest model, preset and GPU whose cited benchmark score is good enough for the prompt\'s difficulty.'),
    form, out)
}

function result (d: Decision): HTMLElement {
  return h('section', { class: 'card result' },
    h('h2', {}, 'Route to ', h('span', { 'data-testid': 'routed-model' }, d.recommendedModel), ` · ${d.preset}`),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Difficulty'), h('dd', {}, `${d.difficulty.tier} (score ${d.difficulty.score.toFixed(2)})`),
      h('dt', {}, 'Hardware'), h('dd', {}, `${d.hardware.gpuCount} × ${d.hardware.gpu} — ${d.hardware.provider} ${d.hardware.instanceType}, $${d.hardware.hourlyUsd}/h`),
      h('dt', {}, 'Cost per 1k tokens'), h('dd', {}, `$${d.estimatedCostPer1kTokens.toPrecision(3)} (baseline ${d.baseline.model} ${d.baseline.preset}: $${d.baseline.estimatedCostPer1kTokens.toPrecision(3)})`),
      h('dt', {}, 'Saving'), h('dd', { 'data-testid': 'route-savings' }, fmtPct(d.savingsPct))),
    h('details', { open: true }, h('summary', {}, 'Reasoning'), h('ol', {}, d.reasoning.map(s => h('li', {}, s.text)))))
}
