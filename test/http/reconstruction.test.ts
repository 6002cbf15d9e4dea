import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeChunk } from '../../src/codec/codecs.js'
import { parseCid, verifyBlock } from '../../src/hash/cid.js'
import type { Reconstruction, StoredChunk } from '../../src/http/reconstruction.js'
import { corpusServer, corpusFolder, CORPUS_REPOS, get, addDeltaPair } from './helpers.js'

/**
 * An independent client: rebuilds bytes [start, end) of a file from
 * /v1/reconstructions and ranged /v1/packs reads only, verifying each chunk.
 */
async function rebuild (url: string, fileCid: string, range?: string): Promise<{ bytes: Buffer, requests: number }> {
  const out: Buffer[] = []
  let requests = 0
  let next: string | undefined = range
  const chunkCache = new Map<string, Uint8Array>()
  const fetchStored = async (cid: string, s: StoredChunk, bases: Record<string, StoredChunk>): Promise<Uint8Array> => {
    const hit = chunkCache.get(cid)
    if (hit != null) return hit
    if (s.inline != null) {
      const b = Buffer.from(s.inline, 'base64')
      verifyBlock(parseCid(cid), b)
      return b
    }
    const r = await get(`${url}/v1/packs/${s.packId}`, { headers: { range: `bytes=${s.packStart}-${s.packEnd - 1}` } })
    requests++
    if (r.status !== 206) throw new Error(`pack range answered ${r.status}`)
    const base = s.base != null ? await fetchStored(s.base, bases[s.base], bases) : undefined
    const bytes = decodeChunk(s.codec, r.body, s.length, base)
    verifyBlock(parseCid(cid), bytes)
    chunkCache.set(cid, bytes)
    return bytes
  }
  for (;;) {
    const r = await get(`${url}/v1/reconstructions/${fileCid}`, { headers: next != null ? { range: next } : {} })
    requests++
    if (r.status !== 200) throw new Error(`reconstruction answered ${r.status}`)
    const rec = JSON.parse(r.body.toString()) as Reconstruction
    for (const term of rec.terms) {
      const chunk = await fetchStored(term.cid, term, rec.bases)
      out.push(Buffer.from(chunk.subarray(term.start, term.end)))
    }
    if (rec.next == null) break
    next = `bytes=${rec.next.start}-${rec.next.end - 1}`
  }
  return { bytes: Buffer.concat(out), requests }
}

t.test('a client using only /v1/reconstructions and /v1/packs rebuilds corpus files', async t => {
  const { url, repo } = await corpusServer(t, { repos: ['models/corpus/peft', 'datasets/corpus/wordlists'] })
  for (const [name, file] of [['models/corpus/peft', 'checkpoint-1610.adapter_model.safetensors'], ['datasets/corpus/wordlists', 'american-english-huge'], ['models/corpus/peft', 'SOURCE.txt']] as const) {
    t.test(`${name}/${file}`, async t => {
      const want = readFileSync(join(corpusFolder(CORPUS_REPOS[name]), file))
      const f = await repo.stat(name, 'main', file)
      const whole = await rebuild(url, f.cid.toString())
      t.equal(whole.bytes.length, want.length)
      t.ok(whole.bytes.equals(want), `whole file rebuilt byte-for-byte (${whole.requests} requests)`)
      if (want.length > 200000) {
        const a = 123457
        const b = Math.min(want.length - 1, a + 150000)
        const part = await rebuild(url, f.cid.toString(), `bytes=${a}-${b}`)
        t.ok(part.bytes.equals(want.subarray(a, b + 1)), 'a middle range rebuilt byte-for-byte')
      }
    })
  }

  t.test('a fine-tune stored as deltas: the client fetches and applies the bases', async t => {
    const { url, repo } = await corpusServer(t, { repos: [] })
    const pair = await addDeltaPair(t, repo)
    const f = await repo.stat('models/corpus/ckpt-tuned', 'main', pair.file)
    const rec = JSON.parse((await get(`${url}/v1/reconstructions/${f.cid.toString()}`)).body.toString()) as Reconstruction
    t.ok(rec.terms.some(x => x.base != null && rec.bases[x.base] != null), 'delta terms name bases that the answer describes')
    const whole = await rebuild(url, f.cid.toString())
    t.ok(whole.bytes.equals(pair.tuned), 'fine-tune rebuilt byte-for-byte from packs')
  })

  t.test('terms describe the chunks; packs and chunks are immutable', async t => {
    const f = await repo.stat('models/corpus/peft', 'main', 'checkpoint-1610.adapter_model.safetensors')
    const r = await get(`${url}/v1/reconstructions/${f.cid.toString()}`, { headers: { range: 'bytes=0-999' } })
    const rec = JSON.parse(r.body.toString()) as Reconstruction
    t.same(rec.range, { start: 0, end: 1000 })
    t.equal(rec.size, f.size)
    t.ok(rec.terms.length >= 1)
    const term = rec.terms[0]
    t.match(term, { offset: 0, start: 0, codecName: String, packId: /^[0-9a-f]{64}$/ })
    t.ok(term.packEnd > term.packStart)
    const pack = await get(`${url}/v1/packs/${term.packId}`, { method: 'HEAD' })
    t.equal(pack.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    t.equal(pack.headers.get('etag'), `"${term.packId}"`)
    const chunk = await get(`${url}/v1/chunks/${term.cid}`)
    t.equal(chunk.status, 200)
    t.equal(chunk.body.length, term.length)
    t.doesNotThrow(() => { verifyBlock(parseCid(term.cid), chunk.body) })
    t.equal(chunk.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    t.equal((await get(`${url}/v1/reconstructions/${f.cid.toString()}`, { headers: { 'if-none-match': r.headers.get('etag') as string, range: 'bytes=0-999' } })).status, 304)
    t.equal((await get(`${url}/v1/reconstructions/${f.cid.toString()}`, { headers: { range: `bytes=${f.size}-` } })).status, 416)
    t.equal((await get(`${url}/v1/packs/${'0'.repeat(64)}`)).status, 404)
    t.equal((await get(`${url}/v1/packs/xyz`)).status, 400)
  })
})
