import t from 'tap'
import { createWriteStream, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { runCli, spawnCli, tempDir } from '../helpers/store.js'

/** A 160 MiB file of mixed, partly compressible bytes, so add takes a while and seals several packs. */
async function bigFile (dir: string): Promise<string> {
  const f = join(dir, 'data.bin')
  const out = createWriteStream(f)
  let x = 12345
  for (let i = 0; i < 160; i++) {
    const b = Buffer.allocUnsafe(1 << 20)
    for (let j = 0; j < b.length; j += 4) { x = (x * 1664525 + 1013904223) >>> 0; b.writeUInt32LE(j % 64 < 32 ? x : i, j) }
    if (!out.write(b)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return f
}

t.test('SIGKILL in the middle of add leaves a store that verify passes and that accepts the same add again', async t => {
  const dir = tempDir(t)
  const src = join(dir, 'src')
  spawnSync('mkdir', [src])
  const file = await bigFile(src)
  for (const delay of [150, 500, 1200]) {
    const store = join(dir, `store-${delay}`)
    const child = spawnCli(['add', 'org/big', src], { store, env: { TENPAK_PACK_TARGET: String(16 << 20) } })
    await new Promise(resolve => setTimeout(resolve, delay))
    const killed = child.kill('SIGKILL')
    await once(child, 'exit')
    t.ok(killed, `killed after ${delay} ms`)
    const ls = runCli(['ls', 'org/big'], { store })
    const v = runCli(['verify', '--json'], { store })
    t.equal(v.status, 0, `verify passes after SIGKILL at ${delay} ms: ${v.stdout.toString().slice(0, 400)}`)
    if (ls.status === 0) t.comment(`add at ${delay} ms had already finished`)
    const again = runCli(['add', 'org/big', src, '--json'], { store })
    t.equal(again.status, 0, again.stderr.toString())
    const out = join(dir, `out-${delay}`)
    t.equal(runCli(['export', 'org/big', out], { store }).status, 0)
    t.equal(spawnSync('cmp', [file, join(out, 'data.bin')]).status, 0, 'exported file identical')
    const gc = runCli(['gc', '--json'], { store })
    t.equal(gc.status, 0)
    t.equal(runCli(['verify'], { store }).status, 0, 'verify passes after gc')
    t.same(readdirSync(join(store, 'tmp')), [], 'no temp packs left')
  }
})
