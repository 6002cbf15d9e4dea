/** Store overview: repos, logical vs stored bytes, where the savings come from, stored bytes over commits. */
import uPlot from 'uplot'
import { h, mount, empty, loading, table } from '../dom.js'
import { getJson, type Overview } from '../api.js'
import { fmtBytes, fmtInt, fmtPct, fmtTime } from '../format.js'

function stat (label: string, value: string, exact: number | undefined, testid: string): HTMLElement {
  return h('div', { class: 'card stat' }, h('span', { class: 'label' }, label), h('span', { class: 'value', 'data-testid': testid, 'data-value': exact, title: exact != null ? `${fmtInt(exact)} bytes` : undefined }, value))
}

/** Render the overview. */
export async function overviewPage (el: HTMLElement, _params: string[], signal: AbortSignal): Promise<void> {
  mount(el, h('h1', {}, 'Store overview'), loading())
  const o = await getJson<Overview>('/api/dashboard/overview', signal)
  const s = o.stats
  const parts = [
    { key: 'dedup', label: 'Deduplication', bytes: s.dedupSavedBytes },
    { key: 'delta', label: 'Deltas', bytes: s.deltaSavedBytes },
    { key: 'compression', label: 'Compression', bytes: s.compressionSavedBytes }
  ]
  const saved = s.logicalBytes - s.storedBytes
  const positive = parts.reduce((a, p) => a + Math.max(0, p.bytes), 0)
  mount(el,
    h('h1', {}, 'Store overview'),
    h('section', { class: 'stats', 'aria-label': 'Store totals' },
      stat('Repositories', fmtInt(s.repos), s.repos, 'stat-repos'),
      stat('Commits', fmtInt(s.commits), s.commits, 'stat-commits'),
      stat('Logical bytes', fmtBytes(s.logicalBytes), s.logicalBytes, 'stat-logical'),
      stat('Stored bytes', fmtBytes(s.storedBytes), s.storedBytes, 'stat-stored'),
      stat('Stored / logical', s.logicalBytes > 0 ? fmtPct(100 * s.storedBytes / s.logicalBytes) : '–', undefined, 'stat-ratio'),
      stat('Chunks · packs', `${fmtInt(s.chunks)} · ${fmtInt(s.packs)}`, undefined, 'stat-chunks')),
    s.logicalBytes === 0
      ? empty('The store is empty.', 'Add a model or dataset with ', h('code', {}, 'tenpak add org/name ./folder'), ' (or ', h('code', {}, 'tenpak import-hf-cache'), '), then reload this page.')
      : [
          h('section', { class: 'card' },
            h('h2', {}, 'Where the savings come from'),
            h('p', {}, `${fmtBytes(saved)} saved of ${fmtBytes(s.logicalBytes)} (${fmtPct(s.logicalBytes > 0 ? 100 * saved / s.logicalBytes : 0)}). Metadata (${fmtBytes(s.metadataBytes)}) and pack overhead (${fmtBytes(s.packOverheadBytes)}) are costs.`),
            h('div', { class: 'split', role: 'img', 'aria-label': parts.map(p => `${p.label} ${fmtBytes(p.bytes)}`).join(', ') },
              parts.map(p => h('span', { class: `seg seg-${p.key}`, style: `flex-grow:${positive > 0 ? Math.max(0, p.bytes) / positive : 0}` }))),
            h('ul', { class: 'legend' }, parts.map(p => h('li', {}, h('span', { class: `dot seg-${p.key}` }), `${p.label}: `, h('strong', { 'data-testid': `saved-${p.key}`, 'data-value': p.bytes }, fmtBytes(p.bytes)))))),
          h('section', { class: 'card' },
            h('h2', {}, 'Stored bytes over commits'),
            o.series.length === 0 ? empty('No commits yet.') : chart(o)),
          h('section', {},
            h('h2', {}, 'Repositories'),
            table(['Repository', 'Type', 'Files', 'Size (head)', 'Commits', 'Stored (added)', 'Last commit'],
              o.repos.map(r => [
                h('a', { href: `/repo/${r.type === 'model' ? 'models' : 'datasets'}/${r.id}`, 'data-link': true }, r.id),
                r.type, fmtInt(r.files), fmtBytes(r.logicalBytes), fmtInt(r.commits), fmtBytes(r.storedBytes), fmtTime(r.lastModified)
              ]), { numeric: [2, 3, 4, 5], testid: 'repo-table', caption: 'Stored repositories' }))
        ])
}

function chart (o: Overview): HTMLElement {
  const box = h('div', { class: 'chart', 'data-testid': 'stored-chart' })
  const xs = o.series.map((_p, i) => i + 1)
  const data: uPlot.AlignedData = [xs, o.series.map(p => p.cumulativeLogicalBytes), o.series.map(p => p.cumulativeStoredBytes)]
  const fmtAxis = (_u: uPlot, vals: number[]): string[] => vals.map(v => fmtBytes(v))
  const draw = (): void => {
    box.replaceChildren()
    const width = Math.max(260, box.clientWidth || 600)
    // eslint-disable-next-line no-new
    new uPlot({
      width,
      height: 260,
      scales: { x: { time: false } },
      axes: [{ label: 'commit #', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] }, { values: fmtAxis, size: 70 }],
      series: [
        { label: 'commit', value: (_u, v) => v == null ? '–' : `${v} · ${o.series[v - 1]?.repo ?? ''}` },
        { label: 'logical', stroke: '#8a8f98', width: 2, dash: [6, 4], value: (_u, v) => fmtBytes(v) },
        { label: 'stored', stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.12)', value: (_u, v) => fmtBytes(v) }
      ]
    }, data, box)
  }
  requestAnimationFrame(draw)
  const table = h('details', {}, h('summary', {}, 'Data'),
    h('ol', { class: 'series' }, o.series.map(p => h('li', {}, `${p.repo}: ${p.message} — +${fmtBytes(p.newStoredBytes)} stored, ${fmtBytes(p.cumulativeStoredBytes)} total`))))
  return h('div', {}, box, h('p', { class: 'hint' }, 'Cumulative bytes of the blocks each commit added (packs also hold headers, and blocks no ref reaches until gc).'), table)
}
