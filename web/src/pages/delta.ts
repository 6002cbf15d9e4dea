/** Delta estimator: what `tenpak delta estimate BASE FINETUNE` says, for two store repos. */
import { h, mount, empty, errorBox, field, loading } from '../dom.js'
import { postJson, repoNames } from '../api.js'
import { fmtBytes, fmtInt, fmtPct } from '../format.js'

interface Estimate { base: string, finetune: string, baseBytes: number, finetuneBytes: number, deltaBytes: number, savingsPct: number, deltaLogicalBytes: number, dedupBytes: number, baseFilePairs: number, warnings: string[], ms: number }

/** Render /delta. */
export async function deltaPage (el: HTMLElement, _p: string[], signal: AbortSignal): Promise<void> {
  mount(el, h('h1', {}, 'Delta estimator'), loading())
  const repos = await repoNames()
  if (repos.length < 1) {
    mount(el, h('h1', {}, 'Delta estimator'), empty('No repositories in the store.', 'Add a base model and a fine-tune, or two versions of a dataset, first.'))
    return
  }
  const opt = (sel?: string): HTMLOptionElement[] => repos.map(r => h('option', { value: r.name, selected: r.name === sel }, r.name))
  const base = h('select', { id: 'delta-base', name: 'base' }, opt(repos[0].name))
  const ft = h('select', { id: 'delta-finetune', name: 'finetune' }, opt(repos[Math.min(1, repos.length - 1)].name))
  const baseRev = h('input', { id: 'delta-base-rev', placeholder: 'main', autocomplete: 'off' })
  const ftRev = h('input', { id: 'delta-ft-rev', placeholder: 'main', autocomplete: 'off' })
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'delta-result' })
  const button = h('button', { type: 'submit' }, 'Estimate')
  const withRev = (name: string, rev: string): string => rev.trim() === '' ? name : `${name}@${rev.trim()}`
  const form = h('form', { class: 'card form' },
    h('div', { class: 'row' }, field('Base', base), field('Base revision', baseRev, 'branch, tag or commit')),
    h('div', { class: 'row' }, field('Fine-tune / new version', ft), field('Revision', ftRev)),
    button)
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    button.disabled = true
    mount(out, loading('Estimating… (the fine-tune is chunked and paired against the base; this reads both)'))
    postJson<Estimate>('/api/dashboard/delta-estimate', { base: withRev(base.value, baseRev.value), finetune: withRev(ft.value, ftRev.value) }, signal)
      .then(r => { mount(out, result(r)) })
      .catch(err => { if (!signal.aborted) mount(out, errorBox(err)) })
      .finally(() => { button.disabled = false })
  })
  mount(el, h('h1', {}, 'Delta estimator'),
    h('p', {}, 'How many bytes a fine-tune (or a new dataset version) needs beyond its base: the same computation as ', h('code', {}, 'tenpak delta estimate'), '. Nothing is written.'),
    form, out)
}

function result (r: Estimate): HTMLElement {
  return h('section', { class: 'card result' },
    h('h2', {}, `${r.finetune} against ${r.base}`),
    h('dl', { class: 'kv' },
      h('dt', {}, 'Fine-tune size'), h('dd', {}, fmtBytes(r.finetuneBytes)),
      h('dt', {}, 'Base size'), h('dd', {}, fmtBytes(r.baseBytes)),
      h('dt', {}, 'Delta (bytes needed beyond the base)'), h('dd', { 'data-testid': 'delta-bytes', 'data-value': r.deltaBytes }, `${fmtBytes(r.deltaBytes)} (${fmtInt(r.deltaBytes)} B)`),
      h('dt', {}, 'Saving'), h('dd', { 'data-testid': 'delta-savings' }, fmtPct(r.savingsPct)),
      h('dt', {}, 'Stored as deltas of base chunks'), h('dd', {}, fmtBytes(r.deltaLogicalBytes)),
      h('dt', {}, 'Identical to base chunks'), h('dd', {}, fmtBytes(r.dedupBytes)),
      h('dt', {}, 'Files paired by path'), h('dd', {}, fmtInt(r.baseFilePairs)),
      h('dt', {}, 'Took'), h('dd', {}, `${(r.ms / 1000).toFixed(1)} s`)),
    r.warnings.length > 0 ? h('ul', { class: 'warnings' }, r.warnings.map(w => h('li', {}, w))) : null)
}
