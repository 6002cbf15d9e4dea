import t from 'tap'
import { readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { freshRepo, tempDir, tenpakBin } from '../helpers/store.js'
import { startS3rver, waitFor, stop, type Host } from './s3-helpers.js'
import { openRemote, type RemoteSpec } from '../../src/sync/remotes.js'
import { push } from '../../src/sync/push.js'
import { createS3Backend, createS3Client } from '../../src/store/s3-backend.js'
import { createFsBackend } from '../../src/store/fs-backend.js'
import { createCachedBackend } from '../../src/store/cached-backend.js'

const T0 = 1_700_000_000_000
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }

/** Bytes of every file under `dir`. */
function du (dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    n += e.isDirectory() ? du(p) : statSync(p).size
  }
  return n
}

interface PackCache { bytes: number, limit: number, entries: number, fetchedBytes: number, blockingFetches: number }

async function packCache (url: string): Promise<PackCache> {
  const h = await (await fetch(`${url}/healthz`)).json() as { packCache?: PackCache }
  if (h.packCache == null) throw new Error('no packCache in /healthz')
  return h.packCache
}

async function serveS3 (t: Host, endpoint: string, url: string, cacheDir: string, cacheSize: string): Promise<string> {
  const child = spawn(process.execPath, [tenpakBin, 'serve', '--store', url, '--port', '0', '--s3-cache-dir', cacheDir, '--s3-cache-size', cacheSize, '--s3-refresh', '300', '--s3-endpoint', endpoint, '--quiet'], { env: { ...process.env, ...CREDS }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(async () => { await stop(child) })
  const m = await waitFor(child, 'stderr', /"msg":"listening","url":"([^"]+)"/)
  return m[1]
}

t.test('a range cache keeps within its bound and coalesces neighbouring ranges into one read', async t => {
  const dir = tempDir(t)
  const data = randomBytes(1 << 20)
  mkdirSync(join(dir, 'packs'), { recursive: true })
  writeFileSync(join(dir, 'packs', 'x.pack'), data)
  const inner = createFsBackend(dir)
  let loads = 0
  const counted = { ...inner, load: async (...a: Parameters<typeof inner.load>) => { loads++; return await inner.load(...a) } }
  const cache = createCachedBackend(counted, { cacheBytes: 100_000, loadSync: (k, o, l) => inner.readSync(k, o, l) })
  t.teardown(async () => { await cache.close() })
  const ranges = Array.from({ length: 8 }, (_, i) => ({ key: 'packs/x.pack', offset: i * 10_000, length: 10_000 }))
  await cache.prefetch(ranges)
  t.equal(loads, 1, 'adjacent ranges: one GET')
  for (const r of ranges) t.same(cache.readSync(r.key, r.offset, r.length), data.subarray(r.offset, r.offset + r.length))
  t.equal(cache.cacheStats().blockingFetches, 0, 'prefetched ranges are read without blocking')
  for (let i = 0; i < 50; i++) {
    const off = (i * 17_000) % (data.length - 30_000)
    t.same(cache.readSync('packs/x.pack', off, 30_000), data.subarray(off, off + 30_000))
    t.ok(cache.cacheStats().bytes <= 100_000)
  }
  t.same(cache.readSync('packs/x.pack', 0, 200_000), data.subarray(0, 200_000), 'a range larger than the cache is read, not cached')
  t.ok(cache.cacheStats().bytes <= 100_000, `cache holds ${cache.cacheStats().bytes} bytes`)
})

t.test('serve --store s3:// reads ranges straight from the bucket through a bounded cache', async t => {
  const endpoint = await startS3rver(t)
  const spec: RemoteSpec = { url: 's3://tenpak-test/big', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' }
  const work = tempDir(t)
  const src = join(work, 'src')
  mkdirSync(src)
  const file = randomBytes(16 << 20)
  writeFileSync(join(src, 'weights.bin'), file)
  const { repo } = await freshRepo(t)
  await repo.add('org/big', src, { time: T0, author: 't' })
  await repo.setRef('org/big', 'tags', 'v1', await repo.refs.get((await import('../../src/repo/names.js')).parseRepoName('org/big'), 'heads', 'main'))
  const remote = openRemote(spec)
  await push(repo, remote, 'org/big', 'main', { maxPackBytes: 4 << 20 })
  await remote.close()

  const s3 = createS3Backend(createS3Client({ endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' }), { bucket: 'tenpak-test', prefix: 'big' })
  let packBytes = 0
  const packs: string[] = []
  const copies = new Set<string>()
  for await (const k of s3.list('packs/')) {
    if (k.endsWith('.pack')) { packs.push(k); packBytes += (await s3.stat(k))?.size ?? 0 }
    if (k.endsWith('.idx')) copies.add(k.replace(/\.idx$/, '.pack'))
  }
  t.ok(packBytes > 15 << 20, `the bucket holds ${packBytes} bytes of packs`)
  t.ok(packs.length > 2 && packs.every(k => copies.has(k)), `each of the ${packs.length} packs has its index copy beside it`)
  // a pack without one (pushed by an older tenpak) is indexed from its footer
  await s3.remove(packs[0].replace(/\.pack$/, '.idx'))

  const cacheDir = join(work, 'cache')
  const limit = 2 << 20
  const url = await serveS3(t, endpoint, 's3://tenpak-test/big', cacheDir, '2MiB')

  // a small range of a large file
  let res = await fetch(`${url}/org/big/resolve/main/weights.bin`, { headers: { range: 'bytes=10000000-10099999' } })
  t.equal(res.status, 206)
  t.equal(res.headers.get('content-range'), `bytes 10000000-10099999/${file.length}`)
  t.same(Buffer.from(await res.arrayBuffer()), file.subarray(10_000_000, 10_100_000), 'small range: byte-exact')
  let pc = await packCache(url)
  t.ok(pc.fetchedBytes < packBytes / 20, `read ${pc.fetchedBytes} of ${packBytes} pack bytes from the bucket`)
  const local = du(cacheDir)
  t.ok(local < packBytes / 10, `the local cache dir holds ${local} bytes (bucket packs: ${packBytes})`)
  t.ok(pc.bytes <= limit, `pack cache ${pc.bytes} <= ${limit}`)

  // a range larger than the cache bound, and a suffix range
  res = await fetch(`${url}/org/big/resolve/main/weights.bin`, { headers: { range: 'bytes=1000000-6999999' } })
  t.equal(res.status, 206)
  t.same(Buffer.from(await res.arrayBuffer()), file.subarray(1_000_000, 7_000_000), '6 MB range through a 2 MiB cache: byte-exact')
  res = await fetch(`${url}/org/big/resolve/v1/weights.bin`, { headers: { range: 'bytes=-5000' } })
  t.same(Buffer.from(await res.arrayBuffer()), file.subarray(-5000), 'a tag mirrored from the bucket resolves')
  pc = await packCache(url)
  t.comment(`pack cache after 6.1 MB served: ${JSON.stringify(pc)}`)
  t.ok(pc.bytes <= limit, `pack cache ${pc.bytes} <= ${limit} after reading more than the bound`)
  t.ok(du(cacheDir) < packBytes / 10, 'still no packs copied locally')
  t.ok(pc.blockingFetches <= 8, `file data came through prefetches: ${pc.blockingFetches} blocking GETs (file nodes)`)

  // a ref deleted from the bucket goes away on the server too
  await s3.remove('refs/models/org/big/@tags/v1')
  let gone = false
  for (let i = 0; i < 100 && !gone; i++) {
    gone = (await fetch(`${url}/org/big/resolve/v1/weights.bin`, { method: 'HEAD' })).status === 404
    if (!gone) await new Promise(resolve => setTimeout(resolve, 200))
  }
  t.ok(gone, 'the deleted tag is gone from the server')
})
