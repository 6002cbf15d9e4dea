/** Savings calculator: the store's measured savings, projected and priced (`tenpak savings`). */
import { h, mount, errorBox, field, loading, table } from '../dom.js'
import { getJson } from '../api.js'
import { fmtBytes, fmtUsd, fmtPct } from '../format.js'

interface Breakdown { dedup: number, delta: number, compression: number, metadata: number, packOverhead: number, unattributed: number }
interface Report {
  measured: { models: number, logicalBytes: number, storedBytes: number, savedBytes: number, savedFraction: number, breakdown: Breakdown }
  projection: { models: number, downloadsPerMonth: number, logicalBytes: number, storedBytes: number, savedBytes: number, breakdown: Breakdown }
  storage: { usdPerGbMonth: number, baselineUsdPerMonth: number, tenpakUsdPerMonth: number, savedUsdPerMonth: number }
  egress: { usdPerGb: number, baselineUsdPerMonth: number, tenpakUsdPerMonth: number, savedUsdPerMonth: number }
  totalSavedUsdPerMonth: number
  prices: { storage: { source: { title: string, url?: string } }, egress: { source: { title: string, url?: string } } }
  assumptions: string[]
}

/** Render /savings. */
export async function savingsPage (el: HTMLElement, _p: string[], signal: AbortSignal): Promise<void> {
  const models = h('input', { id: 'sav-models', type: 'number', min: '1', step: '1', placeholder: 'repos in the store', inputmode: 'numeric' })
  const downloads = h('input', { id: 'sav-downloads', type: 'number', min: '0', step: '1', value: '100', inputmode: 'numeric' })
  const storage = h('input', { id: 'sav-storage', type: 'number', min: '0', step: 'any', placeholder: '0.023', inputmode: 'decimal' })
  const egress = h('input', { id: 'sav-egress', type: 'number', min: '0', step: 'any', placeholder: '0.09', inputmode: 'decimal' })
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'savings-result' })
  const form = h('form', { class: 'card form' },
    h('div', { class: 'row' }, field('Models (N)', models), field('Downloads / month (M)', downloads), field('Storage $/GB-month', storage), field('Egress $/GB', egress)),
    h('button', { type: 'submit' }, 'Calculate'))
  const run = async (): Promise<void> => {
    const q = new URLSearchParams()
    for (const [k, i] of [['models', models], ['downloadsPerMonth', downloads], ['storageUsdPerGbMonth', storage], ['egressUsdPerGb', egress]] as const) if (i.value.trim() !== '') q.set(k, i.value.trim())
    mount(out, loading())
    try {
      mount(out, result(await getJson<Report>(`/api/dashboard/savings?${q.toString()}`, signal)))
    } catch (err) {
      if (!signal.aborted) mount(out, errorBox(err))
    }
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); void run() })
  mount(el, h('h1', {}, 'Savings calculator'),
    h('p', {}, 'The store\'s measured savings (dedup, deltas, compression), scaled to N models and M downloads a month and priced per GB (defaults cited; the same arithmetic as ', h('code', {}, 'tenpak savings'), ').'),
    form, out)
  await run()
}

function result (r: Report): HTMLElement {
  const m = r.measured
  const p = r.projection
  const rows = (b: Breakdown): Array<[string, number]> => [['dedup', b.dedup], ['deltas', b.delta], ['compression', b.compression], ['metadata', b.metadata], ['pack overhead', b.packOverhead]]
  return h('section', { class: 'card result' },
    h('h2', {}, 'Saved per month: ', h('span', { 'data-testid': 'savings-total' }, fmtUsd(r.totalSavedUsdPerMonth))),
    h('p', {}, `Measured on ${m.models} repositories: ${fmtBytes(m.logicalBytes)} logical, ${fmtBytes(m.storedBytes)} stored, ${fmtBytes(m.savedBytes)} saved (${fmtPct(m.savedFraction * 100)}).`),
    table(['', 'Measured', `Projected (${p.models} models)`], [
      ['Logical', fmtBytes(m.logicalBytes), fmtBytes(p.logicalBytes)],
      ['Stored', fmtBytes(m.storedBytes), fmtBytes(p.storedBytes)],
      ...rows(m.breakdown).map(([k, v], i) => [`saved by ${k}`, fmtBytes(v), fmtBytes(rows(p.breakdown)[i][1])])
    ], { numeric: [1, 2] }),
    table(['Cost / month', 'Plain files', 'tenpak', 'Saved'], [
      [`Storage at $${r.storage.usdPerGbMonth}/GB-month`, fmtUsd(r.storage.baselineUsdPerMonth), fmtUsd(r.storage.tenpakUsdPerMonth), fmtUsd(r.storage.savedUsdPerMonth)],
      [`Egress, ${p.downloadsPerMonth} downloads at $${r.egress.usdPerGb}/GB`, fmtUsd(r.egress.baselineUsdPerMonth), fmtUsd(r.egress.tenpakUsdPerMonth), fmtUsd(r.egress.savedUsdPerMonth)]
    ], { numeric: [1, 2, 3] }),
    h('details', {}, h('summary', {}, 'Assumptions and sources'),
      h('ul', {}, r.assumptions.map(a => h('li', {}, a)),
        [r.prices.storage, r.prices.egress].map(x => h('li', {}, x.source.url != null ? h('a', { href: x.source.url, rel: 'noreferrer noopener', target: '_blank' }, x.source.title) : x.source.title)))))
}
