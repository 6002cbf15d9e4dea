/** Repo view: files (size, CID, sha256, Hub download link), commit history with delta sizes, tensor tables. */
import { h, mount, empty, loading, table } from '../dom.js'
import { getJson } from '../api.js'
import { fmtBytes, fmtInt, fmtTime, short } from '../format.js'

interface RepoView {
  repo: string
  type: 'model' | 'dataset'
  id: string
  rev: string
  commit: string
  hex: string
  branches: string[]
  tags: string[]
  files: Array<{ path: string, size: number, cid: string, sha256: string, format: string, url: string, tensors: boolean }>
  tensors: Record<string, { total: number, rows: Array<{ name: string, dtype: string, shape: number[], bytes: number }> }>
  log: Array<{ commit: string, hex?: string, message: string, author: string, time: number, files: number, logicalBytes: number, base?: { commit: string, repo?: string, named: boolean }, newStoredBytes?: number, deltaStoredBytes?: number, deltaLogicalBytes?: number }>
}

function mono (s: string, n = 12): HTMLElement {
  return h('code', { title: s }, short(s, n))
}

/** Render /repo/{models|datasets}/{org}/{name}. */
export async function repoPage (el: HTMLElement, params: string[], signal: AbortSignal): Promise<void> {
  if (params.length < 2) {
    mount(el, h('h1', {}, 'Repository'), empty('No repository named.', 'Pick one on the ', h('a', { href: '/', 'data-link': true }, 'overview'), '.'))
    return
  }
  const rev = new URLSearchParams(location.search).get('rev')
  mount(el, h('h1', {}, params.slice(1).join('/')), loading())
  const v = await getJson<RepoView>(`/api/dashboard/repo/${params.map(encodeURIComponent).join('/')}${rev != null ? `?rev=${encodeURIComponent(rev)}` : ''}`, signal)
  const refs = [...v.branches.map(b => ({ name: b, kind: 'branch' })), ...v.tags.map(t => ({ name: t, kind: 'tag' }))]
  const select = h('select', { id: 'rev', 'aria-label': 'Revision' }, refs.map(r => h('option', { value: r.name, selected: r.name === v.rev }, `${r.name} (${r.kind})`)))
  select.addEventListener('change', () => {
    history.pushState(null, '', `${location.pathname}?rev=${encodeURIComponent(select.value)}`)
    dispatchEvent(new PopStateEvent('popstate'))
  })
  const total = v.files.reduce((s, f) => s + f.size, 0)
  mount(el,
    h('h1', {}, v.id, ' ', h('span', { class: 'badge' }, v.type)),
    h('p', { class: 'meta' }, 'Revision ', select, ' · commit ', mono(v.hex, 40), ' · ', `${fmtInt(v.files.length)} files, ${fmtBytes(total)}`),
    h('section', {},
      h('h2', {}, 'Files'),
      v.files.length === 0
        ? empty('This revision has no files.')
        : table(['Path', 'Size', 'Format', 'CID', 'sha256', 'Download'], v.files.map(f => [
          h('span', { class: 'path' }, f.path), h('span', { title: `${fmtInt(f.size)} bytes` }, fmtBytes(f.size)), f.format, mono(f.cid, 14), mono(f.sha256, 12),
          h('a', { href: f.url, download: f.path.split('/').pop(), 'data-testid': 'download', 'aria-label': `Download ${f.path}` }, 'download')
        ]), { numeric: [1], testid: 'files-table', caption: 'Files of this revision' })),
    h('section', {},
      h('h2', {}, 'Commit history'),
      table(['Commit', 'Message', 'Time', 'Files', 'Size', 'Stored (added)', 'Stored against', 'Delta'], v.log.map(c => [
        mono(c.hex ?? c.commit, 10), c.message, fmtTime(c.time), fmtInt(c.files), fmtBytes(c.logicalBytes), fmtBytes(c.newStoredBytes),
        c.base != null ? h('span', {}, c.base.named ? 'base ' : 'parent ', c.base.repo != null && c.base.repo !== v.repo ? `${c.base.repo} ` : '', mono(c.base.commit, 10)) : '–',
        c.deltaStoredBytes != null && c.deltaStoredBytes > 0 ? `${fmtBytes(c.deltaStoredBytes)} for ${fmtBytes(c.deltaLogicalBytes)}` : '–'
      ]), { numeric: [3, 4, 5], testid: 'log-table', caption: 'Commits, newest first' })),
    h('section', {},
      h('h2', {}, 'Tensors'),
      Object.keys(v.tensors).length === 0
        ? empty('No tensor tables.', 'Tensor tables are kept for model files (safetensors, GGUF, ONNX, TFLite).')
        : Object.entries(v.tensors).map(([file, t], i) => h('details', { open: i === 0 && t.total <= 20, class: 'tensors' },
          h('summary', {}, `${file} — ${fmtInt(t.total)} tensors`),
          table(['Name', 'dtype', 'Shape', 'Bytes'], t.rows.map(r => [h('code', {}, r.name), r.dtype, r.shape.join(' × ') || 'scalar', fmtBytes(r.bytes)]), { numeric: [3], caption: `Tensors of ${file}` }),
          t.total > t.rows.length ? h('p', { class: 'hint' }, `First ${t.rows.length} of ${t.total} shown.`) : null))))
}
