import t from 'tap'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { freshRepo, tempDir, spawnCli } from '../helpers/store.js'
import { servedStore, baseModel, TOKEN } from './helpers.js'

/** Run the CLI asynchronously (the server under test runs in this process). */
async function cli (args: string[], opts: { store?: string, env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number, out: string, err: string }> {
  const child = spawnCli(args, opts)
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += String(d) })
  child.stderr?.on('data', (d: Buffer) => { err += String(d) })
  const [code] = await once(child, 'exit') as [number]
  return { code, out, err }
}

t.test('remote add, push --json, clone and fetch through the CLI', async t => {
  const work = tempDir(t)
  const { repo: a, dir } = await freshRepo(t)
  const base = baseModel(join(work, 'm'))
  await a.add('org/m', base.dir, { time: 1_700_000_000_000, author: 't' })
  await a.close()
  const store = join(dir, 'store')
  const origin = await servedStore(t)

  t.equal((await cli(['remote', 'add', 'origin', origin.url, '--token', TOKEN], { store })).code, 0)
  const list = await cli(['remote', 'list', '--json'], { store })
  t.same(JSON.parse(list.out), { origin: { url: origin.url, token: 'set' } }, 'token not printed')
  const p = await cli(['push', 'origin', 'org/m@main', '--json'], { store })
  t.equal(p.code, 0, p.err)
  const res = JSON.parse(p.out) as { objectsSent: number, bytesSent: number, bytesSkipped: number }
  t.ok(res.objectsSent > 0 && res.bytesSent > 0 && res.bytesSkipped === 0, 'summary has objectsSent, bytesSent, bytesSkipped')

  const other = join(work, 'other')
  const c = await cli(['clone', origin.url, 'org/m', '--json'], { store: other })
  t.equal(c.code, 0, c.err)
  const ex = await cli(['export', 'org/m', join(work, 'out')], { store: other })
  t.equal(ex.code, 0, ex.err)
  t.same(readFileSync(join(work, 'out', 'adapter_model.safetensors')), readFileSync(base.file), 'clone exports identical bytes')
  const f = await cli(['fetch', 'origin', '--json'], { store: other })
  t.equal(f.code, 0, f.err)
  t.ok(existsSync(join(other, 'remotes', 'origin.json')), 'remote-tracking refs recorded')
  const bad = await cli(['push', 'nowhere', 'org/m'], { store })
  t.equal(bad.code, 1)
  t.match(bad.err, /ERR_NOT_FOUND/)
})
