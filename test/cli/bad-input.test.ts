import t, { type Test } from 'tap'
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { corpusDir } from '../helpers/corpus.js'
import { runCli, tempDir } from '../helpers/store.js'

const ckpt = join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors')
const good = join(corpusDir, 'models/safetensors-format-fixtures')

function safetensors (header: object, dataLen: number): Buffer {
  const json = Buffer.from(JSON.stringify(header))
  const len = Buffer.alloc(8)
  len.writeBigUInt64LE(BigInt(json.length))
  return Buffer.concat([len, json, Buffer.alloc(dataLen, 1)])
}

/** One line on stderr, naming the code; non-zero exit; nothing printed on stdout. */
function assertOneLineError (t: Test, r: ReturnType<typeof runCli>, code: string, what: RegExp): void {
  const err = r.stderr.toString()
  t.not(r.status, 0, 'non-zero exit')
  t.equal(err.trimEnd().split('\n').length, 1, `one line: ${err}`)
  t.match(err, new RegExp(`^tenpak: ${code}: `))
  t.match(err, what)
}

/** After a failed add: the repo was never created, the earlier repo is intact, verify passes. */
function assertStoreIntact (t: Test, store: string, failedRepo: string): void {
  const ls = runCli(['ls', failedRepo], { store })
  t.match(ls.stderr.toString(), /ERR_REPO_NOT_FOUND/, 'no ref points at partial data')
  const v = runCli(['verify', '--json'], { store })
  t.equal(v.status, 0, `verify passes: ${v.stdout.toString().slice(0, 300)}`)
  const out = join(store, '..', `check-${Math.random().toString(36).slice(2)}`)
  t.equal(runCli(['export', 'org/good', out], { store }).status, 0)
  t.equal(spawnSync('diff', ['-r', good, out]).status, 0, 'earlier data intact')
}

const cases: Array<[string, (dir: string) => string, string, RegExp]> = [
  ['a truncated safetensors file', dir => {
    const f = join(dir, 'truncated.safetensors'); writeFileSync(f, readFileSync(ckpt).subarray(0, 1_000_000)); return f
  }, 'ERR_BAD_SAFETENSORS', /truncat|shorter|end/i],
  ['a header length larger than the file', dir => {
    const f = join(dir, 'huge-header.safetensors')
    const b = Buffer.alloc(64); b.writeBigUInt64LE(1_000_000n); writeFileSync(f, b); return f
  }, 'ERR_BAD_SAFETENSORS', /header/i],
  ['overlapping tensor offsets', dir => {
    const f = join(dir, 'overlap.safetensors')
    writeFileSync(f, safetensors({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, 24)); return f
  }, 'ERR_BAD_SAFETENSORS', /overlap/i],
  ['malformed JSON in the header', dir => {
    const f = join(dir, 'json.safetensors')
    const json = Buffer.from('{"a": {"dtype": "F32", ')
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length))
    writeFileSync(f, Buffer.concat([len, json])); return f
  }, 'ERR_BAD_SAFETENSORS', /JSON/i],
  ['a path that does not exist', dir => join(dir, 'no-such-file'), 'ERR_PATH_NOT_FOUND', /no-such-file/]
]

for (const [what, make, code, re] of cases) {
  t.test(`add of ${what} fails with ${code} and loses nothing`, async t => {
    const dir = tempDir(t)
    const store = join(dir, 'store')
    t.equal(runCli(['add', 'org/good', good], { store }).status, 0)
    // a directory holding the bad file and a good one: the whole add must fail
    const src = join(dir, 'src')
    mkdirSync(src)
    const bad = make(src)
    const target = existsSync(bad) ? src : bad
    if (existsSync(bad)) writeFileSync(join(src, 'ok.txt'), 'fine\n')
    const r = runCli(['add', 'org/bad', target], { store })
    assertOneLineError(t, r, code, re)
    assertStoreIntact(t, store, 'org/bad')
  })
}

t.test('unknown repo, revision and path each get their own code', async t => {
  const store = join(tempDir(t), 'store')
  t.equal(runCli(['add', 'org/good', good], { store }).status, 0)
  assertOneLineError(t, runCli(['ls', 'org/missing'], { store }), 'ERR_REPO_NOT_FOUND', /models\/org\/missing/)
  assertOneLineError(t, runCli(['ls', 'org/good@nope'], { store }), 'ERR_REVISION_NOT_FOUND', /nope/)
  assertOneLineError(t, runCli(['cat', 'org/good', 'missing.bin'], { store }), 'ERR_ENTRY_NOT_FOUND', /missing\.bin/)
  assertOneLineError(t, runCli(['log', 'bad name!'], { store }), 'ERR_BAD_REPO_NAME', /bad name/)
  assertOneLineError(t, runCli(['cat', 'org/good', '../etc/passwd'], { store }), 'ERR_BAD_ARGUMENT', /\.\./)
  const usage = runCli(['add'], { store })
  t.equal(usage.status, 2, 'usage errors exit 2')
  t.match(usage.stderr.toString(), /^tenpak: ERR_USAGE: /)
})

t.test('a full disk fails the add with ERR_DISK_FULL and loses nothing', async t => {
  const dir = tempDir(t)
  const mnt = join(dir, 'small')
  mkdirSync(mnt)
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt])
  if (m.status !== 0) {
    t.skip(`SKIPPED LOUDLY: cannot mount a small tmpfs to fill (needs root): ${m.stderr.toString().trim()}`)
    return
  }
  t.teardown(() => { spawnSync('umount', ['-l', mnt]) })
  const store = join(mnt, 'store')
  t.equal(runCli(['add', 'org/good', good], { store }).status, 0)
  // 30 MB of checkpoints into a 6 MB filesystem
  const r = runCli(['add', 'org/big', join(corpusDir, 'models/peft-finegates-roberta-mrpc-checkpoints')], { store })
  assertOneLineError(t, r, 'ERR_DISK_FULL', /no space left/)
  t.same(readdirSync(join(store, 'tmp')), [], 'no temp pack left behind')
  const ls = runCli(['ls', 'org/big'], { store })
  t.match(ls.stderr.toString(), /ERR_REPO_NOT_FOUND/, 'no ref points at partial data')
  const v = runCli(['verify'], { store })
  t.equal(v.status, 0, `verify passes after ENOSPC: ${v.stdout.toString()}${v.stderr.toString()}`)
  const out = join(dir, 'out')
  t.equal(runCli(['export', 'org/good', out], { store }).status, 0)
  t.equal(spawnSync('diff', ['-r', good, out]).status, 0, 'earlier data intact')
})
