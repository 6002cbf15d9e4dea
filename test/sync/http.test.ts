import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freshRepo, tempDir } from '../helpers/store.js'
import { createHttpRemote } from '../../src/sync/http-remote.js'
import { push } from '../../src/sync/push.js'
import { pull } from '../../src/sync/pull.js'
import { localClosure } from '../../src/sync/objects.js'
import { writeTransferPack } from '../../src/sync/transfer-pack.js'
import { parseRepoName } from '../../src/repo/names.js'
import { servedStore, baseModel, fineTune, packFiles, TOKEN } from './helpers.js'

const T0 = 1_700_000_000_000

t.test('push a model, then a fine-tune sent as deltas (< 5% of its size); pull into a fresh store gives identical exports', async t => {
  const work = tempDir(t)
  const { repo: a } = await freshRepo(t)
  const origin = await servedStore(t)
  const base = baseModel(join(work, 'base'))
  const ft = fineTune(join(work, 'ft'))
  await a.add('org/peft', base.dir, { time: T0, author: 't', message: 'base' })
  const remote = createHttpRemote({ url: origin.url, token: TOKEN })
  t.teardown(async () => { await remote.close() })

  const p1 = await push(a, remote, 'org/peft', 'main')
  t.equal(p1.previous, null)
  t.ok(p1.objectsSent > 0 && p1.bytesSent > 0, `first push sent ${p1.bytesSent} bytes`)
  t.equal((await origin.repo.resolve('org/peft')).cid.toString(), p1.commit, 'remote branch set')

  const add2 = await a.add('org/peft', ft.dir, { time: T0 + 1, author: 't', message: 'fine-tune' })
  t.ok(add2.deltaLogicalBytes > 0, 'fine-tune stored against its parent')
  const p2 = await push(a, remote, 'org/peft', 'main')
  t.equal(p2.previous, p1.commit)
  t.ok(p2.bytesSent < 0.05 * ft.size, `second push sent ${p2.bytesSent} bytes for a ${ft.size}-byte fine-tune (3 of 148 tensors changed)`)
  t.ok(p2.bytesSkipped > 0, 'objects the remote had were skipped')
  t.equal(p2.expanded, 0, 'deltas travelled as deltas')
  t.comment(`fine-tune push: ${p2.bytesSent} bytes sent of ${ft.size} (${(100 * p2.bytesSent / ft.size).toFixed(2)}%), ${p2.objectsSent} objects`)

  const again = await push(a, remote, 'org/peft', 'main')
  t.ok(again.upToDate, 'a repeated push is a no-op')

  // a fresh store pulls both commits and exports byte-identical files
  const { repo: c } = await freshRepo(t)
  const pl = await pull(c, remote, 'org/peft', 'main')
  t.equal(pl.commit, p2.commit)
  const out = join(work, 'out')
  await c.export('org/peft', undefined, out)
  t.same(readFileSync(join(out, 'adapter_model.safetensors')), readFileSync(ft.file), 'fine-tune identical')
  const outBase = join(work, 'out-base')
  await c.export('org/peft', p1.commit, outBase)
  t.same(readFileSync(join(outBase, 'adapter_model.safetensors')), readFileSync(base.file), 'base revision identical')
  t.ok((await c.verify()).ok, 'pulled store verifies')
  t.ok((await origin.repo.verify()).ok, 'origin verifies')
  const log = await c.log('org/peft')
  t.equal(log.length, 2, 'history pulled')
})

t.test('a tampered pack is refused and nothing is written; writes need a token; non-fast-forward needs --force', async t => {
  const work = tempDir(t)
  const { repo: a, dir: aDir } = await freshRepo(t)
  const origin = await servedStore(t)
  const base = baseModel(join(work, 'base'))
  await a.add('org/m', base.dir, { time: T0, author: 't' })
  const head = await a.refs.get(parseRepoName('org/m'), 'heads', 'main')
  if (head == null) throw new Error('no head')
  const objs = localClosure(a.blocks, [head])
  const pack = writeTransferPack(a.blocks, join(aDir, 'store', 'tmp'), objs, () => false)
  const bytes = readFileSync(pack.file)
  bytes[Math.floor(bytes.length / 2)] ^= 0x40 // a payload byte: the footer and index still parse
  const bad = join(work, 'bad.pack')
  writeFileSync(bad, bytes)
  const before = packFiles(origin.storeDir)
  const res = await fetch(`${origin.url}/v1/sync/packs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: bytes })
  t.equal(res.status, 422, 'tampered pack refused')
  t.equal(res.headers.get('x-error-code'), 'BadPack')
  t.same(packFiles(origin.storeDir), before, 'no pack written')
  t.same((await origin.repo.listRepos()).length, 0)

  const good = readFileSync(pack.file)
  const noTok = await fetch(`${origin.url}/v1/sync/packs`, { method: 'POST', body: good })
  t.equal(noTok.status, 401, 'upload without a token refused')
  const wrong = await fetch(`${origin.url}/v1/sync/refs`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: JSON.stringify({ repo: 'org/m', branch: 'main', old: null, new: head.toString() }) })
  t.equal(wrong.status, 401, 'ref update with a wrong token refused')
  const closed = await servedStore(t, { writeTokens: [] })
  const off = await fetch(`${closed.url}/v1/sync/packs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: good })
  t.equal(off.status, 403, 'a server without tokens refuses every write')

  const anon = createHttpRemote({ url: origin.url })
  t.teardown(async () => { await anon.close() })
  await t.rejects(push(a, anon, 'org/m', 'main'), { code: 'ERR_BAD_ARGUMENT' }, 'push without token fails')

  const remote = createHttpRemote({ url: origin.url, token: TOKEN })
  t.teardown(async () => { await remote.close() })
  await push(a, remote, 'org/m', 'main')
  // another store with unrelated history for the same branch
  const { repo: b } = await freshRepo(t)
  const ft = fineTune(join(work, 'ft'))
  await b.add('org/m', ft.dir, { time: T0 + 5, author: 'other' })
  await t.rejects(push(b, remote, 'org/m', 'main'), { code: 'ERR_REF_CONFLICT' }, 'non-fast-forward refused by the client')
  // the server refuses it too, whatever the client claims
  const bHead = await b.refs.get(parseRepoName('org/m'), 'heads', 'main')
  if (bHead == null) throw new Error('no head')
  await b.setRef('org/m', 'heads', 'other', bHead)
  await push(b, remote, 'org/m', 'other') // objects now on the server
  const raw = await fetch(`${origin.url}/v1/sync/refs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ repo: 'org/m', branch: 'main', old: head.toString(), new: bHead.toString() }) })
  t.equal(raw.status, 409, 'server refuses a non-fast-forward')
  t.equal(raw.headers.get('x-error-code'), 'NonFastForward')
  const forced = await push(b, remote, 'org/m', 'main', { force: true })
  t.equal(forced.commit, bHead.toString(), '--force moves the branch')
  t.equal((await origin.repo.resolve('org/m')).cid.toString(), bHead.toString())
})

t.test('an upload cut off midway leaves nothing behind on the server', async t => {
  const work = tempDir(t)
  const { repo: a, dir: aDir } = await freshRepo(t)
  await a.add('org/m', baseModel(join(work, 'base')).dir, { time: T0, author: 't' })
  const head = await a.refs.get(parseRepoName('org/m'), 'heads', 'main')
  if (head == null) throw new Error('no head')
  const pack = writeTransferPack(a.blocks, join(aDir, 'store', 'tmp'), localClosure(a.blocks, [head]), () => false)
  const bytes = readFileSync(pack.file)
  const origin = await servedStore(t)
  const { request } = await import('node:http')
  await new Promise<void>((resolve) => {
    const req = request(`${origin.url}/v1/sync/packs`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(bytes.length) } })
    req.on('error', () => { resolve() })
    req.write(bytes.subarray(0, bytes.length >> 1), () => { setTimeout(() => { req.destroy(); resolve() }, 200) })
  })
  await new Promise(resolve => setTimeout(resolve, 500))
  t.same(packFiles(origin.storeDir), [], 'no pack stored')
  const { readdirSync } = await import('node:fs')
  t.same(readdirSync(join(origin.storeDir, 'tmp')), [], 'no temp file left')
  t.ok((await origin.repo.verify()).ok)
})
