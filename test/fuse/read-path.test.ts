/**
 * The mount's read path without FUSE (runs everywhere): the leaf fetcher
 * (main thread and worker threads) returns exactly what BlockStore.getSync
 * returns, shares in-flight decodes, and reports corrupt entries with their
 * code; readInto serves any range and reads ahead only for sequential
 * readers; the namespace resolves the mount layout.
 */
import t from 'tap'
import { readFileSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'
import { createLeafFetcher, Priority } from '../../src/fuse/leaf-fetcher.js'
import { ChunkCache } from '../../src/util/byte-lru.js'
import { readInto, newReadState } from '../../src/fuse/file-reader.js'
import { createNamespace, inodeOf } from '../../src/fuse/namespace.js'
import { leafSpans, NodeCache } from '../../src/repo/read.js'
import { packObjectKey } from '../../src/store/block-store.js'
import { commitHex } from '../../src/repo/repo.js'
import { equals } from '../../src/util/bytes.js'
import { isInline } from '../../src/hash/cid.js'
import { randomRanges } from './helpers/mount.js'

const PEFT = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')
const FILE = 'checkpoint-1150.adapter_model.safetensors'

async function waitWorkers (f: ReturnType<typeof createLeafFetcher>, n: number): Promise<void> {
  for (let i = 0; i < 600 && f.stats().workers < n; i++) await new Promise(resolve => setTimeout(resolve, 100))
}

t.test('the leaf fetcher returns what getSync returns, on the main thread and on workers', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('org/peft', PEFT)
  const f = await repo.stat('org/peft', undefined, FILE)
  const spans = [...leafSpans(repo.blocks, new NodeCache(), f.cid, f.size, 0, f.size)]
  const packPath = (id: string): string => join(repo.dir, packObjectKey(id))
  for (const [threads, workersReadPacks] of [[0, false], [1, false], [1, true]] as const) {
    const fetcher = createLeafFetcher({ blocks: repo.blocks, cache: new ChunkCache(1 << 20), decodeThreads: threads, packPath: workersReadPacks ? packPath : undefined })
    t.teardown(async () => { await fetcher.close() })
    if (threads > 0) await waitWorkers(fetcher, threads)
    // everything at once: the queue, not the caller, bounds the work
    const got = await Promise.all(spans.map(async s => await fetcher.get(s.cid, Priority.READ)))
    let same = 0
    for (let i = 0; i < spans.length; i++) if (equals(got[i], repo.blocks.getSync(spans[i].cid))) same++
    t.equal(same, spans.length, `${threads} worker(s)${workersReadPacks ? ' reading packs' : ''}: all ${spans.length} leaves identical`)
    const st = fetcher.stats()
    t.equal(st.decodedChunks, new Set(spans.filter(s => !isInline(s.cid)).map(s => s.cid.toString())).size, 'each distinct stored leaf decoded once (inline leaves are their CIDs)')
    if (threads > 0) t.equal(st.workerChunks, st.decodedChunks, 'all on the worker')
    else t.equal(st.mainThreadChunks, st.decodedChunks, 'all on the main thread')
    t.equal(st.pending, 0)
    // the same leaf asked for twice at once is decoded once
    const small = createLeafFetcher({ blocks: repo.blocks, cache: new ChunkCache(1 << 20), decodeThreads: 0 })
    const [a, b] = await Promise.all([small.get(spans[1].cid), small.get(spans[1].cid)])
    t.equal(a, b, 'shared in-flight decode')
    t.equal(small.stats().decodedChunks, 1)
    await small.close()
  }
})

t.test('a corrupt pack entry fails the read with ERR_HASH_MISMATCH, on either thread', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('datasets/org/words', join(corpusDir, 'datasets/debian-wordlists'))
  // the 3.5 MB list: cut into several chunks (files up to 1 MiB are one chunk)
  const name = readdirSync(join(corpusDir, 'datasets/debian-wordlists')).find(n => n === 'american-english-huge') as string
  const f = await repo.stat('datasets/org/words', undefined, name)
  const leaf = [...leafSpans(repo.blocks, new NodeCache(), f.cid, f.size, 0, f.size)][3]
  const loc = repo.blocks.location(leaf.cid)
  if (loc == null) throw new Error('no location')
  // flip the payload to other valid-looking bytes: a raw entry decodes but no longer hashes right
  const packFile = join(repo.dir, packObjectKey(loc.packId))
  const fd = openSync(packFile, 'r+')
  const stored = readFileSync(packFile).subarray(loc.offset, loc.offset + loc.storedLength)
  const flipped = Buffer.from(stored)
  flipped[flipped.length - 1] ^= loc.codec === 0 ? 0x01 : 0xff
  writeSync(fd, flipped, 0, flipped.length, loc.offset)
  closeSync(fd)
  for (const threads of [0, 1]) {
    const fetcher = createLeafFetcher({ blocks: repo.blocks, cache: new ChunkCache(1 << 20), decodeThreads: threads, packPath: (id: string) => join(repo.dir, packObjectKey(id)) })
    if (threads > 0) await waitWorkers(fetcher, threads)
    await t.rejects(fetcher.get(leaf.cid), { code: /^ERR_(HASH_MISMATCH|CODEC)$/ }, `${threads} worker(s): the corrupt leaf is refused`)
    t.equal(fetcher.stats().pending, 0)
    await fetcher.close()
  }
})

t.test('readInto serves any range; sequential readers get readahead, random ones do not', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('org/peft', PEFT)
  const f = await repo.stat('org/peft', undefined, FILE)
  const src = readFileSync(join(PEFT, FILE))
  const fetcher = createLeafFetcher({ blocks: repo.blocks, cache: new ChunkCache(64 << 20), decodeThreads: 0 })
  t.teardown(async () => { await fetcher.close() })
  const deps = { blocks: repo.blocks, nodes: new NodeCache(), fetcher, maxReadahead: 1 << 20 }

  const random = newReadState()
  for (const [start, len] of randomRanges(f.size, 50, 3)) {
    const buf = Buffer.alloc(len + 7)
    const n = await readInto(deps, f, buf, start, len + 7, random)
    t.equal(n, Math.min(len + 7, f.size - start))
    if (!equals(buf.subarray(0, n), src.subarray(start, start + n))) t.fail(`range ${start}+${len}`)
  }
  t.equal(await readInto(deps, f, Buffer.alloc(10), f.size, 10, random), 0, 'at EOF: 0 bytes')
  const afterRandom = fetcher.stats().decodedBytes

  const fresh = createLeafFetcher({ blocks: repo.blocks, cache: new ChunkCache(64 << 20), decodeThreads: 0 })
  t.teardown(async () => { await fresh.close() })
  const seqDeps = { ...deps, fetcher: fresh }
  const seq = newReadState()
  const out = Buffer.alloc(f.size)
  for (let pos = 0; pos < f.size; pos += 128 * 1024) {
    await readInto(seqDeps, f, out.subarray(pos), pos, Math.min(128 * 1024, f.size - pos), seq)
  }
  t.ok(equals(out, src), 'a sequential read returns the whole file')
  t.ok(seq.streak > 2 && seq.aheadTo > 0, `sequential detected (streak ${seq.streak}, readahead to ${seq.aheadTo})`)
  await new Promise(resolve => setTimeout(resolve, 50))
  const s = fresh.stats()
  t.ok(s.decodedBytes <= f.size * 1.05, `whole-file amplification ${(s.decodedBytes / f.size).toFixed(3)} ≤ 1.05`)
  t.ok(afterRandom > 0)
})

t.test('readahead stays inside the tensor being read', async t => {
  const { repo } = await freshRepo(t)
  await repo.add('org/peft', PEFT)
  const f = await repo.stat('org/peft', undefined, FILE)
  const tensors = (await repo.tensors(f)) ?? []
  const segments = [0, ...tensors.map(x => x.start)]
  // the largest tensor that is not the last one
  const big = tensors.slice(0, -1).reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a))
  t.ok(big.end - big.start >= 512 * 1024, `tensor ${big.name}: ${big.end - big.start} bytes`)
  for (const bounded of [true, false]) {
    const fetcher = createLeafFetcher({ blocks: repo.blocks, cache: new ChunkCache(64 << 20), decodeThreads: 0 })
    const deps = { blocks: repo.blocks, nodes: new NodeCache(), fetcher, maxReadahead: 4 << 20 }
    const state = newReadState()
    const file = bounded ? { cid: f.cid, size: f.size, segments } : { cid: f.cid, size: f.size }
    for (let pos = big.start; pos < big.end; pos += 128 * 1024) {
      await readInto(deps, file, Buffer.alloc(128 * 1024), pos, Math.min(128 * 1024, big.end - pos), state)
    }
    for (let i = 0; i < 100 && fetcher.stats().pending > 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
    const spans = [...leafSpans(repo.blocks, new NodeCache(), f.cid, f.size, big.start, big.end)]
    const needed = spans.reduce((n, s) => n + repo.blocks.getSync(s.cid).length, 0)
    const decoded = fetcher.stats().decodedBytes
    if (bounded) t.equal(decoded, needed, 'with the tensor table: only the tensor\'s leaves are decoded')
    else t.ok(decoded > needed, `without it: readahead runs past the tensor (${decoded} > ${needed})`)
    await fetcher.close()
  }
})

t.test('the namespace resolves models, datasets, orgs, branches, tags and commit ids', async t => {
  const { repo, dir } = await freshRepo(t)
  const src = join(dir, 'src')
  mkdirSync(join(src, 'sub'), { recursive: true })
  writeFileSync(join(src, 'a.txt'), 'a\n')
  writeFileSync(join(src, 'sub', 'b.txt'), 'bb\n')
  const c1 = await repo.add('org/model', src)
  await repo.add('datasets/solo', src)
  writeFileSync(join(src, 'a.txt'), 'a2\n')
  await repo.add('org/model', src, { branch: 'feature/x' })
  const head = await repo.resolve('org/model')
  await repo.setRef('org/model', 'tags', 'v1', head.cid)
  let clock = 1_000_000
  const ns = createNamespace(repo, { refTtlMs: 1000, now: () => clock })

  t.same((await ns.list('/')).map(e => e[0]), ['models', 'datasets'])
  t.same((await ns.list('/models')).map(e => e[0]), ['org'])
  t.same((await ns.list('/models/org')).map(e => e[0]), ['model', 'model@feature%2Fx', 'model@main', 'model@v1'])
  t.same((await ns.list('/datasets')).map(e => e[0]), ['solo', 'solo@main'])
  t.same((await ns.list('/models/org/model')).map(e => e[0]), ['a.txt', 'sub'])
  const a = await ns.resolve('/models/org/model/a.txt')
  t.equal(a.type, 'file')
  if (a.type === 'file') t.equal(a.entry.size, 2)
  const b = await ns.resolve('/models/org/model@feature%2Fx/a.txt')
  if (b.type === 'file') t.equal(b.entry.size, 3, 'a branch with a slash')
  for (const rev of [c1.commit, commitHex(head.cid), 'v1', 'main']) {
    const n = await ns.resolve(`/models/org/model@${rev}/sub/b.txt`)
    t.equal(n.type, 'file', `@${rev}`)
  }
  const d = await ns.resolve('/datasets/solo@main/sub')
  t.equal(d.type, 'dir')
  if (d.type === 'dir') t.equal(ns.dirCid(d)?.toString().startsWith('bafy'), true, 'a subdirectory has its UnixFS CID')
  for (const bad of ['/nope', '/models/nope', '/models/org/nope', '/models/org/model@nope', '/models/org/model/zz', `/models/org/model@${'0'.repeat(40)}`, '/models/org/model@']) {
    await t.rejects(ns.resolve(bad), { code: 'ERR_PATH_NOT_FOUND' }, `${bad} is not found`)
  }
  // inode numbers: stable, and per path and commit
  const again = createNamespace(repo, { refTtlMs: 1000, now: () => clock })
  t.equal((await again.resolve('/models/org/model/a.txt')).ino, a.ino, 'same inode from a new namespace (a remount)')
  t.not((await ns.resolve('/models/org/model@main/a.txt')).ino, a.ino, 'another path, another inode')
  t.equal(inodeOf('x'), inodeOf('x'))

  // a new commit: seen only after the TTL
  writeFileSync(join(src, 'c.txt'), 'c\n')
  await repo.add('org/model', src)
  await t.rejects(ns.resolve('/models/org/model/c.txt'), { code: 'ERR_PATH_NOT_FOUND' }, 'within the TTL: the old head')
  clock += 1001
  t.equal((await ns.resolve('/models/org/model/c.txt')).type, 'file', 'after the TTL: the new head')
  t.not((await ns.resolve('/models/org/model/a.txt')).ino, a.ino, 'a file under a moved branch gets a new inode')
})
