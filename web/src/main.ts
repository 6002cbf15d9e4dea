/**
 * The tenpak dashboard: a single-page app over the server's own JSON
 * endpoints. Routing uses the History API; the server answers every page
 * route with index.html.
 */
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { h, mount, errorBox } from './dom.js'
import { overviewPage } from './pages/overview.js'
import { repoPage } from './pages/repo.js'
import { deltaPage } from './pages/delta.js'
import { presetsPage } from './pages/presets.js'
import { optimizePage } from './pages/optimize.js'
import { routePage } from './pages/route.js'
import { savingsPage } from './pages/savings.js'
import { comparePage } from './pages/compare.js'
import { deployPage } from './pages/deploy.js'

/** A page renders into `el`; `signal` aborts when the user navigates away. */
export type Page = (el: HTMLElement, params: string[], signal: AbortSignal) => Promise<void> | void

interface RouteDef { path: string, title: string, page: Page, nav: boolean }

const ROUTES: RouteDef[] = [
  { path: '/', title: 'Overview', page: overviewPage, nav: true },
  { path: '/repo', title: 'Repository', page: repoPage, nav: false },
  { path: '/delta', title: 'Delta estimator', page: deltaPage, nav: true },
  { path: '/presets', title: 'Presets', page: presetsPage, nav: true },
  { path: '/optimize', title: 'Cost optimizer', page: optimizePage, nav: true },
  { path: '/route', title: 'Routing playground', page: routePage, nav: true },
  { path: '/savings', title: 'Savings calculator', page: savingsPage, nav: true },
  { path: '/compare', title: 'Feature comparison', page: comparePage, nav: true },
  { path: '/deploy', title: 'Mount & deploy', page: deployPage, nav: true }
]

const app = document.getElementById('app') as HTMLElement
const main = h('main', { id: 'main', tabindex: -1 })
const navLinks = ROUTES.filter(r => r.nav).map(r => h('a', { href: r.path, 'data-link': true }, r.title))
const menuButton = h('button', { class: 'menu', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'nav' }, 'Menu')
const nav = h('nav', { id: 'nav', 'aria-label': 'Dashboard pages' }, navLinks)
menuButton.addEventListener('click', () => {
  const open = menuButton.getAttribute('aria-expanded') !== 'true'
  menuButton.setAttribute('aria-expanded', String(open))
  nav.classList.toggle('open', open)
})
mount(app,
  h('header', { class: 'top' }, h('a', { href: '/', 'data-link': true, class: 'brand' }, 'tenpak'), h('span', { class: 'tag' }, location.host), menuButton),
  h('div', { class: 'layout' }, nav, main))

let current: AbortController | undefined

function match (pathname: string): { route: RouteDef, params: string[] } | undefined {
  const segs = pathname.split('/').filter(s => s !== '').map(decodeURIComponent)
  if (segs.length === 0) return { route: ROUTES[0], params: [] }
  const route = ROUTES.find(r => r.path === `/${segs[0]}`)
  return route != null ? { route, params: segs.slice(1) } : undefined
}

async function render (focus: boolean): Promise<void> {
  current?.abort()
  const ac = new AbortController()
  current = ac
  const m = match(location.pathname)
  for (const a of navLinks) {
    if (a.getAttribute('href') === (m?.route.nav === true ? m.route.path : '')) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  nav.classList.remove('open')
  menuButton.setAttribute('aria-expanded', 'false')
  if (m == null) {
    document.title = 'Not found · tenpak'
    mount(main, h('h1', {}, 'Page not found'), h('p', {}, 'No dashboard page at ', h('code', {}, location.pathname), '. ', h('a', { href: '/', 'data-link': true }, 'Back to the overview'), '.'))
    return
  }
  document.title = `${m.route.title} · tenpak`
  mount(main)
  try {
    await m.route.page(main, m.params, ac.signal)
  } catch (err) {
    if (!ac.signal.aborted) showError(err)
  }
  if (focus) main.focus({ preventScroll: false })
}

function showError (err: unknown): void {
  for (const l of main.querySelectorAll('.loading')) l.remove()
  main.appendChild(errorBox(err))
}

/** Navigate within the app. */
export function go (href: string): void {
  history.pushState(null, '', href)
  void render(true)
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null
  if (a == null || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  if (a.origin !== location.origin) return
  e.preventDefault()
  go(a.pathname + a.search)
})
window.addEventListener('popstate', () => { void render(true) })
void render(false)
