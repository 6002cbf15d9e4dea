/**
 * When FUSE cannot be used, `tenpak mount` exits non-zero with one line that
 * says what to install. Simulated with $TENPAK_FUSE_DEVICE pointing at a
 * device path that does not exist (the check every mount makes first), so
 * this runs on machines with or without FUSE.
 */
import t from 'tap'
import { join } from 'node:path'
import { runCli, tempDir, freshRepo } from '../helpers/store.js'
import { mountStore } from '../../src/fuse/mount.js'
import { checkFuseAvailable } from '../../src/fuse/binding.js'

t.test('tenpak mount without a FUSE device: non-zero exit and an actionable one-line message', async t => {
  const dir = tempDir(t)
  const r = runCli(['mount', join(dir, 'mnt')], { store: join(dir, 'store'), env: { TENPAK_FUSE_DEVICE: '/nonexistent/fuse' } })
  t.not(r.status, 0, 'exits non-zero')
  const err = r.stderr.toString()
  t.equal(err.trim().split('\n').length, 1, `one line: ${err}`)
  t.match(err, /^tenpak: ERR_UNSUPPORTED: FUSE is unavailable: \/nonexistent\/fuse does not exist/)
  t.match(err, /apt-get install fuse3 libfuse2 libfuse-dev/, 'says what to install')
  t.equal(r.stdout.toString(), '', 'prints nothing else')
})

t.test('mountStore rejects with ERR_UNSUPPORTED when the device cannot be opened', async t => {
  const { repo, dir } = await freshRepo(t)
  await t.rejects(mountStore(repo, join(dir, 'mnt'), { fuseDevice: join(dir, 'missing') }), { code: 'ERR_UNSUPPORTED', message: /does not exist/ })
  // a device that exists but refuses access (not a character device: opening a directory r+ fails with EISDIR)
  t.throws(() => { checkFuseAvailable({ device: dir }) }, { code: 'ERR_UNSUPPORTED', message: /FUSE is unavailable/ })
  t.throws(() => { checkFuseAvailable({ device: '/dev/null', envPath: join(dir, 'no-bin') }) }, { code: 'ERR_UNSUPPORTED', message: /fusermount is not installed/ })
})
