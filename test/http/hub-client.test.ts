import t from 'tap'
import { readFileSync, readdirSync, statSync, mkdtempSync, rmSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { listFiles, downloadFile, fileDownloadInfo, modelInfo, datasetInfo, pathsInfo, downloadFileToCacheDir, snapshotDownload } from '@huggingface/hub'
import { corpusServer, corpusFolder, CORPUS_REPOS, sha256 } from './helpers.js'

const corpusFiles = (repo: string): Map<string, number> => {
  const dir = corpusFolder(CORPUS_REPOS[repo])
  return new Map(readdirSync(dir).map(n => [n, statSync(join(dir, n)).size]))
}

t.test('the real @huggingface/hub client lists and downloads from tenpak', async t => {
  // the client announces each cache download on console.debug
  const debug = console.debug
  console.debug = () => {}
  t.teardown(() => { console.debug = debug })
  const { url: hubUrl, repo } = await corpusServer(t, { repos: ['models/corpus/peft', 'datasets/corpus/wordlists'] })
  const model = { type: 'model' as const, name: 'corpus/peft' }
  const dataset = { type: 'dataset' as const, name: 'corpus/wordlists' }

  t.test('listFiles lists every file with its size and LFS sha256', async t => {
    for (const [r, name] of [[model, 'models/corpus/peft'], [dataset, 'datasets/corpus/wordlists']] as const) {
      const listed = new Map<string, number>()
      for await (const e of listFiles({ repo: r, hubUrl, recursive: true })) {
        t.equal(e.type, 'file')
        t.match(e.lfs?.oid, /^[0-9a-f]{64}$/)
        listed.set(e.path, e.size)
      }
      t.same([...listed].sort(), [...corpusFiles(name)].sort(), `${name}: names and sizes match the corpus`)
    }
  })

  t.test('listFiles follows Link pagination', async t => {
    const pages: string[] = []
    // force 3-entry pages: the client must follow rel="next" to see everything
    const paging: typeof fetch = async (input, init) => {
      let u = String(input)
      if (u.includes('/tree/') && !u.includes('cursor=')) u += '&limit=3'
      pages.push(u)
      return await fetch(u, init)
    }
    const names: string[] = []
    for await (const e of listFiles({ repo: model, hubUrl, recursive: true, fetch: paging })) names.push(e.path)
    t.same(names.sort(), [...corpusFiles('models/corpus/peft').keys()].sort())
    t.ok(pages.length >= 4, `${pages.length} pages fetched`)
    t.ok(pages.slice(1).every(p => /\/tree\/[0-9a-f]{40}\?/.test(p)), 'next pages are pinned to the commit')
  })

  t.test('modelInfo / datasetInfo give the commit sha', async t => {
    const res = await repo.resolve('models/corpus/peft')
    const { commitHex } = await import('../../src/repo/repo.js')
    const info = await modelInfo({ name: 'corpus/peft', hubUrl, additionalFields: ['sha', 'siblings'] })
    t.equal(info.name, 'corpus/peft')
    t.equal(info.sha, commitHex(res.cid))
    t.equal(info.siblings.length, corpusFiles('models/corpus/peft').size)
    const dinfo = await datasetInfo({ name: 'corpus/wordlists', hubUrl, additionalFields: ['sha'] })
    t.match(dinfo.sha, /^[0-9a-f]{40}$/)
  })

  t.test('downloadFile returns the exact bytes, and the ETag is their sha256', async t => {
    for (const [r, name, file] of [[model, 'models/corpus/peft', 'checkpoint-0460.adapter_model.safetensors'], [dataset, 'datasets/corpus/wordlists', 'british-english']] as const) {
      const want = readFileSync(join(corpusFolder(CORPUS_REPOS[name]), file))
      const info = await fileDownloadInfo({ repo: r, path: file, hubUrl })
      t.ok(info != null)
      t.equal(info?.size, want.length)
      t.equal(info?.etag, `"${sha256(want)}"`, 'X-Linked-Etag is the quoted sha256')
      const blob = await downloadFile({ repo: r, path: file, hubUrl })
      const got = Buffer.from(await (blob as Blob).arrayBuffer())
      t.equal(sha256(got), sha256(want), `${file}: sha256 matches`)
      t.ok(got.equals(want), `${file}: bytes match`)
    }
    t.equal(await downloadFile({ repo: model, path: 'no-such-file', hubUrl }), null, 'EntryNotFound → null')
  })

  t.test('a resumed download (Range: bytes=N-) completes the file', async t => {
    const file = 'checkpoint-2300.adapter_model.safetensors'
    const want = readFileSync(join(corpusFolder(CORPUS_REPOS['models/corpus/peft']), file))
    const info = await fileDownloadInfo({ repo: model, path: file, hubUrl })
    if (info == null) throw new Error('no download info')
    const blob = await downloadFile({ repo: model, path: file, hubUrl, downloadInfo: info }) as Blob
    // an interrupted download: the first N bytes, through the client's ranged blob
    const N = 1_234_567
    const head = Buffer.from(await blob.slice(0, N).arrayBuffer())
    t.equal(head.length, N)
    // resume as huggingface_hub does: Range: bytes=N- (with If-Range on the ETag)
    const r = await fetch(info.url, { headers: { Range: `bytes=${N}-`, 'If-Range': info.etag } })
    t.equal(r.status, 206)
    t.equal(r.headers.get('content-range'), `bytes ${N}-${want.length - 1}/${want.length}`)
    t.equal(Number(r.headers.get('content-length')), want.length - N)
    const rest = Buffer.from(await r.arrayBuffer())
    const whole = Buffer.concat([head, rest])
    t.equal(`"${sha256(whole)}"`, info.etag, 'resumed file has the advertised sha256')
    t.ok(whole.equals(want), 'resumed file is byte-identical')
    // the client's own slice(N) path (Range: bytes=N-(size-1)) agrees
    const tail = Buffer.from(await blob.slice(N).arrayBuffer())
    t.ok(tail.equals(rest))
  })

  t.test('paths-info, downloadFileToCacheDir and snapshotDownload work against tenpak', async t => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'tenpak-hfcache-'))
    t.teardown(() => { rmSync(cacheDir, { recursive: true, force: true }) })
    const infos = await pathsInfo({ repo: model, paths: ['SOURCE.txt', 'nope', 'checkpoint-0230.adapter_model.safetensors'], hubUrl, expand: true })
    t.same(infos.map(i => i.path).sort(), ['SOURCE.txt', 'checkpoint-0230.adapter_model.safetensors'])
    t.ok(infos.every(i => i.lastCommit != null && /^[0-9a-f]{40}$/.test(i.lastCommit.id)))
    const p = await downloadFileToCacheDir({ repo: dataset, path: 'american-english', hubUrl, cacheDir })
    t.ok(readFileSync(p).equals(readFileSync(join(corpusFolder(CORPUS_REPOS['datasets/corpus/wordlists']), 'american-english'))))
    const snap = await snapshotDownload({ repo: model, hubUrl, cacheDir })
    t.match(realpathSync(snap), /snapshots\/[0-9a-f]{40}$/)
    for (const [name, size] of corpusFiles('models/corpus/peft')) {
      const got = readFileSync(join(snap, name))
      t.equal(got.length, size)
      if (!got.equals(readFileSync(join(corpusFolder(CORPUS_REPOS['models/corpus/peft']), name)))) t.fail(`${name} differs in the snapshot`)
    }
  })
})
