import t from 'tap'
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { corpusServer, corpusFolder, CORPUS_REPOS, get, sha256, addDeltaPair } from './helpers.js'
import { commitHex } from '../../src/repo/repo.js'
import { parseRange } from '../../src/http/range.js'

const FILE = 'checkpoint-1150.adapter_model.safetensors'
const TEXT = 'american-english-large'

/** Parse a multipart/byteranges body into its parts. */
function multipart (body: Buffer, contentType: string): Array<{ range: string, data: Buffer }> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1]
  if (boundary == null) throw new Error('no boundary')
  const parts: Array<{ range: string, data: Buffer }> = []
  const delim = Buffer.from(`--${boundary}`)
  let pos = body.indexOf(delim)
  while (pos >= 0) {
    pos += delim.length
    if (body.subarray(pos, pos + 2).toString() === '--') break
    const headEnd = body.indexOf('\r\n\r\n', pos)
    const head = body.subarray(pos, headEnd).toString('latin1')
    const range = /content-range: bytes (\S+)/i.exec(head)?.[1] ?? ''
    const [a, b] = range.split('/')[0].split('-').map(Number)
    const start = headEnd + 4
    parts.push({ range, data: body.subarray(start, start + b - a + 1) })
    pos = body.indexOf(delim, start + b - a + 1)
  }
  return parts
}

t.test('parseRange follows RFC 9110', async t => {
  t.same(parseRange(undefined, 10), { kind: 'none' })
  t.same(parseRange('bytes=0-0', 10), { kind: 'ranges', ranges: [{ start: 0, end: 1 }] })
  t.same(parseRange('bytes=5-', 10), { kind: 'ranges', ranges: [{ start: 5, end: 10 }] })
  t.same(parseRange('bytes=-3', 10), { kind: 'ranges', ranges: [{ start: 7, end: 10 }] })
  t.same(parseRange('bytes=-30', 10), { kind: 'ranges', ranges: [{ start: 0, end: 10 }] })
  t.same(parseRange('bytes=8-99999999999999999999', 10), { kind: 'ranges', ranges: [{ start: 8, end: 10 }] })
  t.same(parseRange('BYTES = 1-2 , 4-5', 10), { kind: 'ranges', ranges: [{ start: 1, end: 3 }, { start: 4, end: 6 }] })
  t.same(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=10-12, 3-4', 10), { kind: 'ranges', ranges: [{ start: 3, end: 5 }] }, 'unsatisfiable members are dropped')
  for (const bad of ['bytes=', 'bytes=-', 'bytes=a-b', 'bytes=5-2', 'bytes=1-2-3', 'bytes 0-1', 'bytes=0x1-2', 'bytes=1.5-2', `bytes=${Array(200).fill('0-1').join(',')}`]) {
    t.same(parseRange(bad, 10), { kind: 'invalid' }, bad.slice(0, 30))
  }
  t.same(parseRange('items=0-5', 10), { kind: 'none' }, 'unknown units are ignored')
})

t.test('range conformance on corpus files', async t => {
  const extra = mkdtempSync(join(tmpdir(), 'tenpak-empty-'))
  writeFileSync(join(extra, 'empty.bin'), '')
  t.teardown(() => { rmSync(extra, { recursive: true, force: true }) })
  const { url, repo } = await corpusServer(t, { repos: ['models/corpus/peft', 'datasets/corpus/wordlists'] })
  await repo.add('models/corpus/empty', extra)
  const want = readFileSync(join(corpusFolder(CORPUS_REPOS['models/corpus/peft']), FILE))
  const text = readFileSync(join(corpusFolder(CORPUS_REPOS['datasets/corpus/wordlists']), TEXT))
  const res = await repo.resolve('models/corpus/peft')
  const fileUrl = `${url}/corpus/peft/resolve/main/${FILE}`
  const textUrl = `${url}/datasets/corpus/wordlists/resolve/main/${TEXT}`
  const etag = `"${sha256(want)}"`

  // chunk boundaries, from the reconstruction API, so ranges can straddle them
  const recon = JSON.parse((await get(`${url}/v1/reconstructions/${(await repo.stat('models/corpus/peft', 'main', FILE)).cid.toString()}`)).body.toString())
  const bounds: number[] = recon.terms.map((x: { offset: number }) => x.offset).filter((o: number) => o > 0)
  t.ok(bounds.length > 5, `${bounds.length + 1} chunks in ${FILE}`)
  const b1 = bounds[1]
  const b3 = bounds[3]

  t.test('200 with the whole file and the Hub headers', async t => {
    const r = await get(fileUrl)
    t.equal(r.status, 200)
    t.ok(r.body.equals(want))
    t.equal(r.headers.get('accept-ranges'), 'bytes')
    t.equal(r.headers.get('etag'), etag)
    t.equal(r.headers.get('x-linked-etag'), etag)
    t.equal(r.headers.get('x-linked-size'), String(want.length))
    t.equal(r.headers.get('x-repo-commit'), commitHex(res.cid))
    t.equal(r.headers.get('content-length'), String(want.length))
    t.equal(r.headers.get('cache-control'), 'public, max-age=0, must-revalidate', 'branch URLs revalidate')
  })

  const cases: Array<[string, number, number]> = [
    ['bytes=0-0', 0, 1],
    [`bytes=${b1 - 10}-${b1 + 9}`, b1 - 10, b1 + 10], // straddles one boundary
    [`bytes=${b1 - 1}-${b3}`, b1 - 1, b3 + 1], // spans whole chunks
    [`bytes=${b3}-${b3}`, b3, b3 + 1], // first byte of a chunk
    [`bytes=${b3 - 1}-${b3 - 1}`, b3 - 1, b3], // last byte of a chunk
    ['bytes=1000000-', 1000000, want.length], // open-ended
    ['bytes=-4096', want.length - 4096, want.length], // suffix
    [`bytes=-${want.length + 100}`, 0, want.length], // suffix longer than the file
    [`bytes=${want.length - 5}-${want.length + 1000}`, want.length - 5, want.length] // last-pos past the end
  ]
  for (const [range, a, b] of cases) {
    t.test(`206 for ${range}`, async t => {
      const r = await get(fileUrl, { headers: { range } })
      t.equal(r.status, 206)
      t.equal(r.headers.get('content-range'), `bytes ${a}-${b - 1}/${want.length}`)
      t.equal(r.headers.get('content-length'), String(b - a))
      t.ok(r.body.equals(want.subarray(a, b)), 'bytes match')
      t.equal(r.headers.get('etag'), etag)
    })
  }

  t.test('several ranges answer multipart/byteranges', async t => {
    const ranges: Array<[number, number]> = [[0, 99], [b1 - 3, b1 + 3], [want.length - 10, want.length - 1]]
    const r = await get(fileUrl, { headers: { range: 'bytes=' + ranges.map(([a, b]) => `${a}-${b}`).join(', ') } })
    t.equal(r.status, 206)
    t.match(r.headers.get('content-type'), /^multipart\/byteranges; boundary=/)
    t.equal(Number(r.headers.get('content-length')), r.body.length, 'Content-Length is exact')
    const parts = multipart(r.body, r.headers.get('content-type') as string)
    t.equal(parts.length, 3)
    parts.forEach((p, i) => {
      const [a, b] = ranges[i]
      t.equal(p.range, `${a}-${b}/${want.length}`)
      t.ok(p.data.equals(want.subarray(a, b + 1)), `part ${i} bytes`)
    })
    // on a text file too, with one unsatisfiable member dropped
    const r2 = await get(textUrl, { headers: { range: `bytes=10-20,${text.length + 5}-,-5` } })
    const parts2 = multipart(r2.body, r2.headers.get('content-type') as string)
    t.same(parts2.map(p => p.data.toString('latin1')), [text.subarray(10, 21).toString('latin1'), text.subarray(text.length - 5).toString('latin1')])
  })

  t.test('416 with Content-Range */size when unsatisfiable or malformed', async t => {
    for (const range of [`bytes=${want.length}-`, `bytes=${want.length + 10}-${want.length + 20}`, 'bytes=-0', 'bytes=abc', 'bytes=9-3', 'bytes=', `bytes=${Array(200).fill('1-2').join(',')}`]) {
      const r = await get(fileUrl, { headers: { range } })
      t.equal(r.status, 416, range.slice(0, 40))
      t.equal(r.headers.get('content-range'), `bytes */${want.length}`)
    }
    const r = await get(fileUrl, { headers: { range: 'items=0-5' } })
    t.equal(r.status, 200, 'an unknown range unit is ignored')
  })

  t.test('If-None-Match → 304; If-Match mismatch → 412', async t => {
    for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
      const r = await get(fileUrl, { headers: { 'if-none-match': inm } })
      t.equal(r.status, 304, inm)
      t.equal(r.body.length, 0)
      t.equal(r.headers.get('etag'), etag)
    }
    t.equal((await get(fileUrl, { headers: { 'if-none-match': '"other"' } })).status, 200)
    t.equal((await get(fileUrl, { headers: { 'if-match': '"other"' } })).status, 412)
    t.equal((await get(fileUrl, { headers: { 'if-match': etag, range: 'bytes=0-9' } })).status, 206)
  })

  t.test('If-Range: a matching ETag keeps the range, anything else sends the whole file', async t => {
    const ok = await get(fileUrl, { headers: { range: 'bytes=100-199', 'if-range': etag } })
    t.equal(ok.status, 206)
    t.ok(ok.body.equals(want.subarray(100, 200)))
    for (const ifRange of ['"stale"', `W/${etag}`, 'Tue, 15 Nov 1994 08:12:31 GMT']) {
      const r = await get(fileUrl, { headers: { range: 'bytes=100-199', 'if-range': ifRange } })
      t.equal(r.status, 200, ifRange)
      t.ok(r.body.equals(want))
    }
  })

  t.test('HEAD sends GET\'s headers and no body', async t => {
    const r = await get(fileUrl, { method: 'HEAD' })
    t.equal(r.status, 200)
    t.equal(r.headers.get('content-length'), String(want.length))
    t.equal(r.body.length, 0)
    const rr = await get(fileUrl, { method: 'HEAD', headers: { range: 'bytes=5-9' } })
    t.equal(rr.status, 206)
    t.equal(rr.headers.get('content-range'), `bytes 5-9/${want.length}`)
    t.equal(rr.body.length, 0)
  })

  t.test('revisions: branch, tag, commit CID and 40-hex commit id; caching follows', async t => {
    await repo.setRef('models/corpus/peft', 'tags', 'v1.0', res.cid)
    for (const [rev, cache] of [['main', 'public, max-age=0, must-revalidate'], ['v1.0', 'public, max-age=0, must-revalidate'], [res.cid.toString(), 'public, max-age=31536000, immutable'], [commitHex(res.cid), 'public, max-age=31536000, immutable']]) {
      const r = await get(`${url}/corpus/peft/resolve/${rev}/${FILE}`, { headers: { range: `bytes=${b1}-${b1 + 99}` } })
      t.equal(r.status, 206, rev)
      t.ok(r.body.equals(want.subarray(b1, b1 + 100)))
      t.equal(r.headers.get('cache-control'), cache, `${rev}: ${cache}`)
      t.equal(r.headers.get('x-repo-commit'), commitHex(res.cid))
    }
    const codes = async (u: string): Promise<[number, string | null]> => { const r = await get(u); return [r.status, r.headers.get('x-error-code')] }
    t.same(await codes(`${url}/corpus/peft/resolve/nope/${FILE}`), [404, 'RevisionNotFound'])
    t.same(await codes(`${url}/corpus/peft/resolve/${'0'.repeat(40)}/${FILE}`), [404, 'RevisionNotFound'])
    t.same(await codes(`${url}/corpus/peft/resolve/__proto__/${FILE}`), [404, 'RevisionNotFound'])
    t.same(await codes(`${url}/corpus/nope/resolve/main/${FILE}`), [404, 'RepoNotFound'])
    t.same(await codes(`${url}/corpus/peft/resolve/main/nope.bin`), [404, 'EntryNotFound'])
    t.same(await codes(`${url}/datasets/corpus/peft/resolve/main/${FILE}`), [404, 'RepoNotFound'], 'a model is not a dataset')
  })

  t.test('ranges over chunks stored as deltas of a base model', async t => {
    // a store of its own, so the checkpoints' chunks are not already stored whole
    const { url, repo } = await corpusServer(t, { repos: [] })
    const pair = await addDeltaPair(t, repo)
    t.ok(pair.deltaLogicalBytes > 0, `${pair.deltaLogicalBytes} bytes of the fine-tune stored as deltas`)
    const f = await repo.stat('models/corpus/ckpt-tuned', 'main', pair.file)
    const rec = JSON.parse((await get(`${url}/v1/reconstructions/${f.cid.toString()}`)).body.toString())
    const deltaTerms = rec.terms.filter((x: { base?: string }) => x.base != null)
    t.ok(deltaTerms.length > 0, `${deltaTerms.length} of ${rec.terms.length} chunks are deltas`)
    const u = `${url}/corpus/ckpt-tuned/resolve/main/${pair.file}`
    const full = await get(u)
    t.ok(full.body.equals(pair.tuned), 'whole fine-tune')
    // ranges that start, end and straddle inside delta chunks
    const picks = deltaTerms.slice(0, 3).flatMap((x: { offset: number, length: number }) => [[x.offset + 7, x.offset + x.length + 9], [x.offset - 3, x.offset + 2]])
    for (const [a, b] of picks) {
      const lo = Math.max(0, a)
      const hi = Math.min(pair.tuned.length, b)
      const r = await get(u, { headers: { range: `bytes=${lo}-${hi - 1}` } })
      t.equal(r.status, 206)
      t.ok(r.body.equals(pair.tuned.subarray(lo, hi)), `bytes ${lo}-${hi - 1}`)
    }
    const multi = await get(u, { headers: { range: 'bytes=' + picks.map(([a, b]: number[]) => `${Math.max(0, a)}-${b - 1}`).join(',') } })
    const parts = multipart(multi.body, multi.headers.get('content-type') as string)
    t.ok(parts.every((p, i) => p.data.equals(pair.tuned.subarray(Math.max(0, picks[i][0]), picks[i][1]))), 'multipart over delta chunks')
  })

  t.test('a zero-length file', async t => {
    const u = `${url}/corpus/empty/resolve/main/empty.bin`
    const r = await get(u)
    t.equal(r.status, 200)
    t.equal(r.headers.get('content-length'), '0')
    // nothing is satisfiable in an empty file; it is sent whole (200) rather than refused,
    // since Hub clients probe every download with bytes=0-0
    for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=-5']) {
      const rr = await get(u, { headers: { range } })
      t.equal(rr.status, 200, range)
      t.equal(rr.body.length, 0)
    }
  })
})
