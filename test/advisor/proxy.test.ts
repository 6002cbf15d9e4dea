import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createAdvisorHttpHandler, toNodeListener } from '../../src/advisor/proxy.js'

interface Backend {
  url: string
  requests: Array<Record<string, unknown>>
  /** resolve to let the backend finish its stream */
  release: () => void
  server: Server
}

/** A fake OpenAI-compatible backend: streams one SSE chunk, waits for release(), then the rest. */
async function startBackend (label: string): Promise<Backend> {
  const requests: Array<Record<string, unknown>> = []
  let releaseFn: () => void = () => {}
  let released = new Promise<void>(resolve => { releaseFn = resolve })
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', c => { body += c })
    req.on('end', () => {
      const parsed = JSON.parse(body) as Record<string, unknown>
      requests.push(parsed)
      if (parsed.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ id: 'x', object: 'chat.completion', model: parsed.model, choices: [{ index: 0, message: { role: 'assistant', content: `${label} says hi` } }] }))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write(`data: ${JSON.stringify({ model: parsed.model, choices: [{ delta: { content: `${label}:first` } }] })}\n\n`)
      void released.then(() => {
        res.write(`data: ${JSON.stringify({ model: parsed.model, choices: [{ delta: { content: `${label}:second` } }] })}\n\n`)
        res.end('data: [DONE]\n\n')
      })
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    release: () => { releaseFn(); released = new Promise<void>(resolve => { releaseFn = resolve }) }
  }
}

async function startProxy (backends: Record<string, { url: string, model?: string }>): Promise<{ url: string, server: Server }> {
  const server = createServer(toNodeListener(createAdvisorHttpHandler({ backends, qualityThreshold: 0.8 })))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { url: `http://127.0.0.1:${port}`, server }
}

function close (server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise(resolve => server.close(() => resolve()))
}

t.test('chat-completions proxy routes to the chosen backend on 127.0.0.1 and streams SSE through', async t => {
  const small = await startBackend('small')
  const large = await startBackend('large')
  const proxy = await startProxy({
    'meta-llama/Llama-3.1-8B-Instruct': { url: small.url, model: 'llama-8b-served' },
    'llama-3.1-70b': { url: `${large.url}/v1` }
  })
  t.teardown(async () => { small.release(); large.release(); await close(proxy.server); await close(small.server); await close(large.server) })

  // trivial prompt: routed to the 8B backend, model rewritten, streamed
  const res = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ model: 'llama-3.1-70b', stream: true, messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'What is the capital of France?' }] })
  })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /text\/event-stream/)
  t.equal(res.headers.get('x-tenpak-routed-model'), 'meta-llama/Llama-3.1-8B-Instruct')
  t.equal(res.headers.get('x-tenpak-requested-model'), 'llama-3.1-70b')
  t.equal(small.requests.length, 1)
  t.equal(large.requests.length, 0)
  t.equal(small.requests[0].model, 'llama-8b-served', 'model rewritten to the backend\'s name')
  t.same(small.requests[0].messages, [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'What is the capital of France?' }], 'messages forwarded unchanged')

  // the first event arrives while the backend is still holding the rest back: the proxy streams
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let seen = ''
  while (!seen.includes('\n\n')) {
    const { value, done } = await reader.read()
    if (done) break
    seen += decoder.decode(value, { stream: true })
  }
  t.match(seen, /small:first/)
  t.notMatch(seen, /small:second/, 'second event not yet produced')
  small.release()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    seen += decoder.decode(value, { stream: true })
  }
  t.match(seen, /small:second/)
  t.match(seen, /data: \[DONE\]\n\n$/)

  // hard prompt: stays on the 70B backend (URL ending in /v1 is handled)
  const hard = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama-3.1-70b', messages: [{ role: 'user', content: 'Prove that the algorithm runs in O(n log n) time, derive a tight bound step by step and analyze the edge cases.' }] })
  })
  t.equal(hard.status, 200)
  t.equal(hard.headers.get('x-tenpak-routed-model'), 'meta-llama/Llama-3.1-70B-Instruct')
  const body = await hard.json() as { choices: Array<{ message: { content: string } }> }
  t.equal(body.choices[0].message.content, 'large says hi')
  t.equal(large.requests[0].model, 'meta-llama/Llama-3.1-70B-Instruct')

  // a per-request threshold header of 0.9 keeps the trivial prompt on 70B
  const strict = await fetch(`${proxy.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenpak-quality-threshold': '0.9' },
    body: JSON.stringify({ model: 'llama-3.1-70b', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
  })
  t.equal(strict.headers.get('x-tenpak-routed-model'), 'meta-llama/Llama-3.1-70B-Instruct')
  await strict.text()
})

/** A loopback port with nothing listening: bind, read the port, close. */
async function deadPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

t.test('POST /v1/route, GET /v1/presets and errors with X-Error-Code', async t => {
  const proxy = await startProxy({ 'llama-3.1-8b': { url: `http://127.0.0.1:${await deadPort()}` } })
  t.teardown(() => close(proxy.server))
  const r = await fetch(`${proxy.url}/v1/route`, { method: 'POST', body: JSON.stringify({ model: 'llama-3.1-70b', prompt: 'hello!' }) })
  t.equal(r.status, 200)
  const decision = await r.json() as { recommendedModel: string, reasoning: unknown[], savingsPct: number }
  t.equal(decision.recommendedModel, 'meta-llama/Llama-3.1-8B-Instruct')
  t.ok(decision.reasoning.length > 0)

  const p = await fetch(`${proxy.url}/v1/presets`)
  t.equal(((await p.json()) as { presets: unknown[] }).presets.length, 9)

  const bad = await fetch(`${proxy.url}/v1/route`, { method: 'POST', body: '{nope' })
  t.equal(bad.status, 400)
  t.equal(bad.headers.get('x-error-code'), 'ERR_BAD_ARGUMENT')
  await bad.text()

  const unknown = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'nobody/unknown', messages: [{ role: 'user', content: 'hi' }] }) })
  t.equal(unknown.status, 404)
  t.equal(unknown.headers.get('x-error-code'), 'ERR_NOT_FOUND')
  await unknown.text()

  // the only backend refuses connections: 502 ERR_IO
  const down = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }) })
  t.equal(down.status, 502)
  t.equal(down.headers.get('x-error-code'), 'ERR_IO')
  await down.text()
})
