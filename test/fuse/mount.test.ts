/**
 * Real FUSE mounts of a store holding the whole corpus: every repo diffs
 * clean against its source, revision paths work, random preads match,
 * metadata (sizes, inodes, xattrs) is right, and commits made while mounted
 * show up without remounting. Reads happen in child processes.
 */
import t from 'tap'
import { readdirSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'
import { mountStore, type MountHandle } from '../../src/fuse/mount.js'
import { commitHex } from '../../src/repo/repo.js'
import { leafSpans, NodeCache } from '../../src/repo/read.js'
import { toHex } from '../../src/util/bytes.js'
import { fuseUnavailableReason, skipMessage, run, childPreads, sourcePreads, randomRanges, type PreadSpec } from './helpers/mount.js'

const reason = fuseUnavailableReason()
const folders = ['models', 'datasets'].flatMap(kind =>
  readdirSync(join(corpusDir, kind)).map(name => ({ kind, name, path: join(corpusDir, kind, name), repo: `${kind}/corpus/${name}` })))

const errors: string[] = []
const onError = (err: unknown, op: string, p: string): void => { errors.push(`${op} ${p}: ${String(err)}`) }

if (reason != null) {
  process.stderr.write(skipMessage(reason) + '\n')
  t.skip(skipMessage(reason))
} else {
  t.test('the mount serves every corpus repo byte-identical to its source', async t => {
    const { repo, dir } = await freshRepo(t)
    for (const f of folders) await repo.add(f.repo, f.path, { message: f.name })
    const mnt = join(dir, 'mnt')
    const h: MountHandle = await mountStore(repo, mnt, { onError, cacheBytes: 32 << 20 })
    t.teardown(async () => { await h.unmount() })

    t.test('diff -r of every repo through the mount', async t => {
      for (const f of folders) {
        const r = await run('diff', ['-r', f.path, join(mnt, f.kind, 'corpus', f.name)])
        t.equal(r.code, 0, `diff -r ${f.repo}: ${r.stdout.slice(0, 300)}${r.stderr.slice(0, 300)}`)
      }
    })

    t.test('revision paths: @main, @<commit CID>, @<40-hex commit id>', async t => {
      const f = folders.find(x => x.name === 'peft-finegates-roberta-mrpc-checkpoints') ?? folders[0]
      const res = await repo.resolve(f.repo)
      for (const rev of ['main', res.cid.toString(), commitHex(res.cid)]) {
        const r = await run('diff', ['-r', f.path, join(mnt, f.kind, 'corpus', `${f.name}@${rev}`)])
        t.equal(r.code, 0, `diff -r ${f.repo}@${rev}: ${r.stdout.slice(0, 300)}${r.stderr.slice(0, 300)}`)
      }
      const ls = await run('ls', [join(mnt, f.kind, 'corpus')])
      t.match(ls.stdout, `${f.name}@main`, 'branches are listed')
      t.notMatch(ls.stdout, res.cid.toString(), 'commit ids resolve but are not listed')
      const bad = await run('ls', [join(mnt, f.kind, 'corpus', `${f.name}@nope`)])
      t.not(bad.code, 0, 'an unknown revision is ENOENT')
      t.match(bad.stderr, /No such file/)
    })

    t.test('random preads match the source', async t => {
      const specs: PreadSpec[] = []
      const mountSpecs: PreadSpec[] = []
      let seed = 7
      for (const f of folders) {
        for (const name of readdirSync(f.path)) {
          const src = join(f.path, name)
          const size = statSync(src).size
          if (size === 0) continue
          const ranges = randomRanges(size, 6, seed++)
          ranges.push([Math.max(0, size - 10), 100]) // past the end: short read
          specs.push({ file: src, ranges })
          mountSpecs.push({ file: join(mnt, f.kind, 'corpus', f.name, name), ranges })
        }
      }
      const got = await childPreads(mountSpecs, join(dir, 'preads.json'))
      let n = 0
      for (let i = 0; i < specs.length; i++) {
        t.same(got[i], sourcePreads(specs[i]), `preads of ${mountSpecs[i].file}`)
        n += specs[i].ranges.length
      }
      t.ok(n > 100, `${n} ranges checked`)
    })

    t.test('sizes, stable inode numbers, permissions and xattrs', async t => {
      const f = folders.find(x => x.name === 'vega-flights-subsets') ?? folders[0]
      const name = readdirSync(f.path).sort()[0]
      const file = join(mnt, f.kind, 'corpus', f.name, name)
      const st1 = await run('stat', ['-c', '%s %i %a %F', file])
      const st2 = await run('stat', ['-c', '%s %i %a %F', file])
      const [size, ino, mode, ...kind] = st1.stdout.trim().split(' ')
      t.equal(Number(size), statSync(join(f.path, name)).size, 'real size')
      t.equal(st1.stdout, st2.stdout, 'same inode on every stat')
      t.not(Number(ino), 0)
      t.equal(mode, '444')
      t.equal(kind.join(' '), 'regular file')
      const other = await run('stat', ['-c', '%i', join(mnt, f.kind, 'corpus', f.name, readdirSync(f.path).sort()[1])])
      t.not(other.stdout.trim(), ino, 'different files, different inodes')
      const entry = await repo.stat(f.repo, undefined, name)
      const cid = await run('getfattr', ['--only-values', '-n', 'user.tenpak.cid', file])
      t.equal(cid.stdout, entry.cid.toString(), 'user.tenpak.cid')
      const sha = await run('getfattr', ['--only-values', '-n', 'user.tenpak.sha256', file])
      t.equal(sha.stdout, createHash('sha256').update(readFileSync(join(f.path, name))).digest('hex'), 'user.tenpak.sha256 is the sha256 of the source')
      t.equal(toHex(entry.sha256), sha.stdout)
      const all = await run('getfattr', ['-d', file])
      t.match(all.stdout, 'user.tenpak.commit=')
      const root = await run('getfattr', ['--only-values', '-n', 'user.tenpak.cid', join(mnt, f.kind, 'corpus', f.name)])
      t.equal(root.stdout, (await repo.resolve(f.repo)).commit.tree.toString(), 'a revision root carries its tree CID')
      const write = await run('sh', ['-c', `echo x >> '${file}'`])
      t.not(write.code, 0, 'the mount is read-only')
    })

    t.test('no read failed inside the mount', async t => {
      t.same(errors, [])
      const s = h.stats()
      t.ok(s.reads > 0 && s.servedBytes > 0, `${s.reads} reads, ${s.servedBytes} bytes served, ${s.fetcher.decodedChunks} leaves decoded`)
    })
  })

  t.test('a fine-tune stored as a delta of its base reads back byte-identical', async t => {
    const { repo, dir } = await freshRepo(t)
    const peft = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')
    const baseDir = join(dir, 'base')
    const ftDir = join(dir, 'ft')
    mkdirSync(baseDir)
    mkdirSync(ftDir)
    // the same file name in both, as a fine-tune of a base repo would have
    writeFileSync(join(baseDir, 'adapter_model.safetensors'), readFileSync(join(peft, 'checkpoint-1150.adapter_model.safetensors')))
    writeFileSync(join(ftDir, 'adapter_model.safetensors'), readFileSync(join(peft, 'checkpoint-1380.adapter_model.safetensors')))
    await repo.add('org/peft-base', baseDir)
    // `base` is the add option of the delta work (issue 7); older stores ignore it
    await repo.add('org/peft-ft', ftDir, { base: 'org/peft-base' } as Parameters<typeof repo.add>[2])
    const entry = await repo.stat('org/peft-ft', undefined, 'adapter_model.safetensors')
    let deltas = 0
    let leaves = 0
    for (const s of leafSpans(repo.blocks, new NodeCache(), entry.cid, entry.size, 0, entry.size)) {
      leaves++
      if (repo.blocks.location(s.cid)?.base != null) deltas++
    }
    if (deltas === 0) {
      const msg = '!!! NO DELTA-CODED CHUNKS: this store kept the fine-tune standalone (no delta codec in src/codec yet), so the delta read path is untested here !!!'
      process.stderr.write(msg + '\n')
      t.skip(msg)
      return
    }
    const mnt = join(dir, 'mnt')
    const h = await mountStore(repo, mnt, { onError, cacheBytes: 4 << 20, decodeThreads: 1 })
    t.teardown(async () => { await h.unmount() })
    // decode workers start slowly under the test's TypeScript loader; wait, so deltas go through them
    for (let i = 0; i < 600 && h.stats().fetcher.workers < 1; i++) await new Promise(resolve => setTimeout(resolve, 100))
    const file = join(mnt, 'models/org/peft-ft/adapter_model.safetensors')
    const src = join(ftDir, 'adapter_model.safetensors')
    t.equal((await run('cmp', [src, file])).code, 0, `${deltas} of ${leaves} leaves are deltas; cmp of the whole file`)
    const spec = { file: src, ranges: randomRanges(entry.size, 200, 11) }
    t.same((await childPreads([{ ...spec, file }], join(dir, 'spec.json')))[0], sourcePreads(spec), '200 random preads')
    const s = h.stats()
    t.ok(s.fetcher.workerChunks > 0, `${s.fetcher.decodedChunks} leaves decoded (${s.fetcher.workerChunks} on workers, ${s.fetcher.mainThreadChunks} on the main thread), base leaves included`)
    t.same(errors, [])
  })

  t.test('a commit made while mounted appears without remounting', async t => {
    const { repo, dir } = await freshRepo(t)
    const v1 = join(dir, 'v1')
    const v2 = join(dir, 'v2')
    mkdirSync(join(v1, 'sub'), { recursive: true })
    mkdirSync(join(v2, 'sub'), { recursive: true })
    writeFileSync(join(v1, 'a.txt'), 'version one\n')
    writeFileSync(join(v1, 'sub', 'b.csv'), 'x,y\n1,2\n')
    writeFileSync(join(v2, 'a.txt'), 'version two\n') // same size: only the mtime tells the kernel
    writeFileSync(join(v2, 'sub', 'b.csv'), 'x,y\n1,2\n')
    writeFileSync(join(v2, 'c.txt'), 'new file\n')
    const first = await repo.add('datasets/org/live', v1)
    const mnt = join(dir, 'mnt')
    const h = await mountStore(repo, mnt, { onError, refTtlMs: 300 })
    t.teardown(async () => { await h.unmount() })
    const live = join(mnt, 'datasets', 'org', 'live')
    t.equal((await run('cat', [join(live, 'a.txt')])).stdout, 'version one\n')
    t.not((await run('cat', [join(live, 'c.txt')])).code, 0, 'c.txt is not there yet')

    const second = await repo.add('datasets/org/live', v2)
    t.not(second.commit, first.commit)
    let seen = ''
    const deadline = Date.now() + 60_000
    while (Date.now() < deadline) {
      seen = (await run('cat', [join(live, 'a.txt')])).stdout
      if (seen === 'version two\n') break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    t.equal(seen, 'version two\n', 'the branch path shows the new commit (page cache dropped)')
    t.equal((await run('cat', [join(live, 'c.txt')])).stdout, 'new file\n', 'a new file appears')
    t.equal((await run('cat', [join(mnt, 'datasets', 'org', `live@${first.commit}`, 'a.txt')])).stdout, 'version one\n', 'the old commit path still reads the old content')
    t.equal((await run('cat', [join(mnt, 'datasets', 'org', `live@${second.commit}`, 'c.txt')])).stdout, 'new file\n')
    const r = await run('diff', ['-r', v2, live])
    t.equal(r.code, 0, `diff -r of the new head: ${r.stdout}`)

    await repo.setRef('datasets/org/live', 'tags', 'v1', (await repo.resolve('datasets/org/live', first.commit)).cid)
    await new Promise(resolve => setTimeout(resolve, 1500))
    t.match((await run('ls', [join(mnt, 'datasets', 'org')])).stdout, 'live@v1', 'a new tag is listed')
    t.equal((await run('cat', [join(mnt, 'datasets', 'org', 'live@v1', 'a.txt')])).stdout, 'version one\n')
    t.same(errors, [])
  })
}
