/**
 * The dashboard's JSON endpoints, static files and the mounted advisor
 * routes, called through the handler (no socket, no browser) over a store
 * of real corpus data.
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRepo } from '../../src/repo/repo.js'
import { createHandler } from '../../src/http/handler.js'
import type { HttpRequest, HttpResponse } from '../../src/http/types.js'
import { fixtureStore, WEB_ROOT, webBuilt } from './helpers.js'
import { freshRepo } from '../helpers/store.js'

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

async function bodyOf (res: HttpResponse): Promise<Buffer> {
  const b = res.body
  if (b == null) return Buffer.alloc(0)
  if (typeof b === 'string') return Buffer.from(b)
  if (b instanceof Uint8Array) return Buffer.from(b)
  const parts: Buffer[] = []
  for await (const p of b as AsyncIterable<Uint8Array>) parts.push(Buffer.from(p))
  return Buffer.concat(parts)
}

t.test('dashboard endpoints', async t => {
  const { store, files } = await fixtureStore(t)
  const repo = await createRepo({ dir: store })
  t.teardown(async () => { await repo.close() })
  const { handle } = createHandler({ repo, webRoot: WEB_ROOT })
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string>, text: string, json: any }> => {
    const req: HttpRequest = { method, url, headers: { host: '127.0.0.1:7070', ...headers, ...(body != null ? { 'content-type': 'application/json' } : {}) }, body: body != null ? Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) : undefined }
    const res = await handle(req)
    const text = (await bodyOf(res)).toString('utf8')
    let json: unknown
    try { json = JSON.parse(text) } catch {}
    return { status: res.status, headers: res.headers, text, json }
  }
  const stats = await repo.stats()

  await t.test('overview: stats are repo.stats(); repos; stored bytes over commits', async t => {
    const r = await call('GET', '/api/dashboard/overview')
    t.equal(r.status, 200)
    t.same(r.json.stats, stats, 'exactly what `tenpak stats --json` computes')
    t.same(r.json.repos.map((x: { name: string }) => x.name).sort(), ['datasets/corpus/brent', 'models/corpus/fixtures', 'models/corpus/peft', 'models/corpus/peft-2300'])
    const series = r.json.series as Array<{ cumulativeLogicalBytes: number, cumulativeStoredBytes: number, newStoredBytes: number, time: number }>
    t.equal(series.length, stats.commits, 'one point per commit')
    t.ok(series.every((p, i) => i === 0 || p.time >= series[i - 1].time), 'in time order')
    t.equal(series[series.length - 1].cumulativeLogicalBytes, stats.logicalBytes, 'logical bytes add up to the store total')
    const last = series[series.length - 1].cumulativeStoredBytes
    t.ok(last > 0 && last <= stats.storedBytes, 'stored bytes of blocks never exceed the packs')
    t.equal(last, stats.storedBytes - stats.packOverheadBytes, 'every stored block is reached by some commit here (no garbage)')
  })

  await t.test('repo view: files, download URLs, history with delta sizes, tensors', async t => {
    const r = await call('GET', '/api/dashboard/repo/models/corpus/peft')
    t.equal(r.status, 200)
    const want = readFileSync(files['models/corpus/peft'])
    t.equal(r.json.files.length, 1)
    const f = r.json.files[0]
    t.match(f, { path: 'adapter_model.safetensors', size: want.length, sha256: sha256(want), format: 'safetensors', url: '/corpus/peft/resolve/main/adapter_model.safetensors' })
    t.match(f.cid, /^b/)
    const dl = await handle({ method: 'GET', url: f.url, headers: {} })
    t.equal(dl.status, 200)
    t.equal(sha256(await bodyOf(dl)), sha256(want), 'the download URL returns the file')
    t.equal(r.json.log.length, 2)
    const [second, first] = r.json.log
    t.equal(first.base, undefined, 'the first commit has no base')
    t.equal(second.base?.commit, first.commit, 'the second is stored against its parent')
    t.ok(second.deltaStoredBytes > 0 && second.deltaStoredBytes < second.deltaLogicalBytes, 'with deltas smaller than what they stand for')
    t.equal(r.json.tensors['adapter_model.safetensors'].total, 148)
    t.match(r.json.tensors['adapter_model.safetensors'].rows[0], { name: String, dtype: 'F32', shape: Array, bytes: Number })

    const ft = await call('GET', '/api/dashboard/repo/models/corpus/peft-2300')
    t.match(ft.json.log[0].base, { repo: 'models/corpus/peft', named: true }, 'a fine-tune names the base it is stored against')
    const ds = await call('GET', '/api/dashboard/repo/datasets/corpus/brent?rev=main')
    t.equal(ds.json.files[0].url, '/datasets/corpus/brent/resolve/main/brent-daily.csv')
    t.same(ds.json.tensors, {})
    t.equal((await call('GET', '/api/dashboard/repo/models/corpus/nope')).status, 404)
    t.equal((await call('GET', '/api/dashboard/repo/things/a/b')).status, 404)
  })

  await t.test('delta estimate between two store repos', async t => {
    const r = await call('POST', '/api/dashboard/delta-estimate', { base: 'models/corpus/peft', finetune: 'models/corpus/peft-2300' })
    t.equal(r.status, 200, 'estimates')
    t.equal(r.json.finetuneBytes, readFileSync(files['models/corpus/peft-2300']).length)
    t.ok(r.json.deltaBytes > 0 && r.json.deltaBytes < r.json.finetuneBytes, `delta ${r.json.deltaBytes} < ${r.json.finetuneBytes}`)
    t.equal(r.json.baseFilePairs, 1)
    const bad = await call('POST', '/api/dashboard/delta-estimate', { base: 42 })
    t.equal(bad.status, 400)
    t.equal(bad.json.code, 'ERR_BAD_ARGUMENT')
    const path = await call('POST', '/api/dashboard/delta-estimate', { base: '/etc', finetune: 'models/corpus/peft' })
    t.equal(path.status, 400, 'a local path is never read')
    const missing = await call('POST', '/api/dashboard/delta-estimate', { base: 'models/corpus/none', finetune: 'models/corpus/peft' })
    t.equal(missing.status, 404)
    t.equal(missing.json.code, 'ERR_REPO_NOT_FOUND')
    t.equal((await call('GET', '/api/dashboard/delta-estimate')).status, 405)
    t.equal((await call('POST', '/api/dashboard/delta-estimate', '{nope')).status, 400)
  })

  await t.test('advisor: presets, models, route, savings, optimize; /v1 routes are mounted', async t => {
    const p = await call('GET', '/api/dashboard/presets')
    t.ok(p.json.presets.length > 3)
    const m = await call('GET', '/api/dashboard/models')
    t.ok(m.json.models.length > 1)
    const route = await call('POST', '/api/dashboard/route', { model: m.json.models[m.json.models.length - 1].id, prompt: 'What is the capital of France?' })
    t.equal(route.status, 200, 'routes a prompt')
    t.type(route.json.recommendedModel, 'string')
    t.ok(route.json.reasoning.length > 0)
    const v1 = await call('POST', '/v1/route', { model: m.json.models[0].id, prompt: 'hi' })
    t.equal(v1.status, 200, '/v1/route is served')
    t.equal((await call('GET', '/v1/presets')).json.presets.length, p.json.presets.length)
    t.equal((await call('POST', '/api/dashboard/route', { prompt: 'x' })).status, 400)
    const s = await call('GET', '/api/dashboard/savings?downloadsPerMonth=100')
    t.equal(s.status, 200)
    t.equal(s.json.measured.logicalBytes, stats.logicalBytes)
    t.equal(s.json.measured.storedBytes, stats.storedBytes)
    t.equal(s.json.projection.downloadsPerMonth, 100)
    t.equal((await call('GET', '/api/dashboard/savings?models=abc')).status, 400)
    const o = await call('POST', '/api/dashboard/optimize', { repo: 'models/corpus/peft', sampleRows: 16 })
    t.equal(o.status, 200, 'measures the quantizers on a stored model')
    t.ok(o.json.candidates.length > 0 && o.json.chosen != null)
    const none = await call('POST', '/api/dashboard/optimize', { repo: 'models/corpus/peft', sampleRows: 16, maxError: 0, minCompression: 100 })
    t.equal(none.status, 422, 'nothing fits: the reasons come back')
    t.ok(none.json.candidates.length > 0)
  })

  await t.test('static files and page routes', { skip: webBuilt() ? false : 'dist/web not built: run `npm run build`' }, async t => {
    const index = await call('GET', '/')
    t.equal(index.status, 200)
    t.match(index.headers['content-type'], /^text\/html/)
    t.equal(index.headers['cache-control'], 'no-cache')
    t.match(index.headers['content-security-policy'], /default-src 'self'/)
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)?.[1]
    t.ok(asset != null, 'index.html loads a bundled script from this server')
    const js = await call('GET', asset as string)
    t.equal(js.status, 200)
    t.match(js.headers['content-type'], /^text\/javascript/)
    t.match(js.headers['cache-control'], /immutable/)
    t.notMatch(index.text + js.text, /https?:\/\/(?!127\.0\.0\.1)[a-z0-9.-]+\.(com|net|org|io)\/[^"'\s]*\.(js|css)/i, 'no script or stylesheet from another host')
    const again = await call('GET', asset as string, undefined, { 'if-none-match': js.headers.etag })
    t.equal(again.status, 304)
    const spa = await call('GET', '/delta', undefined, { accept: 'text/html,application/xhtml+xml' })
    t.equal(spa.status, 200, 'a page route answers index.html')
    t.equal(spa.text, index.text)
    t.equal((await call('GET', '/repo/models/corpus/peft', undefined, { accept: 'text/html' })).status, 200)
    const nohtml = await call('GET', '/no/such/thing')
    t.equal(nohtml.status, 404, 'API clients still get a JSON 404')
    t.equal(nohtml.headers['x-error-code'], 'NotFound')
    t.equal((await call('GET', '/assets/missing.js', undefined, { accept: 'text/html' })).status, 404)
    t.equal((await call('GET', '/corpus/peft/resolve/main/nope.bin', undefined, { accept: 'text/html' })).status, 404, 'Hub 404s are not masked')
  })
})

t.test('an empty store: zero stats, no series, no repos; no web build: a clear 503 page', async t => {
  const { repo } = await freshRepo(t)
  const { handle } = createHandler({ repo, webRoot: '/nonexistent/tenpak-web' })
  const r = await handle({ method: 'GET', url: '/api/dashboard/overview', headers: {} })
  t.equal(r.status, 200)
  const o = JSON.parse((await bodyOf(r)).toString())
  t.same(o.stats, await repo.stats())
  t.equal(o.stats.logicalBytes, 0)
  t.same(o.series, [])
  t.same(o.repos, [])
  const d = await handle({ method: 'POST', url: '/api/dashboard/delta-estimate', headers: {}, body: Buffer.from(JSON.stringify({ base: 'models/a/b', finetune: 'models/a/c' })) })
  t.equal(d.status, 404)
  const page = await handle({ method: 'GET', url: '/', headers: { accept: 'text/html' } })
  t.equal(page.status, 503)
  t.match((await bodyOf(page)).toString(), /npm run build/)
})
