/** A real s3rver process for tests, and child-process helpers. */
import { join } from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { tempDir } from '../helpers/store.js'
import { projectRoot } from '../helpers/corpus.js'

export interface Host { teardown: (fn: () => void | Promise<void>) => void }

/** Wait for a line matching `re` on a child's stream. */
export async function waitFor (child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, ms = 60000): Promise<RegExpExecArray> {
  let buf = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`timed out waiting for ${String(re)}; got ${buf.slice(-2000)}`)) }, ms)
    child[stream]?.on('data', (d: Buffer) => {
      buf += String(d)
      const m = re.exec(buf)
      if (m != null) { clearTimeout(timer); resolve(m) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${String(code)} before ${String(re)}: ${buf.slice(-2000)}`)) })
  })
}

export async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  child.kill('SIGTERM')
  await once(child, 'exit')
}

/** A real s3rver process on 127.0.0.1 with bucket `tenpak-test`. */
export async function startS3rver (t: Host): Promise<string> {
  const dir = tempDir(t)
  const child = spawn(process.execPath, [join(projectRoot, 'node_modules/s3rver/bin/s3rver.js'), '-d', dir, '-a', '127.0.0.1', '-p', '0', '--configure-bucket', 'tenpak-test'], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(async () => { await stop(child) })
  const m = await waitFor(child, 'stdout', /listening on ([\d.]+):(\d+)/)
  return `http://${m[1]}:${m[2]}`
}

