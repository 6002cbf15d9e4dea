import t from 'tap'
import { join } from 'node:path'
import { once } from 'node:events'
import { freshRepo, tempDir, spawnCli } from '../helpers/store.js'
import { parseRepoName } from '../../src/repo/names.js'
import { servedStore, baseModel, packFiles, TOKEN } from './helpers.js'

t.test('a push killed after its first pack resumes without sending any pack twice', async t => {
  const work = tempDir(t)
  const { repo: a, dir } = await freshRepo(t)
  await a.add('org/big', baseModel(join(work, 'm')).dir, { time: 1_700_000_000_000, author: 't' })
  await a.close() // the CLI opens the store
  const store = join(dir, 'store')
  const origin = await servedStore(t)
  const env = { TENPAK_TOKEN: TOKEN }
  const posts = (): Array<{ status: number }> => origin.requests().filter(r => r.method === 'POST' && r.url === '/v1/sync/packs')

  const child = spawnCli(['push', origin.url, 'org/big', '--max-pack', String(48 << 10), '--json'], { store, env })
  const end = Date.now() + 60000
  while (posts().length === 0 && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 5))
  child.kill('SIGKILL')
  await once(child, 'exit')
  const firstRun = posts().length
  t.ok(firstRun >= 1, `first run delivered ${firstRun} pack(s) before SIGKILL`)
  t.equal(await origin.repo.refs.get(parseRepoName('org/big'), 'heads', 'main'), undefined, 'the killed push did not move the branch')

  // async: the server runs in this process, so a synchronous spawn would starve it
  const again = spawnCli(['push', origin.url, 'org/big', '--max-pack', String(48 << 10), '--json'], { store, env })
  let out = ''
  let err = ''
  again.stdout?.on('data', (d: Buffer) => { out += String(d) })
  again.stderr?.on('data', (d: Buffer) => { err += String(d) })
  const [code] = await once(again, 'exit') as [number]
  t.equal(code, 0, err)
  const res = JSON.parse(out) as { objectsSent: number, packsSent: number, packsSkipped: number, objectsSkipped: number, commit: string }
  t.ok(res.objectsSkipped > 0, `resumed push skipped ${res.objectsSkipped} objects the first run delivered`)
  const all = posts()
  t.equal(all.length, firstRun + res.packsSent, 'every pack POSTed once')
  t.ok(all.every(p => p.status === 201), 'no pack arrived twice (a duplicate would be answered 200)')
  t.equal(packFiles(origin.storeDir).length, all.length, 'one stored pack per upload')
  t.equal((await origin.repo.resolve('org/big')).cid.toString(), res.commit)
  t.ok((await origin.repo.verify()).ok, 'origin verifies')
})
