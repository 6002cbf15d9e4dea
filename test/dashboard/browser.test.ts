/**
 * The dashboard in a real browser: Debian's Chromium driven by
 * playwright-core against a real server on 127.0.0.1 over a store of corpus
 * data. Every page is opened with every non-local request blocked (and
 * counted), console errors are collected, and a screenshot of each page is
 * written under .tap/screenshots/.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startServer } from '../../daemon/server.js'
import { createJsonLogger } from '../../daemon/logger.js'
import { runCli } from '../helpers/store.js'
import { projectRoot } from '../helpers/corpus.js'
import { fixtureStore, webBuilt } from './helpers.js'

// TENPAK_CHROMIUM: another Chromium binary (default: Debian's, installed by scripts/install-system-deps.sh)
const CHROMIUM = process.env.TENPAK_CHROMIUM ?? '/usr/bin/chromium'
const SHOTS = join(projectRoot, '.tap', 'screenshots')
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

function loudSkip (why: string): void {
  const line = '!'.repeat(78)
  console.error(`\n${line}\n!! DASHBOARD BROWSER TESTS SKIPPED: ${why}\n${line}\n`)
  t.comment(`SKIPPED: ${why}`)
}

if (!existsSync(CHROMIUM)) {
  loudSkip(`${CHROMIUM} is missing — run scripts/install-system-deps.sh (installs Debian's chromium)`)
  t.skip(`browser tests need ${CHROMIUM}`)
} else if (!webBuilt()) {
  loudSkip('dist/web is not built — run `npm run build`')
  t.skip('browser tests need the built front-end (dist/web)')
} else {
  t.test('dashboard in Chromium', async t => {
    const { store, files } = await fixtureStore(t)
    const cli = runCli(['stats', '--json'], { store })
    t.equal(cli.status, 0, 'tenpak stats --json runs')
    const cliStats = JSON.parse(cli.stdout.toString()) as Record<string, number>

    const logs: string[] = []
    const server = await startServer({ host: '127.0.0.1', port: 0, store, writeTokens: [], cacheBytes: 8 << 20, shutdownGraceMs: 2000, logRequests: false },
      { logger: createJsonLogger(new Writable({ write (c, _e, cb) { logs.push(String(c)); cb() } })) })
    t.teardown(async () => { await server.close('test end') })
    const base = server.url

    const profile = mkdtempSync(join(tmpdir(), 'tenpak-chromium-'))
    t.teardown(() => { rmSync(profile, { recursive: true, force: true }) })
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic']
    })
    t.teardown(async () => { await browser.close() })
    mkdirSync(SHOTS, { recursive: true })
    t.comment(`screenshots: ${SHOTS}`)

    const blocked: string[] = []
    const consoleErrors: string[] = []
    const open = async (path: string, viewport = { width: 1280, height: 900 }): Promise<Page> => {
      const context = await browser.newContext({ viewport })
      t.teardown(async () => { await context.close().catch(() => {}) })
      // the network is closed: anything not on this machine is refused and counted
      await context.route('**/*', async (route) => {
        const u = new URL(route.request().url())
        if (u.hostname !== '127.0.0.1') { blocked.push(u.href); await route.abort('internetdisconnected') } else await route.continue()
      })
      const page = await context.newPage()
      page.on('console', m => { if (m.type() === 'error') consoleErrors.push(`${path}: ${m.text()}`) })
      page.on('pageerror', e => { consoleErrors.push(`${path}: ${e.message}`) })
      await page.goto(base + path, { waitUntil: 'networkidle' })
      return page
    }
    const shot = async (page: Page, name: string): Promise<void> => {
      const file = join(SHOTS, `${name}.png`)
      await page.screenshot({ path: file, fullPage: true })
      t.ok(existsSync(file), `screenshot ${file}`)
    }

    await t.test('overview shows the numbers `tenpak stats --json` gives', async t => {
      const page = await open('/')
      await page.waitForSelector('[data-testid=stat-logical]')
      const val = async (id: string): Promise<number> => Number(await page.getAttribute(`[data-testid=${id}]`, 'data-value'))
      t.equal(await val('stat-logical'), cliStats.logicalBytes)
      t.equal(await val('stat-stored'), cliStats.storedBytes)
      t.equal(await val('stat-repos'), cliStats.repos)
      t.equal(await val('stat-commits'), cliStats.commits)
      t.equal(await val('saved-dedup'), cliStats.dedupSavedBytes)
      t.equal(await val('saved-delta'), cliStats.deltaSavedBytes)
      t.equal(await val('saved-compression'), cliStats.compressionSavedBytes)
      t.ok(await page.isVisible('[data-testid=stored-chart] canvas'), 'the stored-bytes plot is drawn')
      t.equal(await page.locator('[data-testid=repo-table] tbody tr').count(), cliStats.repos)
      await shot(page, 'overview')
      // keyboard: the first Tab reaches the skip link
      await page.keyboard.press('Tab')
      t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content')
      const phone = await open('/', { width: 390, height: 844 })
      await phone.waitForSelector('[data-testid=stat-logical]')
      await shot(phone, 'overview-phone')
      await phone.click('button.menu')
      t.ok(await phone.isVisible('nav >> text=Delta estimator'), 'the phone menu opens')
    })

    await t.test('repo page lists files; a download link returns the right bytes', async t => {
      const page = await open('/')
      await page.click('[data-testid=repo-table] >> text=corpus/peft-2300')
      await page.waitForSelector('[data-testid=files-table]')
      t.match(page.url(), /\/repo\/models\/corpus\/peft-2300$/)
      t.equal(await page.locator('[data-testid=files-table] tbody tr').count(), 1)
      t.ok(await page.isVisible('text=adapter_model.safetensors'))
      const href = await page.getAttribute('[data-testid=download]', 'href')
      t.equal(href, '/corpus/peft-2300/resolve/main/adapter_model.safetensors')
      const got = Buffer.from(await (await fetch(base + (href as string))).arrayBuffer())
      t.equal(sha256(got), sha256(readFileSync(files['models/corpus/peft-2300'])), 'the link serves the file')
      const inPage = await page.evaluate(async (h) => (await (await fetch(h)).arrayBuffer()).byteLength, href as string)
      t.equal(inPage, got.length, 'and the page can fetch it')
      t.ok(await page.isVisible('text=base models/corpus/peft'), 'the base it is stored against is shown')
      await shot(page, 'repo')
      const ds = await open('/repo/datasets/corpus/brent')
      await ds.waitForSelector('[data-testid=log-table]')
      t.equal(await ds.locator('[data-testid=log-table] tbody tr').count(), 2)
      await shot(ds, 'repo-dataset')
    })

    await t.test('delta estimator returns a result', async t => {
      const page = await open('/delta')
      await page.selectOption('#delta-base', 'models/corpus/peft')
      await page.selectOption('#delta-finetune', 'models/corpus/peft-2300')
      await page.click('form button[type=submit]')
      await page.waitForSelector('[data-testid=delta-bytes]', { timeout: 180_000 })
      const delta = Number(await page.getAttribute('[data-testid=delta-bytes]', 'data-value'))
      t.ok(delta > 0 && delta < readFileSync(files['models/corpus/peft-2300']).length, `delta ${delta} bytes`)
      await shot(page, 'delta')
    })

    await t.test('routing playground returns a decision', async t => {
      const page = await open('/route')
      await page.waitForSelector('#route-prompt')
      await page.fill('#route-prompt', 'Write a Python function that merges two sorted lists, with tests.')
      await page.focus('#route-prompt')
      await page.keyboard.press('Tab')
      await page.click('form button[type=submit]')
      await page.waitForSelector('[data-testid=routed-model]')
      t.match(await page.textContent('[data-testid=routed-model]'), /\S/)
      t.ok(await page.locator('[data-testid=route-result] ol li').count() > 0, 'with its reasoning')
      await shot(page, 'route')
    })

    await t.test('other pages render', async t => {
      const presets = await open('/presets')
      await presets.waitForSelector('[data-testid=presets] article')
      await presets.fill('#preset-search', 'zzzz-no-such')
      t.ok(await presets.isVisible('text=No preset matches.'), 'empty state')
      await presets.fill('#preset-search', '')
      await shot(presets, 'presets')
      const opt = await open('/optimize')
      await opt.waitForSelector('#opt-repo')
      await opt.selectOption('#opt-repo', 'models/corpus/peft')
      await opt.click('form button[type=submit]')
      await opt.waitForSelector('[data-testid=optimize-result] table', { timeout: 180_000 })
      await shot(opt, 'optimize')
      const sav = await open('/savings')
      await sav.waitForSelector('[data-testid=savings-total]')
      await shot(sav, 'savings')
      const cmp = await open('/compare')
      await cmp.waitForSelector('.doc table')
      t.ok(await cmp.isVisible('text=AutoGPTQ'), 'docs/comparison.md is shown')
      await shot(cmp, 'compare')
      const dep = await open('/deploy')
      await dep.waitForSelector('[data-testid=deploy-commands] pre')
      t.equal(await dep.textContent('[data-testid=origin]'), base)
      await dep.selectOption('#deploy-model', 'corpus/peft')
      t.ok(await dep.isVisible(`text=HF_ENDPOINT=${base} vllm serve corpus/peft`), 'vLLM command with this server filled in')
      await shot(dep, 'deploy')
      const nf = await open('/no-such-page')
      t.ok(await nf.isVisible('text=Page not found'))
      const bad = await open('/repo/models/corpus/missing')
      await bad.waitForSelector('[role=alert]')
      t.match(await bad.textContent('[role=alert]'), /not found/)
      await shot(bad, 'error-state')
    })

    await t.test('no console errors; nothing left the machine', async t => {
      // the missing-repo page answers 404 on purpose; Chromium logs that fetch as a console error
      const unexpected = consoleErrors.filter(e => !(e.startsWith('/repo/models/corpus/missing:') && /404/.test(e)))
      t.same(unexpected, [], 'no console errors')
      t.same(blocked, [], 'no request to any other host was attempted')
    })
  })
}
