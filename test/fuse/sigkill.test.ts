/**
 * Lifecycle of `tenpak mount` as a child process: SIGKILL it, then mount
 * again at the same path and read. With the default auto-unmount, fusermount
 * removes the dead mount itself; with --no-auto-unmount the dead mount stays
 * (ENOTCONN) and the next mount detects and clears it. SIGTERM and SIGINT
 * unmount cleanly and exit 0.
 */
import t from 'tap'
import { join } from 'node:path'
import { once } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import { corpusDir } from '../helpers/corpus.js'
import { runCli, spawnCli, tempDir } from '../helpers/store.js'
import { findMount } from '../../src/fuse/binding.js'
import { fuseUnavailableReason, skipMessage, run } from './helpers/mount.js'

const reason = fuseUnavailableReason()
const SRC = join(corpusDir, 'datasets/vega-flights-subsets')

/** Start `tenpak mount` and wait for its "mounted" line. */
async function startMount (store: string, mnt: string, extra: string[] = []): Promise<{ child: ChildProcess, stdout: () => string, stderr: () => string }> {
  const child = spawnCli(['mount', mnt, ...extra], { store })
  let out = ''
  let err = ''
  child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  const deadline = Date.now() + 60_000
  while (!out.includes('mounted ') && child.exitCode == null && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  if (!out.includes('mounted ')) throw new Error(`tenpak mount did not start: ${err}`)
  return { child, stdout: () => out, stderr: () => err }
}

if (reason != null) {
  process.stderr.write(skipMessage(reason) + '\n')
  t.skip(skipMessage(reason))
} else {
  t.test('SIGKILL the mounting process, mount again at the same path: it works', async t => {
    const dir = tempDir(t)
    const store = join(dir, 'store')
    t.equal(runCli(['add', 'datasets/org/flights', SRC], { store }).status, 0)
    const mnt = join(dir, 'mnt')
    const file = join(mnt, 'datasets/org/flights/weather.csv')
    t.teardown(async () => { if (findMount(mnt) != null) await run('fusermount', ['-uz', mnt]) })

    for (const mode of ['auto-unmount', 'no-auto-unmount']) {
      const extra = mode === 'no-auto-unmount' ? ['--no-auto-unmount'] : []
      const m1 = await startMount(store, mnt, extra)
      t.equal((await run('cmp', [join(SRC, 'weather.csv'), file])).code, 0, `${mode}: reads before the kill`)
      m1.child.kill('SIGKILL')
      await once(m1.child, 'exit')
      await new Promise(resolve => setTimeout(resolve, 300))
      if (mode === 'no-auto-unmount') {
        const st = await run('stat', [mnt])
        t.match(st.stderr, /not connected/, 'the killed mount is left stale (ENOTCONN)')
      } else {
        // libfuse's auto_unmount helper notices the death asynchronously: give it up to 10 s on a loaded machine
        for (let i = 0; i < 100 && findMount(mnt) != null; i++) await new Promise(resolve => setTimeout(resolve, 100))
        t.equal(findMount(mnt), undefined, 'fusermount removed the dead mount')
      }
      const m2 = await startMount(store, mnt, extra)
      if (mode === 'no-auto-unmount') t.match(m2.stdout(), 'cleared a stale mount', 'the stale mount was detected and cleared')
      t.equal((await run('cmp', [join(SRC, 'weather.csv'), file])).code, 0, `${mode}: reads after mounting again`)
      const d = await run('diff', ['-r', SRC, join(mnt, 'datasets/org/flights')])
      t.equal(d.code, 0, 'diff -r after mounting again')
      m2.child.kill(mode === 'auto-unmount' ? 'SIGTERM' : 'SIGINT')
      const [code] = await once(m2.child, 'exit') as [number | null]
      t.equal(code, 0, `exits 0 on a signal: ${m2.stderr()}`)
      t.match(m2.stdout(), 'unmounted')
      t.equal(findMount(mnt), undefined, 'nothing left mounted')
    }
  })
}
