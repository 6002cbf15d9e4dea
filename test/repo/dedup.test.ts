import t from 'tap'
import { join } from 'node:path'
import { readdirSync, statSync } from 'node:fs'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo, runCli, tempDir } from '../helpers/store.js'

t.test('adding an unchanged tree again stores 0 new bytes and makes no commit', async t => {
  const { repo } = await freshRepo(t)
  const src = join(corpusDir, 'models/mediapipe-pose_detection-series')
  const first = await repo.add('org/pose', src)
  t.ok(first.newStoredBytes > 0)
  t.equal(first.unchanged, false)
  const again = await repo.add('org/pose', src)
  t.equal(again.newStoredBytes, 0)
  t.equal(again.unchanged, true)
  t.equal(again.commit, first.commit)
  t.equal((await repo.log('org/pose')).length, 1)
})

t.test('the same data under another repo stores only a commit, and no data bytes', async t => {
  const { repo } = await freshRepo(t)
  const src = join(corpusDir, 'datasets/debian-wordlists')
  const first = await repo.add('datasets/a/words', src)
  const before = await repo.stats()
  const second = await repo.add('datasets/b/words', src)
  const after = await repo.stats()
  t.equal(after.uniqueDataBytes, before.uniqueDataBytes, 'no new data chunks')
  t.ok(second.newStoredBytes < 2048, `only a commit and manifest: ${second.newStoredBytes} bytes`)
  t.not(second.commit, first.commit)
})

t.test('CLI add --json reports commit, repo, files, logicalBytes, newStoredBytes', async t => {
  const store = join(tempDir(t), 'store')
  const src = join(corpusDir, 'datasets/gsm8k-test-socratic')
  const r = runCli(['add', 'datasets/openai/gsm8k', src, '-m', 'import', '--json'], { store })
  t.equal(r.status, 0, r.stderr.toString())
  const j = JSON.parse(r.stdout.toString())
  const names = readdirSync(src)
  t.match(j, { repo: 'datasets/openai/gsm8k', files: names.length, logicalBytes: names.reduce((s, n) => s + statSync(join(src, n)).size, 0) })
  t.match(j.commit, /^bafy/)
  t.ok(j.newStoredBytes > 0 && j.newStoredBytes < j.logicalBytes)
  const again = JSON.parse(runCli(['add', 'datasets/openai/gsm8k', src, '--json'], { store }).stdout.toString())
  t.equal(again.newStoredBytes, 0)
})
