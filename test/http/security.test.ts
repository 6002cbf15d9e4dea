import t from 'tap'
import net from 'node:net'
import { commitHex } from '../../src/repo/repo.js'
import { corpusServer, get } from './helpers.js'

const TOKEN = 'test-token-0123456789abcdef'

/** Send raw bytes on a fresh connection and return the status line's code. */
async function raw (url: string, request: string): Promise<number> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => { s.write(request) })
    let got = ''
    s.on('data', d => { got += d.toString('latin1'); if (got.includes('\r\n')) { s.destroy(); resolve(Number(got.split(' ')[1])) } })
    s.on('error', reject)
    s.on('close', () => { if (!got.includes('\r\n')) resolve(0) })
  })
}

t.test('writes need a valid bearer token; a branch moves with compare-and-swap', async t => {
  const { url, repo } = await corpusServer(t, { repos: ['datasets/corpus/wordlists', 'datasets/corpus/gsm8k'], config: { writeTokens: [TOKEN] } })
  const head = (await repo.resolve('datasets/corpus/wordlists')).cid
  const other = (await repo.resolve('datasets/corpus/gsm8k')).cid // a stored commit
  const put = async (body: unknown, headers: Record<string, string> = {}, branch = 'main'): Promise<{ status: number, code: string | null, json: unknown }> => {
    const r = await get(`${url}/api/datasets/corpus/wordlists/refs/${branch}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
    return { status: r.status, code: r.headers.get('x-error-code'), json: r.body.length > 0 ? JSON.parse(r.body.toString()) : null }
  }
  t.match(await put({ commit: other.toString() }), { status: 401, code: 'Unauthorized' }, 'no token')
  t.match(await put({ commit: other.toString() }, { authorization: 'Bearer wrong-token-0123456789' }), { status: 401 }, 'wrong token')
  t.match(await put({ commit: other.toString() }, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), { status: 401 }, 'wrong scheme')
  t.match(await put({ commit: other.toString() }, { authorization: `Bearer ${TOKEN}x` }), { status: 401 }, 'token prefix')
  t.equal((await repo.resolve('datasets/corpus/wordlists')).cid.toString(), head.toString(), 'nothing moved')

  const auth = { authorization: `Bearer ${TOKEN}` }
  t.match(await put({ commit: other.toString() }, { ...auth, 'if-match': '"bafyreistale"' }), { status: 412 }, 'stale If-Match')
  t.match(await put('not json', auth), { status: 400 })
  t.match(await put({ commit: 'bafkr4ibwoi7pbh7xvdtb2fh4bksvb343ukc4xjkx65zwwyd44ftncvsaaa' }, auth), { status: 404 }, 'unknown commit')
  t.match(await put({ commit: other.toString() }, auth, 'x.lock'), { status: 400 }, 'bad branch name')
  t.match(await put({ commit: other.toString() }, { ...auth, 'if-none-match': '*' }), { status: 412 }, 'create-only on an existing branch')
  t.match(await put({ commit: other.toString() }, { ...auth, 'if-match': `"${head.toString()}"` }), { status: 200, json: { commit: other.toString(), previous: head.toString() } })
  t.equal((await repo.resolve('datasets/corpus/wordlists')).cid.toString(), other.toString(), 'the branch moved')
  const r = await get(`${url}/datasets/corpus/wordlists/resolve/main/test_socratic.jsonl`, { method: 'HEAD' })
  t.equal(r.headers.get('x-repo-commit'), commitHex(other), 'reads see the move at once')
  t.match(await put({ commit: commitHex(other) }, { ...auth, 'if-none-match': '*' }, 'feature/x'), { status: 201 }, 'a new branch, named by a 40-hex commit id')
  t.match(await put({ commit: head.toString() }, { ...auth, 'if-match': `"${commitHex(other)}"` }), { status: 200 }, 'back, with If-Match on the 40-hex id')
  t.match(await put({ commit: commitHex(head).replace(/^./, c => c === '0' ? '1' : '0') }, auth), { status: 404 }, 'an unknown 40-hex commit')
  const refs = JSON.parse((await get(`${url}/api/datasets/corpus/wordlists/refs`)).body.toString())
  t.same(refs.branches.map((b: { name: string }) => b.name).sort(), ['feature/x', 'main'])
})

t.test('with no tokens configured every write is refused', async t => {
  const { url } = await corpusServer(t, { repos: ['datasets/corpus/gsm8k'] })
  const r = await get(`${url}/api/datasets/corpus/gsm8k/refs/main`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' })
  t.equal(r.status, 403)
  t.equal(r.headers.get('x-error-code'), 'WritesDisabled')
  t.equal((await get(`${url}/api/datasets/corpus/gsm8k/refs/main`, { method: 'DELETE' })).status, 405)
})

t.test('traversal, over-long and malformed requests get 4xx and the server keeps serving', async t => {
  const { url } = await corpusServer(t, { repos: ['datasets/corpus/gsm8k'] })
  const file = '/datasets/corpus/gsm8k/resolve/main/test_socratic.jsonl'
  const req = (target: string, headers = ''): string => `GET ${target} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`
  const cases: Array<[string, string, number]> = [
    ['dot-dot in a file path', req('/datasets/corpus/gsm8k/resolve/main/../../../../etc/passwd'), 400],
    ['encoded dot-dot', req('/datasets/corpus/gsm8k/resolve/main/%2e%2e/%2e%2e/etc/passwd'), 400],
    ['encoded slash dot-dot', req('/datasets/corpus/gsm8k/resolve/main/a%2F..%2F..%2Fb'), 400],
    ['backslash dot-dot', req('/datasets/corpus/gsm8k/resolve/main/..%5C..%5Cwin.ini'), 400],
    ['dot-dot in a repo name', req('/datasets/../../resolve/main/x'), 400],
    ['dot-dot in a revision', req('/datasets/corpus/gsm8k/resolve/..%2F..%2Fheads/x'), 400],
    ['NUL byte', req('/datasets/corpus/gsm8k/resolve/main/a%00b'), 400],
    ['bad percent-encoding', req('/datasets/corpus/gsm8k/resolve/main/%zz'), 400],
    ['pack id traversal', req('/v1/packs/..%2F..%2Findex'), 400],
    ['ipfs traversal', req('/ipfs/../../etc/passwd'), 400],
    ['absolute-form junk', req('http://evil/../x'), 400],
    ['over-long URL', req('/' + 'a'.repeat(9000)), 414],
    ['over-long path segment', req(`/datasets/corpus/gsm8k/resolve/main/${'a'.repeat(2000)}`), 414],
    ['oversized headers', req(file, `X-Big: ${'b'.repeat(20000)}\r\n`), 431],
    ['malformed Range', req(file, 'Range: bytes=1-2-3\r\n'), 416],
    ['garbage request line', 'NOT HTTP AT ALL\r\n\r\n', 400],
    ['bad header line', `GET ${file} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`, 400],
    ['invalid repo name', req('/datasets/corpus/-bad-/resolve/main/x'), 400]
  ]
  for (const [what, request, status] of cases) t.equal(await raw(url, request), status, what)
  const big = await get(`${url}/api/datasets/corpus/gsm8k/paths-info/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ paths: ['x'.repeat(2 << 20)] }) })
  t.equal(big.status, 413, 'oversized body')
  const badJson = await get(`${url}/api/datasets/corpus/gsm8k/paths-info/main`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"paths": ' })
  t.equal(badJson.status, 400)
  const h = await get(`${url}/healthz`)
  t.equal(h.status, 200, 'still healthy after all of that')
  t.equal((await get(`${url}${file}`, { headers: { range: 'bytes=0-9' } })).status, 206)
})
