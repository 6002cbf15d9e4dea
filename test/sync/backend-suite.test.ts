import t, { type Test } from 'tap'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { tempDir } from '../helpers/store.js'
import { createFsBackend } from '../../src/store/fs-backend.js'
import { createS3Backend, createS3Client, withRetry } from '../../src/store/s3-backend.js'
import type { Backend } from '../../src/store/backend.js'
import { createCachedBackend } from '../../src/store/cached-backend.js'
import { createS3SyncLoader } from '../../src/store/s3-sync-loader.js'
import { startS3rver } from './s3-helpers.js'

type Suite = (t: Test, backend: Backend, dir: string) => Promise<void>

/** The five verbs, run against every backend. */
const suite: Suite = async (t, b, dir) => {
  const bytes = Buffer.alloc(300_000)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff
  const file = join(dir, 'src.bin')
  writeFileSync(file, bytes)
  t.equal(await b.stat('packs/ab/x.pack'), undefined, 'stat of a missing key')
  await b.save('packs/ab/x.pack', { path: file })
  await b.save('packs/cd/y.pack', new Uint8Array([1, 2, 3]))
  t.same(await b.stat('packs/ab/x.pack'), { size: bytes.length })
  t.same(Buffer.from(await b.load('packs/ab/x.pack', { offset: 1000, length: 5000 })), bytes.subarray(1000, 6000), 'ranged load')
  t.same(Buffer.from(await b.load('packs/cd/y.pack')), Buffer.from([1, 2, 3]), 'whole load')
  const parts: Buffer[] = []
  for await (const p of b.stream('packs/ab/x.pack', { offset: 10, length: 250_000 })) parts.push(Buffer.from(p))
  t.same(Buffer.concat(parts), bytes.subarray(10, 250_010), 'ranged stream')
  const keys: string[] = []
  for await (const k of b.list('packs/')) keys.push(k)
  t.same(keys.sort(), ['packs/ab/x.pack', 'packs/cd/y.pack'], 'list')
  await b.remove('packs/cd/y.pack')
  await b.remove('packs/cd/never.pack')
  t.equal(await b.stat('packs/cd/y.pack'), undefined, 'removed')
  await t.rejects(b.load('packs/none.pack', { offset: 0, length: 1 }), { code: 'ERR_NOT_FOUND' })
  await b.close()
}

t.test('fs backend', async t => {
  const dir = tempDir(t)
  await suite(t, createFsBackend(join(dir, 'store')), dir)
})

t.test('S3 backend (s3rver), with retries', async t => {
  const endpoint = await startS3rver(t)
  const dir = tempDir(t)
  const client = createS3Client({ endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' })
  await suite(t, withRetry(createS3Backend(client, { bucket: 'tenpak-test', prefix: 'suite' })), dir)
  client.destroy()
})

t.test('S3 backend behind the range cache: the five verbs pass through; a blocking read reaches the bucket', async t => {
  const endpoint = await startS3rver(t)
  const dir = tempDir(t)
  const settings = { endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' }
  const location = { bucket: 'tenpak-test', prefix: 'cached' }
  const client = createS3Client(settings)
  const loader = createS3SyncLoader({ settings, location })
  const cached = createCachedBackend(withRetry(createS3Backend(client, location)), { cacheBytes: 1 << 20, loadSync: loader.load, onClose: loader.close })
  const bytes = Buffer.from('0123456789'.repeat(1000))
  await cached.save('packs/ef/z.pack', bytes)
  t.same(Buffer.from(cached.readSync('packs/ef/z.pack', 100, 50)), bytes.subarray(100, 150), 'a blocking ranged read on the worker')
  t.same(Buffer.from(cached.readSync('packs/ef/z.pack', 100, 50)), bytes.subarray(100, 150), 'then from the cache')
  t.match(cached.cacheStats(), { blockingFetches: 1, hits: 1, entries: 1, bytes: 50 })
  t.throws(() => cached.readSync('packs/ef/none.pack', 0, 10), { code: 'ERR_NOT_FOUND' }, 'a missing object is ERR_NOT_FOUND')
  await cached.prefetch([{ key: 'packs/ef/z.pack', offset: 0, length: 10 }, { key: 'packs/ef/z.pack', offset: 20, length: 10 }])
  t.same(Buffer.from(cached.readSync('packs/ef/z.pack', 20, 10)), bytes.subarray(20, 30), 'a prefetched range')
  t.equal(cached.cacheStats().blockingFetches, 2, 'read without blocking')
  await cached.remove('packs/ef/z.pack')
  await suite(t, cached, dir)
  client.destroy()
})

t.test('withRetry retries transient failures with backoff and passes permanent ones through', async t => {
  let calls = 0
  const retried: number[] = []
  const flaky = {
    ...createFsBackend(tempDir(t)),
    load: async (_key: string, _range?: { offset: number, length: number }) => {
      calls++
      if (calls < 3) throw Object.assign(new Error('slow down'), { $metadata: { httpStatusCode: 503 } })
      return new Uint8Array([9])
    },
    stat: async (_key: string) => { calls++; throw Object.assign(new Error('denied'), { $metadata: { httpStatusCode: 403 } }) }
  } satisfies Backend
  const b = withRetry(flaky, { baseMs: 1, onRetry: (i) => { retried.push(i.attempt) } })
  t.same(await b.load('k'), new Uint8Array([9]))
  t.same(retried, [1, 2], 'two retries, then success')
  calls = 0
  await t.rejects(b.stat('k'), /denied/)
  t.equal(calls, 1, 'a 403 is not retried')
})
