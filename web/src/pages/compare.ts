/** Feature comparison: docs/comparison.md, bundled at build time. */
import comparison from '../../../docs/comparison.md?raw'
import { h, mount } from '../dom.js'
import { renderMarkdown } from '../markdown.js'

/** Render /compare. */
export function comparePage (el: HTMLElement): void {
  const body = h('div', { class: 'doc' })
  body.innerHTML = renderMarkdown(comparison)
  mount(el, body)
}
