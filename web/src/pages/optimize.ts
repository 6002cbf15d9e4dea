/** Cost optimizer: measure the native quantizers on a stored model and pick the smallest that meets the constraints. */
import { h, mount, empty, errorBox, field, loading, table } from '../dom.js'
import { ApiError, postJson, repoNames } from '../api.js'
import { fmtBytes } from '../format.js'

interface Candidate { id: string, name: string, origin: string, bytes: number, bytesSource: string, compressionRatio: number, relativeRmsError?: number, accepted: boolean, reasons: string[] }
interface Result { chosen: Candidate, candidates: Candidate[], originalBytes: number, sampled: boolean, note: string, source?: { repo: string, commit: string, files: string[] } }

/** Render /optimize. */
export async function optimizePage (el: HTMLElement, _p: string[], signal: AbortSignal): Promise<void> {
  mount(el, h('h1', {}, 'Cost optimizer'), loading())
  const models = (await repoNames()).filter(r => r.type === 'model')
  if (models.length === 0) {
    mount(el, h('h1', {}, 'Cost optimizer'), empty('No model repositories in the store.', 'Add a model with safetensors weights to measure quantizers on it.'))
    return
  }
  const repo = h('select', { id: 'opt-repo' }, models.map(m => h('option', { value: m.name }, m.name)))
  const maxError = h('input', { id: 'opt-max-error', type: 'number', step: 'any', min: '0', placeholder: '0.01', inputmode: 'decimal' })
  const minComp = h('input', { id: 'opt-min-compression', type: 'number', step: 'any', min: '0', placeholder: '2', inputmode: 'decimal' })
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'optimize-result' })
  const button = h('button', { type: 'submit' }, 'Measure and choose')
  const num = (i: HTMLInputElement): number | undefined => i.value.trim() === '' ? undefined : Number(i.value)
  const form = h('form', { class: 'card form' },
    h('div', { class: 'row' }, field('Model', repo, 'its safetensors files are measured'), field('Max relative RMS error', maxError, 'e.g. 0.01 = 1%'), field('Min compression', minComp, 'original / quantized, e.g. 2')),
    button)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    button.disabled = true
    mount(out, loading('Measuring… (tensors are streamed from the store; 64 rows per tensor are sampled)'))
    postJson<Result>('/api/dashboard/optimize', { repo: repo.value, maxError: num(maxError), minCompression: num(minComp) }, signal)
      .then(r => { mount(out, result(r.chosen, r.candidates, r.note)) })
      .catch(err => {
        if (signal.aborted) return
        const b = err instanceof ApiError ? err.body as { candidates?: Candidate[] } | undefined : undefined
        mount(out, errorBox(err), b?.candidates != null ? result(undefined, b.candidates, '') : null)
      })
      .finally(() => { button.disabled = false })
  })
  mount(el, h('h1', {}, 'Cost optimizer'),
    h('p', {}, 'Runs ', h('code', {}, 'tenpak optimize'), ' on a stored model: every native quantizer is measured in one streaming pass and the smallest result meeting your constraints is chosen.'),
    form, out)
}

function result (chosen: Candidate | undefined, cands: Candidate[], note: string): HTMLElement {
  return h('section', { class: 'card result' },
    chosen != null ? h('h2', {}, 'Chosen: ', chosen.name, ` — ${fmtBytes(chosen.bytes)} (${chosen.compressionRatio.toFixed(2)}×)`) : h('h2', {}, 'Candidates'),
    table(['Candidate', 'Size', 'Compression', 'Rel. RMS error', 'Accepted', 'Why'], cands.map(c => [
      c.name, `${fmtBytes(c.bytes)}${c.bytesSource !== 'exact' ? ` (${c.bytesSource})` : ''}`, `${c.compressionRatio.toFixed(3)}×`,
      c.relativeRmsError != null ? `${(c.relativeRmsError * 100).toPrecision(3)}%` : '–', c.accepted ? 'yes' : 'no', c.reasons.join('; ')
    ]), { numeric: [1, 2, 3] }),
    note !== '' ? h('p', { class: 'hint' }, note) : null)
}
