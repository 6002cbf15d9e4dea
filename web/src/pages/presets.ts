/** Presets explorer: every quantization preset, filterable by runtime and text. */
import { h, mount, empty, field, loading } from '../dom.js'
import { getJson } from '../api.js'

interface Citation { title: string, url: string, says: string }
interface Preset {
  id: string
  name: string
  bitsPerWeight: number
  bitsPerWeightDerivation: string
  sizeVsBf16: number
  needsCalibration: boolean
  runtimes: string[]
  runtimeNotes?: string[]
  quality: { summary: string, citations: Citation[] }
  produce: { tool: string, cli: string | null, python: string | null }
  tenpakCommand: string | null
}

/** Render /presets. */
export async function presetsPage (el: HTMLElement, _p: string[], signal: AbortSignal): Promise<void> {
  mount(el, h('h1', {}, 'Quantization presets'), loading())
  const { presets } = await getJson<{ presets: Preset[] }>('/api/dashboard/presets', signal)
  const runtimes = [...new Set(presets.flatMap(p => p.runtimes))].sort()
  const rt = h('select', { id: 'preset-runtime' }, h('option', { value: '' }, 'any runtime'), runtimes.map(r => h('option', { value: r }, r)))
  const q = h('input', { id: 'preset-search', type: 'search', placeholder: 'nf4, gptq, 8-bit…', autocomplete: 'off' })
  const list = h('div', { class: 'cards', 'data-testid': 'presets' })
  const draw = (): void => {
    const text = q.value.trim().toLowerCase()
    const shown = presets.filter(p => (rt.value === '' || p.runtimes.includes(rt.value)) && (text === '' || `${p.id} ${p.name} ${p.quality.summary}`.toLowerCase().includes(text)))
    if (shown.length === 0) { mount(list, empty('No preset matches.', 'Clear the filter to see all of them.')); return }
    mount(list, shown.map(card))
  }
  rt.addEventListener('change', draw)
  q.addEventListener('input', draw)
  mount(el, h('h1', {}, 'Quantization presets'),
    h('p', {}, 'What each format costs per weight, where it runs, what is published about its quality, and how to produce it (the data of ', h('code', {}, 'tenpak presets'), ').'),
    h('div', { class: 'row card form' }, field('Runtime', rt), field('Search', q)), list)
  draw()
}

function card (p: Preset): HTMLElement {
  return h('article', { class: 'card preset' },
    h('h2', {}, p.name, ' ', h('code', { class: 'small' }, p.id)),
    h('p', { class: 'meta' }, `${p.bitsPerWeight} bits/weight · ${(p.sizeVsBf16 * 100).toFixed(1)}% of bf16 · ${p.needsCalibration ? 'needs calibration data' : 'no calibration'}`),
    h('p', {}, h('strong', {}, 'Runs in: '), p.runtimes.join(', ')),
    h('p', {}, p.quality.summary),
    p.runtimeNotes != null && p.runtimeNotes.length > 0 ? h('ul', {}, p.runtimeNotes.map(n => h('li', {}, n))) : null,
    h('details', {}, h('summary', {}, 'How to produce it'),
      h('p', {}, h('strong', {}, 'Tool: '), p.produce.tool),
      p.tenpakCommand != null ? h('pre', {}, h('code', {}, p.tenpakCommand)) : null,
      p.produce.cli != null ? h('pre', {}, h('code', {}, p.produce.cli)) : null,
      p.produce.python != null ? h('pre', {}, h('code', {}, p.produce.python)) : null),
    h('details', {}, h('summary', {}, `Sources (${p.quality.citations.length})`),
      h('ul', {}, p.quality.citations.map(c => h('li', {}, h('a', { href: c.url, rel: 'noreferrer noopener', target: '_blank' }, c.title), ': ', c.says)))))
}
