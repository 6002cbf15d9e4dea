/**
 * `tenpak serve --mount DIR`: one process serves the store over HTTP and as
 * a FUSE view; a push over HTTP shows up in the mount without remounting;
 * SIGTERM unmounts and exits 0; an unusable FUSE device fails serve with the
 * same actionable line as `tenpak mount`, leaving no server behind.
 */
import t from 'tap'
import { join } from 'node:path'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { corpusDir } from '../helpers/corpus.js'
import { runCli, spawnCli, tempDir } from '../helpers/store.js'
import { findMount } from '../../src/fuse/binding.js'
import { fuseUnavailableReason, skipMessage, run } from './helpers/mount.js'

const reason = fuseUnavailableReason()
const SRC = join(corpusDir, 'datasets/vega-flights-subsets')
const MODEL = join(corpusDir, 'models/mediapipe-palm_detection_full-repack')

t.test('serve --mount with an unusable FUSE device: one actionable line, non-zero exit', async t => {
  const dir = tempDir(t)
  const store = join(dir, 'store')
  const r = runCli(['serve', '--port', '0', '--mount', join(dir, 'mnt')], { store, env: { TENPAK_FUSE_DEVICE: join(dir, 'no-such-fuse') } })
  t.not(r.status, 0, 'exits non-zero')
  t.match(String(r.stderr), /^tenpak: ERR_[A-Z_]+: .*(install|fuse)/im, String(r.stderr))
})

if (reason != null) {
  process.stderr.write(skipMessage(reason) + '\n')
  t.skip(skipMessage(reason))
} else {
  t.test('serve --mount: HTTP and FUSE views of one store, pushes appear in the mount', async t => {
    const dir = tempDir(t)
    const store = join(dir, 'store')
    t.equal(runCli(['add', 'datasets/org/flights', SRC], { store }).status, 0)
    const mnt = join(dir, 'mnt')
    t.teardown(async () => { if (findMount(mnt) != null) await run('fusermount', ['-uz', mnt]) })
    const child = spawnCli(['serve', '--port', '0', '--write-token', 'sekret-token-0123456789', '--mount', mnt], { store })
    let err = ''
    child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
    const deadline = Date.now() + 60_000
    while (!err.includes('"mounted"') && child.exitCode == null && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    t.match(err, '"mounted"', 'the mount is up')
    const url = /"url":"([^"]+)"/.exec(err)?.[1]
    t.ok(url, 'the server logged its URL')

    t.equal((await run('diff', ['-r', SRC, join(mnt, 'datasets/org/flights')])).code, 0, 'diff -r through the mount')
    const res = await fetch(`${String(url)}/datasets/org/flights/resolve/main/weather.csv`)
    t.equal(res.status, 200)
    t.same(Buffer.from(await res.arrayBuffer()), readFileSync(join(SRC, 'weather.csv')), 'the same bytes over HTTP')

    // a second store pushes a model to this server; the mount shows it without remounting
    const other = join(dir, 'other')
    t.equal(runCli(['add', 'models/org/palm', MODEL], { store: other }).status, 0)
    t.equal(runCli(['remote', 'add', 'origin', String(url), '--token', 'sekret-token-0123456789'], { store: other }).status, 0)
    const push = runCli(['push', 'origin', 'models/org/palm'], { store: other })
    t.equal(push.status, 0, push.stderr)
    let d = { code: 1 as number | null }
    for (let i = 0; i < 50 && d.code !== 0; i++) {
      d = await run('diff', ['-r', MODEL, join(mnt, 'models/org/palm')])
      if (d.code !== 0) await new Promise(resolve => setTimeout(resolve, 200))
    }
    t.equal(d.code, 0, 'the pushed model reads back through the mount')

    child.kill('SIGTERM')
    const [code] = await once(child, 'exit') as [number | null]
    t.equal(code, 0, `exits 0 on SIGTERM: ${err.slice(-500)}`)
    t.equal(findMount(mnt), undefined, 'unmounted at shutdown')
  })
}
