import t from 'tap'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHandler } from '../../src/http/handler.js'
import { bodyBytes } from '../../src/http/range.js'
import type { HttpResponse } from '../../src/http/types.js'
import { commitHex } from '../../src/repo/repo.js'
import { freshRepo, tempDir } from '../helpers/store.js'
import { corpusFolder } from './helpers.js'
import { DEFAULT_CHUNK_PARAMS } from '../../src/chunk/chunker.js'

const WORDS = corpusFolder('datasets/debian-wordlists')

t.test('the handler answers without a socket', async t => {
  // small files cut by content (not kept whole), so a word list is many chunks and reconstruction terms
  const { repo } = await freshRepo(t, { packTarget: 1 << 20, chunkParams: { ...DEFAULT_CHUNK_PARAMS, wholeMax: undefined } })
  // corpus files laid out in nested directories, as real repos are
  const src = tempDir(t)
  mkdirSync(join(src, 'en/us'), { recursive: true })
  mkdirSync(join(src, 'en/gb'), { recursive: true })
  copyFileSync(join(WORDS, 'american-english'), join(src, 'en/us/words'))
  copyFileSync(join(WORDS, 'british-english'), join(src, 'en/gb/words'))
  copyFileSync(join(WORDS, 'SOURCE.txt'), join(src, 'README.txt'))
  await repo.add('datasets/org/words', src, { message: 'first\n\nbody' })
  const res = await repo.resolve('datasets/org/words')
  const h = createHandler({ repo, maxTerms: 7, publicUrl: 'https://cdn.example.org/' })
  const call = async (method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<HttpResponse & { json: () => Promise<any> }> => {
    const r = await h.handle({ method, url, headers, body: body != null ? Buffer.from(body) : undefined })
    return { ...r, json: async () => JSON.parse(Buffer.from(await bodyBytes(r.body)).toString()) }
  }

  t.test('tree: top level, a subdirectory, recursive, pagination', async t => {
    const top = await (await call('GET', '/api/datasets/org/words/tree/main')).json()
    t.same(top.map((e: { path: string, type: string }) => `${e.type}:${e.path}`), ['file:README.txt', 'directory:en'])
    t.match(top[1], { oid: /^[0-9a-f]{40}$/, size: 0 })
    const sub = await (await call('GET', '/api/datasets/org/words/tree/main/en')).json()
    t.same(sub.map((e: { path: string }) => e.path), ['en/gb', 'en/us'])
    const all = await (await call('GET', '/api/datasets/org/words/tree/main?recursive=true')).json()
    t.same(all.map((e: { path: string }) => e.path), ['README.txt', 'en', 'en/gb', 'en/gb/words', 'en/us', 'en/us/words'])
    const p1 = await call('GET', '/api/datasets/org/words/tree/main?recursive=1&limit=4')
    t.match(p1.headers.link, new RegExp(`^<https://cdn\\.example\\.org/api/datasets/org/words/tree/${commitHex(res.cid)}\\?.*cursor=.*>; rel="next"$`))
    const next = /<https:\/\/cdn\.example\.org([^>]+)>/.exec(p1.headers.link)?.[1] as string
    const p2 = await call('GET', next)
    t.same([...await p1.json(), ...await p2.json()].map((e: { path: string }) => e.path), all.map((e: { path: string }) => e.path))
    t.equal(p2.headers.link, undefined, 'last page has no next link')
    t.equal((await call('GET', '/api/datasets/org/words/tree/main/nope')).headers['x-error-code'], 'EntryNotFound')
    t.equal((await call('GET', '/api/datasets/org/words/tree/main?cursor=!!')).status, 400)
  })

  t.test('paths-info takes JSON or a form, as huggingface_hub sends it', async t => {
    const form = await call('POST', `/api/datasets/org/words/paths-info/${commitHex(res.cid)}`, { 'content-type': 'application/x-www-form-urlencoded' }, 'paths=en%2Fus%2Fwords&paths=en&paths=missing&expand=True')
    const items = await form.json()
    t.same(items.map((e: { path: string, type: string }) => `${e.type}:${e.path}`), ['file:en/us/words', 'directory:en'])
    t.match(items[0], { size: readFileSync(join(WORDS, 'american-english')).length, lfs: { oid: /^[0-9a-f]{64}$/, pointerSize: Number }, lastCommit: { id: commitHex(res.cid), title: 'first' } })
    const j = await call('POST', '/api/datasets/org/words/paths-info/main', { 'content-type': 'application/json' }, JSON.stringify({ paths: ['README.txt'] }))
    t.equal((await j.json())[0].path, 'README.txt')
    t.equal((await call('POST', '/api/datasets/org/words/paths-info/main', { 'content-type': 'application/json' }, '{"paths": 3}')).status, 400)
    t.equal((await call('POST', '/api/datasets/org/words/paths-info/main', { 'content-type': 'application/json' }, JSON.stringify({ paths: ['../x'] }))).status, 400)
  })

  t.test('repo info, listings, refs, health, methods', async t => {
    const info = await (await call('GET', '/api/datasets/org/words/revision/HEAD')).json()
    t.match(info, { id: 'org/words', sha: commitHex(res.cid), siblings: [{ rfilename: 'README.txt' }, { rfilename: 'en/gb/words' }, { rfilename: 'en/us/words' }] })
    t.equal(info.modelId, undefined)
    const byCid = await call('GET', `/api/datasets/org/words/revision/${res.cid.toString()}`)
    t.equal(byCid.headers['cache-control'], 'public, max-age=31536000, immutable')
    const again = await call('GET', '/api/datasets/org/words', { 'if-none-match': (await call('GET', '/api/datasets/org/words')).headers.etag })
    t.equal(again.status, 304)
    t.same((await (await call('GET', '/api/datasets')).json()).map((r: { id: string }) => r.id), ['org/words'])
    t.same(await (await call('GET', '/api/models')).json(), [])
    t.equal((await call('GET', '/api/models/org/words')).headers['x-error-code'], 'RepoNotFound')
    t.equal((await call('GET', '/healthz')).status, 200)
    t.equal((await call('POST', '/datasets/org/words/resolve/main/README.txt')).status, 405)
    t.equal((await call('OPTIONS', '/datasets/org/words/resolve/main/README.txt')).status, 204)
    t.equal((await call('GET', '/nothing/here')).status, 404)
    const head = await call('HEAD', '/datasets/org/words/resolve/main/en/gb/words')
    t.equal(head.body, undefined)
    t.equal(head.headers['content-length'], String(readFileSync(join(WORDS, 'british-english')).length))
    t.equal(head.headers['access-control-allow-origin'], '*')
  })

  t.test('a reconstruction longer than maxTerms is answered in pieces', async t => {
    const f = await repo.stat('datasets/org/words', 'main', 'en/us/words')
    const want = readFileSync(join(WORDS, 'american-english'))
    let range: string | undefined
    let covered = 0
    let pieces = 0
    for (;;) {
      const rec = await (await call('GET', `/v1/reconstructions/${f.cid.toString()}`, range != null ? { range } : {})).json()
      t.ok(rec.terms.length <= 7)
      t.equal(rec.range.start, covered)
      covered = rec.range.end
      pieces++
      if (rec.next == null) break
      range = `bytes=${rec.next.start}-${rec.next.end - 1}`
    }
    t.equal(covered, want.length)
    t.ok(pieces > 1, `${pieces} pieces`)
  })
})
