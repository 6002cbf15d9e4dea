/** Tiny DOM helpers: elements built with text nodes only (no innerHTML for data). */

type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | EventListener | undefined>

/** Create an element; `on*` attributes become listeners, booleans toggle attributes. */
export function h<K extends keyof HTMLElementTagNameMap> (tag: K, attrs: Attrs = {}, ...children: Array<Child | Child[]>): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = String(v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

/** Append children (arrays flattened, empty values skipped). */
export function append (el: Node, children: Array<Child | Child[]>): void {
  for (const c of children.flat()) {
    if (c == null || c === false) continue
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)
  }
}

/** Replace an element's content. */
export function mount (el: Element, ...children: Array<Child | Child[]>): void {
  el.replaceChildren()
  append(el, children)
}

/** A labelled form control. */
export function field (label: string, control: HTMLElement, hint?: string): HTMLElement {
  if (control.id === '') control.id = `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hint != null ? h('small', { class: 'hint' }, hint) : null)
}

/** An error box (role=alert, so screen readers announce it). */
export function errorBox (err: unknown): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err)
  return h('div', { class: 'error', role: 'alert' }, h('strong', {}, 'Error: '), msg)
}

/** An empty-state box. */
export function empty (title: string, ...body: Array<Child | Child[]>): HTMLElement {
  return h('div', { class: 'empty' }, h('strong', {}, title), h('p', {}, ...body))
}

/** A loading line. */
export function loading (what = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', 'aria-busy': 'true' }, what)
}

/** A scrollable table. */
export function table (head: string[], rows: Array<Array<Child | Child[]>>, opts: { caption?: string, numeric?: number[], testid?: string } = {}): HTMLElement {
  const num = new Set(opts.numeric ?? [])
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': opts.caption ?? head.join(', '), 'data-testid': opts.testid },
    h('table', {},
      opts.caption != null ? h('caption', {}, opts.caption) : null,
      h('thead', {}, h('tr', {}, head.map((x, i) => h('th', { scope: 'col', class: num.has(i) ? 'num' : undefined }, x)))),
      h('tbody', {}, rows.map(r => h('tr', {}, r.map((c, i) => h('td', { class: num.has(i) ? 'num' : undefined }, ...(Array.isArray(c) ? c : [c]))))))))
}
