import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { freshRepo, tempDir, tenpakBin } from '../helpers/store.js'
import { startS3rver, waitFor, stop, type Host } from './s3-helpers.js'
import { openRemote, type RemoteSpec } from '../../src/sync/remotes.js'
import { push } from '../../src/sync/push.js'
import { pull } from '../../src/sync/pull.js'
import { baseModel, fineTune } from './helpers.js'

const T0 = 1_700_000_000_000
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }

/** `tenpak serve --store s3://…` as a child process; resolves with its URL. */
async function serveS3 (t: Host, endpoint: string, url: string): Promise<string> {
  const cache = tempDir(t)
  const child = spawn(process.execPath, [tenpakBin, 'serve', '--store', url, '--port', '0', '--s3-cache-dir', join(cache, 'c'), '--s3-refresh', '300', '--s3-endpoint', endpoint, '--quiet'], { env: { ...process.env, ...CREDS }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(async () => { await stop(child) })
  const m = await waitFor(child, 'stderr', /"msg":"listening","url":"([^"]+)"/)
  return m[1]
}

async function until (fn: () => Promise<boolean>, ms = 20000): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await fn()) return true
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  return false
}

t.test('push to and pull from s3://; serve --store s3:// answers ranges; two servers on one bucket see each other\'s pushes', async t => {
  const endpoint = await startS3rver(t)
  const spec: RemoteSpec = { url: 's3://tenpak-test/team', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' }
  const work = tempDir(t)
  const base = baseModel(join(work, 'base'))
  const ft = fineTune(join(work, 'ft'))
  const { repo: a } = await freshRepo(t)
  await a.add('org/peft', base.dir, { time: T0, author: 't' })

  const r1 = openRemote(spec)
  const p1 = await push(a, r1, 'org/peft', 'main')
  t.ok(p1.bytesSent > 0)
  await r1.close()
  await a.add('org/peft', ft.dir, { time: T0 + 1, author: 't' })
  const r2 = openRemote(spec)
  const p2 = await push(a, r2, 'org/peft', 'main')
  t.ok(p2.bytesSent < 0.05 * ft.size, `fine-tune push to S3 sent ${p2.bytesSent} bytes of ${ft.size}`)
  t.ok((await push(a, r2, 'org/peft', 'main')).upToDate)
  await r2.close()

  const { repo: c } = await freshRepo(t)
  const r3 = openRemote(spec)
  const pl = await pull(c, r3, 'org/peft', 'main')
  await r3.close()
  t.equal(pl.commit, p2.commit)
  await c.export('org/peft', undefined, join(work, 'out'))
  t.same(readFileSync(join(work, 'out', 'adapter_model.safetensors')), readFileSync(ft.file), 'pulled from S3: identical')
  t.ok((await c.verify()).ok)

  // two servers over the same bucket
  const s1 = await serveS3(t, endpoint, 's3://tenpak-test/team')
  const s2 = await serveS3(t, endpoint, 's3://tenpak-test/team')
  const file = readFileSync(ft.file)
  for (const s of [s1, s2]) {
    const res = await fetch(`${s}/org/peft/resolve/main/adapter_model.safetensors`, { headers: { range: 'bytes=1000-199999' } })
    t.equal(res.status, 206)
    t.equal(res.headers.get('content-range'), `bytes 1000-199999/${file.length}`)
    t.same(Buffer.from(await res.arrayBuffer()), file.subarray(1000, 200000), `range served from the bucket by ${s}`)
  }
  // a new repo pushed to the bucket shows up on both
  await a.add('org/other', base.dir, { time: T0 + 2, author: 't' })
  const r4 = openRemote(spec)
  const p4 = await push(a, r4, 'org/other', 'main')
  await r4.close()
  for (const s of [s1, s2]) {
    const seen = await until(async () => (await fetch(`${s}/v1/sync/refs`).then(async r => await r.json() as { repos: Array<{ repo: string, heads: Record<string, string> }> })).repos.some(r => r.repo === 'models/org/other' && r.heads.main === p4.commit))
    t.ok(seen, `${s} sees the pushed ref`)
    const res = await fetch(`${s}/org/other/resolve/main/adapter_model.safetensors`, { headers: { range: 'bytes=-100' } })
    t.same(Buffer.from(await res.arrayBuffer()), readFileSync(base.file).subarray(-100))
  }
})

t.test('S3 refs are compare-and-swap: a stale update is refused', async t => {
  const endpoint = await startS3rver(t)
  const spec: RemoteSpec = { url: 's3://tenpak-test/cas', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }
  const work = tempDir(t)
  const { repo: a } = await freshRepo(t)
  const { repo: b } = await freshRepo(t)
  await a.add('org/m', baseModel(join(work, 'a')).dir, { time: T0, author: 'a' })
  await b.add('org/m', fineTune(join(work, 'b')).dir, { time: T0, author: 'b' })
  const r = openRemote(spec)
  t.teardown(async () => { await r.close() })
  await push(a, r, 'org/m', 'main')
  await t.rejects(push(b, r, 'org/m', 'main'), { code: 'ERR_REF_CONFLICT' }, 'non-fast-forward refused')
  const forced = await push(b, r, 'org/m', 'main', { force: true })
  t.equal(forced.previous != null, true)
  const head = await b.refs.get((await import('../../src/repo/names.js')).parseRepoName('org/m'), 'heads', 'main')
  if (head == null) throw new Error('no head')
  await t.rejects(r.updateRef({ repo: 'models/org/m', branch: 'main', old: null, new: head }), { code: 'ERR_REF_CONFLICT' }, 'stale expected value refused')
})
