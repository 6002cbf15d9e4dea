import t, { type Test } from 'tap'
import { join } from 'node:path'
import { freshRepo, tempDir } from '../helpers/store.js'
import { createHttpRemote } from '../../src/sync/http-remote.js'
import { openRemote } from '../../src/sync/remotes.js'
import { push } from '../../src/sync/push.js'
import { pull } from '../../src/sync/pull.js'
import { parseRepoName } from '../../src/repo/names.js'
import type { Repo } from '../../src/repo/repo.js'
import type { Remote } from '../../src/sync/remote.js'
import { servedStore, baseModel, fineTune, TOKEN } from './helpers.js'
import { startS3rver } from './s3-helpers.js'

const T0 = 1_700_000_000_000
const NAME = parseRepoName('org/peft')

async function tagsOf (repo: Repo): Promise<Record<string, string>> {
  const r = await repo.refs.repo(NAME)
  return Object.fromEntries(Object.entries(r?.tags ?? {}).map(([k, v]) => [k, v.toString()]))
}

async function carriesTags (t: Test, open: () => Remote): Promise<void> {
  const work = tempDir(t)
  const { repo: a } = await freshRepo(t)
  const c1 = await a.add('org/peft', baseModel(join(work, 'base')).dir, { time: T0, author: 't' })
  await a.setRef('org/peft', 'tags', 'v1', (await a.resolve('org/peft')).cid)
  const c2 = await a.add('org/peft', fineTune(join(work, 'ft')).dir, { time: T0 + 1, author: 't' })
  await a.setRef('org/peft', 'tags', 'v2', (await a.resolve('org/peft')).cid)
  const remote = open()
  t.teardown(async () => { await remote.close() })

  const p = await push(a, remote, 'org/peft', 'main')
  t.same(p.tags, ['v1', 'v2'], 'push sends the tags in the pushed history')
  const seen = (await remote.refs()).find(r => r.repo === NAME.full)
  t.same(seen?.tags, { v1: c1.commit, v2: c2.commit }, 'the remote lists them')

  const { repo: b } = await freshRepo(t)
  const pl = await pull(b, remote, 'org/peft', 'main')
  t.same(pl.tags, ['v1', 'v2'], 'pull takes them')
  t.same(await tagsOf(b), { v1: c1.commit, v2: c2.commit })
  t.equal((await b.resolve('org/peft', 'v1')).cid.toString(), c1.commit, 'a pulled tag resolves')

  // a tag added later goes with an otherwise up-to-date push and pull
  await a.setRef('org/peft', 'tags', 'later', (await a.resolve('org/peft')).cid)
  const p2 = await push(a, remote, 'org/peft', 'main')
  t.same(p2.tags, ['later'])
  const pl2 = await pull(b, remote, 'org/peft', 'main')
  t.same(pl2.tags, ['later'])
  t.ok((await pull(b, remote, 'org/peft', 'main')).upToDate, 'then nothing is left to do')

  // a tag that differs is left alone unless forced, on either side
  await a.setRef('org/peft', 'tags', 'v1', (await a.resolve('org/peft')).cid, { expected: (await a.resolve('org/peft', 'v1')).cid })
  const p3 = await push(a, remote, 'org/peft', 'main')
  t.same(p3.tagsSkipped, ['v1'], 'a moved tag is not pushed without force')
  const p4 = await push(a, remote, 'org/peft', 'main', { force: true })
  t.same(p4.tags, ['v1'], 'force moves it')
  const pl3 = await pull(b, remote, 'org/peft', 'main')
  t.same(pl3.tagsSkipped, ['v1'], 'a local tag at another commit is kept')
  t.equal((await tagsOf(b)).v1, c1.commit)
}

t.test('push and pull carry tags over HTTP', async t => {
  const origin = await servedStore(t)
  await carriesTags(t, () => createHttpRemote({ url: origin.url, token: TOKEN }))
})

t.test('push and pull carry tags through an S3 bucket', async t => {
  const endpoint = await startS3rver(t)
  await carriesTags(t, () => openRemote({ url: 's3://tenpak-test/tags', endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1' }))
})
