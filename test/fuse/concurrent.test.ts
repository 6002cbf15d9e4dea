/**
 * 16 readers at once, in 16 child processes, each reading a different file
 * (sequentially in 1 MiB steps, then at random offsets) through one mount
 * with a small chunk cache: every byte must match the source, and the mount
 * must have had reads in flight together (no head-of-line queueing).
 */
import t from 'tap'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { corpusDir } from '../helpers/corpus.js'
import { freshRepo } from '../helpers/store.js'
import { mountStore } from '../../src/fuse/mount.js'
import { fuseUnavailableReason, skipMessage, childPreads, sourcePreads, randomRanges, type PreadSpec } from './helpers/mount.js'

const reason = fuseUnavailableReason()
const FOLDERS = ['datasets/vega-flights-subsets', 'models/peft-finegates-roberta-mrpc-checkpoints', 'datasets/debian-wordlists', 'models/mediapipe-pose_detection-series', 'datasets/gsm8k-test-socratic']

if (reason != null) {
  process.stderr.write(skipMessage(reason) + '\n')
  t.skip(skipMessage(reason))
} else {
  t.test('16 concurrent readers of different files and offsets all get the right bytes', async t => {
    const { repo, dir } = await freshRepo(t)
    const files: Array<{ src: string, rel: string, size: number }> = []
    for (const folder of FOLDERS) {
      const [kind, name] = folder.split('/')
      await repo.add(`${kind}/test/${name}`, join(corpusDir, folder))
      for (const f of readdirSync(join(corpusDir, folder))) {
        const size = statSync(join(corpusDir, folder, f)).size
        if (f !== 'SOURCE.txt' && size > 0) files.push({ src: join(corpusDir, folder, f), rel: join(kind, 'test', name, f), size })
      }
    }
    files.sort((a, b) => b.size - a.size)
    t.ok(files.length >= 16, `${files.length} files to read`)
    const errors: string[] = []
    const mnt = join(dir, 'mnt')
    // a cache far smaller than what is read, so readers keep decoding side by side
    const h = await mountStore(repo, mnt, { cacheBytes: 8 << 20, decodeThreads: 2, onError: (e, op, p) => errors.push(`${op} ${p}: ${String(e)}`) })
    t.teardown(async () => { await h.unmount() })
    // decode workers start slowly under the test's TypeScript loader; wait, so they take part
    for (let i = 0; i < 600 && h.stats().fetcher.workers < 2; i++) await new Promise(resolve => setTimeout(resolve, 100))
    t.equal(h.stats().fetcher.workers, 2, 'decode workers ready')

    const jobs = files.slice(0, 16).map((f, i) => {
      const seq: Array<[number, number]> = []
      // readers start at different offsets and wrap around
      const start = Math.floor(f.size * i / 16)
      for (let o = start; o < f.size; o += 1 << 20) seq.push([o, Math.min(1 << 20, f.size - o)])
      for (let o = 0; o < start; o += 1 << 20) seq.push([o, Math.min(1 << 20, start - o)])
      const ranges = [...seq, ...randomRanges(f.size, 40, 1000 + i)]
      return { src: { file: f.src, ranges } satisfies PreadSpec, mnt: { file: join(mnt, f.rel), ranges } satisfies PreadSpec }
    })
    const results = await Promise.all(jobs.map(async (j, i) => await childPreads([j.mnt], join(dir, `spec-${i}.json`))))
    for (let i = 0; i < jobs.length; i++) {
      t.same(results[i][0], sourcePreads(jobs[i].src), `reader ${i}: ${jobs[i].mnt.ranges.length} ranges of ${jobs[i].mnt.file}`)
    }
    const s = h.stats()
    t.same(errors, [], 'no read failed')
    t.ok(s.peakConcurrentReads > 1, `reads overlapped: up to ${s.peakConcurrentReads} in flight at once`)
    t.ok(s.fetcher.workerChunks > 0, `${s.fetcher.workerChunks} leaves decoded on worker threads`)
    t.comment(`${s.reads} reads, ${(s.servedBytes / 1048576).toFixed(1)} MiB served, ${s.fetcher.decodedChunks} leaves decoded (${s.fetcher.workerChunks} on workers), cache ${JSON.stringify(s.cache)}`)
  })
}
