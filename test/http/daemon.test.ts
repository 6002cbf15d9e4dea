import t from 'tap'
import http from 'node:http'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRepo } from '../../src/repo/repo.js'
import { spawnCli, tempDir } from '../helpers/store.js'
import { loadConfig, parseSize } from '../../daemon/config.js'
import { corpusFolder } from './helpers.js'

t.test('loadConfig merges file, environment and flags', async t => {
  const dir = tempDir(t)
  const file = join(dir, 'tenpak.json')
  writeFileSync(file, JSON.stringify({ port: 8080, store: '/srv/tenpak', writeTokens: ['file-token-0123456789'], cache: '256MiB', publicUrl: 'https://models.example.org' }))
  const c = loadConfig({ config: file, port: '9090', writeToken: ['flag-token-0123456789'] }, { TENPAK_WRITE_TOKENS: 'env-token-0123456789, ' })
  t.match(c, { host: '127.0.0.1', port: 9090, store: '/srv/tenpak', cacheBytes: 256 << 20, publicUrl: 'https://models.example.org' })
  t.same(c.writeTokens, ['file-token-0123456789', 'env-token-0123456789', 'flag-token-0123456789'])
  t.same(loadConfig({}, {}).writeTokens, [], 'no tokens: writes disabled')
  t.equal(parseSize('1GiB'), 1 << 30)
  writeFileSync(file, JSON.stringify({ prot: 1 }))
  t.throws(() => loadConfig({ config: file }, {}), { code: 'ERR_BAD_ARGUMENT' }, 'unknown keys are refused')
  t.throws(() => loadConfig({ writeToken: ['short'] }, {}), { code: 'ERR_BAD_ARGUMENT' }, 'short tokens are refused')
  t.throws(() => loadConfig({ port: '70000' }, {}), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('tenpak serve logs JSON, answers /healthz and stops gracefully on SIGTERM', async t => {
  const store = join(tempDir(t), 'store')
  const repo = await createRepo({ dir: store })
  await repo.add('datasets/corpus/wordlists', corpusFolder('datasets/debian-wordlists'))
  await repo.close()
  const want = readFileSync(join(corpusFolder('datasets/debian-wordlists'), 'american-english-huge'))

  const child = spawnCli(['serve', '--port', '0'], { store })
  const lines: Array<Record<string, unknown>> = []
  let buf = ''
  const listening = new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      buf += d.toString()
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        const entry = JSON.parse(line) as Record<string, unknown>
        lines.push(entry)
        if (entry.msg === 'listening') resolve(entry.url as string)
      }
    })
    child.on('exit', code => { reject(new Error(`serve exited early with ${String(code)}`)) })
  })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => { resolve(code) }))
  const url = await listening
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.equal((await fetch(`${url}/healthz`)).status, 200)

  // a download in flight when the signal arrives still completes
  const body = await new Promise<Buffer>((resolve, reject) => {
    http.get(`${url}/datasets/corpus/wordlists/resolve/main/american-english-huge`, res => {
      const parts: Buffer[] = []
      res.once('data', (first: Buffer) => {
        parts.push(first)
        res.pause()
        child.kill('SIGTERM')
        setTimeout(() => {
          res.on('data', (d: Buffer) => parts.push(d))
          res.on('end', () => { resolve(Buffer.concat(parts)) })
          res.resume()
        }, 300)
      })
      res.on('error', reject)
    }).on('error', reject)
  })
  t.ok(body.equals(want), 'the in-flight response finished intact')
  t.equal(await exited, 0, 'clean exit')
  await t.rejects(fetch(`${url}/healthz`), 'no new connections after shutdown')
  t.ok(lines.every(l => typeof l.time === 'string' && typeof l.level === 'string' && typeof l.msg === 'string'), 'every log line is structured JSON')
  t.ok(lines.some(l => l.msg === 'request' && l.url === '/healthz' && l.status === 200))
  t.ok(lines.some(l => l.msg === 'shutting down' && l.reason === 'SIGTERM'))
  t.ok(lines.some(l => l.msg === 'stopped'))
})
