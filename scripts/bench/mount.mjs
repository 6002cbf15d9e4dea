#!/usr/bin/env node
/**
 * Mount benchmark, in one run on one machine:
 *
 *   1. sequential read GB/s of a 2 GiB bf16 safetensors file through a real
 *      FUSE mount (`mountStore`), cold (fresh mount: empty chunk cache and no
 *      kernel page cache for the mounted file; the store's pack files may be in
 *      the OS cache) and warm (the same file read again through the same mount),
 *      against the peer measured in the same run: reading the original file
 *      (from the OS page cache, as it was just written or read);
 *      Also through the mount's own read path with the kernel page cache
 *      bypassed (O_DIRECT reads by dd) and a chunk cache big enough for the
 *      file, read twice: what userspace serves once its cache is warm;
 *   2. read amplification (leaf bytes decoded ÷ bytes served to the kernel, and
 *      ÷ bytes the application asked for) for a from_pretrained-like pattern:
 *      read the 8-byte length, the JSON header, then each tensor in file order,
 *      on a fresh mount; and for a sparse pattern (8 tensors spread over the
 *      file), where readahead could overshoot;
 *   3. the store's decode speed alone (BlockStore.getSync over the first 2,000 leaves, in
 *      this process), which bounds the cold number.
 *
 * Readers are child processes (the process serving FUSE must not read its own
 * mount). Prints ratios against the peer; never gates on absolute times.
 * The machine's load average is printed: numbers from a busy machine are low.
 *
 *   npm run build && node scripts/bench/mount.mjs [--size 2GiB] [--work DIR] [--runs N] [--keep]
 *
 * The file comes from scripts/gen-safetensors.mjs (synthetic N(0, 0.02) bf16
 * weights: realistic for throughput, not for compression claims). --work
 * (default $TMPDIR/tenpak-bench-mount) keeps the file and the store between
 * runs; --keep leaves them there at the end (they are removed otherwise).
 */

import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, openSync, readSync, closeSync, statSync, rmSync } from 'node:fs'
import { tmpdir, loadavg, cpus } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '../..')

// ---- reader mode (child process) -------------------------------------------
if (process.argv[2] === '--reader') {
  const [, , , mode, file] = process.argv
  const fd = openSync(file, 'r')
  const t0 = process.hrtime.bigint()
  let bytes = 0
  const buf = Buffer.allocUnsafe(16 << 20)
  const readAt = (pos, len) => {
    let got = 0
    while (got < len) {
      const n = readSync(fd, buf, got, Math.min(len - got, buf.length - got), pos + got)
      if (n === 0) break
      got += n
    }
    bytes += got
    return got
  }
  if (mode === 'seq') {
    const size = statSync(file).size
    for (let pos = 0; pos < size; pos += 1 << 20) readAt(pos, Math.min(1 << 20, size - pos))
  } else {
    // from_pretrained-like: length prefix, header, then tensors in file order (each in ≤16 MiB reads)
    readAt(0, 8)
    const n = Number(buf.readBigUInt64LE(0))
    const hdr = Buffer.alloc(n)
    let got = 0
    while (got < n) got += readSync(fd, hdr, got, n - got, 8 + got)
    bytes += n
    const json = JSON.parse(hdr.toString('utf8'))
    let tensors = Object.entries(json).filter(([k]) => k !== '__metadata__').map(([, v]) => v.data_offsets).sort((a, b) => a[0] - b[0])
    if (mode === 'sparse') tensors = tensors.filter((_, i) => i % Math.max(1, Math.floor(tensors.length / 8)) === 0).slice(0, 8)
    for (const [s, e] of tensors) {
      for (let pos = s; pos < e; pos += buf.length) readAt(8 + n + pos, Math.min(buf.length, e - pos))
    }
  }
  closeSync(fd)
  const ns = Number(process.hrtime.bigint() - t0)
  process.stdout.write(JSON.stringify({ bytes, seconds: ns / 1e9 }))
  process.exit(0)
}

// ---- driver ------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '2GiB' },
    work: { type: 'string', default: join(tmpdir(), 'tenpak-bench-mount') },
    runs: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    'decode-threads': { type: 'string' },
    'cache-size': { type: 'string', default: '256MiB' },
    'kernel-readahead': { type: 'string' }
  }
})

const { createRepo } = await import(join(root, 'dist/src/index.js'))
const { mountStore } = await import(join(root, 'dist/src/fuse/mount.js'))
const { leafSpans, NodeCache } = await import(join(root, 'dist/src/repo/read.js'))
const { parseSize } = await import(join(root, 'dist/daemon/config.js'))

const work = args.work
const runs = Math.max(1, Number(args.runs))
mkdirSync(work, { recursive: true })
const srcDir = join(work, 'src')
const file = join(srcDir, 'model.safetensors')
const want = parseSize(args.size)
const GB = 1e9

function log (...a) { process.stderr.write(a.join(' ') + '\n') }

// 1. the file
if (!existsSync(file) || Math.abs(statSync(file).size - want) > 1 << 20) {
  mkdirSync(srcDir, { recursive: true })
  log(`generating ${args.size} bf16 safetensors at ${file} …`)
  const g = spawnSync(process.execPath, [join(root, 'scripts/gen-safetensors.mjs'), '--size', String(want), '--dtype', 'bf16', '--out', file], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (g.status !== 0) throw new Error('gen-safetensors failed')
  rmSync(join(work, 'store'), { recursive: true, force: true })
}
const size = statSync(file).size

// 2. the store
const repo = await createRepo({ dir: join(work, 'store') })
let added
try {
  await repo.stat('org/bench', undefined, 'model.safetensors')
  added = 'reused'
} catch {
  log('adding to the store …')
  const t0 = performance.now()
  const r = await repo.add('org/bench', srcDir)
  added = `added in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(r.newStoredBytes / size * 100).toFixed(1)} % stored)`
}
const entry = await repo.stat('org/bench', undefined, 'model.safetensors')

async function reader (mode, path) {
  return await new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--reader', mode, path], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', b => { out += b })
    c.on('error', reject)
    c.on('exit', code => code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`reader ${mode} exited ${code}`)))
  })
}

const mountOpts = {
  cacheBytes: parseSize(args['cache-size']),
  decodeThreads: args['decode-threads'] != null ? Number(args['decode-threads']) : undefined,
  kernelReadaheadKb: args['kernel-readahead'] != null ? Number(args['kernel-readahead']) : undefined,
  onError: (e, op, p) => log('mount error', op, p, String(e))
}
const mnt = join(work, 'mnt')
const mounted = join(mnt, 'models/org/bench/model.safetensors')

async function withMount (fn, extra = {}) {
  const h = await mountStore(repo, mnt, { ...mountOpts, ...extra })
  try {
    // decode workers start in parallel with the mount; let them come up so cold means cold data, not thread startup
    for (let i = 0; i < 100 && h.stats().fetcher.workers < (mountOpts.decodeThreads ?? 1); i++) await new Promise(resolve => setTimeout(resolve, 20))
    return await fn(h)
  } finally {
    await h.unmount()
  }
}

async function ddDirect (path) {
  return await new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const c = spawn('dd', [`if=${path}`, 'of=/dev/null', 'bs=1M', 'iflag=direct'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    c.stderr.on('data', b => { err += b })
    c.on('error', reject)
    c.on('exit', code => code === 0 ? resolve({ bytes: size, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }) : reject(new Error(`dd: ${err}`)))
  })
}

// 3. decode alone, in this process, over the first 2,000 leaves (≈ 500 MiB), once per run
const spans = [...leafSpans(repo.blocks, new NodeCache(), entry.cid, entry.size, 0, entry.size)]
const decodeRuns = []
function decodeAlone () {
  const t0 = performance.now()
  let n = 0
  for (const s of spans.slice(0, 2000)) n += repo.blocks.getSync(s.cid).length
  decodeRuns.push(n / ((performance.now() - t0) / 1000) / GB)
}

const results = { original: [], cold: [], warm: [], direct: [], amplification: [], sparse: [] }
let kernelRa
for (let run = 0; run < runs; run++) {
  log(`run ${run + 1}/${runs} …`)
  // the peer and the warm read alternate, three times each, so both see the same machine load
  await withMount(async h => {
    results.cold.push(await reader('seq', mounted))
    const s = h.stats()
    results.cold.at(-1).decoded = s.fetcher.decodedBytes
    results.cold.at(-1).served = s.servedBytes
    kernelRa = h.kernelReadaheadKb
    for (let i = 0; i < 3; i++) {
      results.original.push(await reader('seq', file))
      const before = h.stats().servedBytes
      results.warm.push(await reader('seq', mounted))
      results.warm.at(-1).served = h.stats().servedBytes - before
    }
  })
  await withMount(async h => {
    const r = await reader('pretrained', mounted)
    const s = h.stats()
    results.amplification.push({ ...r, served: s.servedBytes, decoded: s.fetcher.decodedBytes, reads: s.reads })
  })
  await withMount(async h => {
    const r = await reader('sparse', mounted)
    const s = h.stats()
    results.sparse.push({ ...r, served: s.servedBytes, decoded: s.fetcher.decodedBytes })
  })
  decodeAlone()
  // last: its cache holds the whole file
  await withMount(async h => {
    await ddDirect(mounted)
    const before = h.stats().fetcher.decodedBytes
    results.direct.push(await ddDirect(mounted))
    results.direct.at(-1).decoded = h.stats().fetcher.decodedBytes - before
  }, { cacheBytes: Math.ceil(size * 1.1) })
}

await repo.close()

await repo.close()
const decodeGBs = Math.max(...decodeRuns)
const best = xs => Math.max(...xs)
const gbs = r => r.bytes / r.seconds / GB
const orig = best(results.original.map(gbs))
const cold = best(results.cold.map(gbs))
const warmBest = results.warm.reduce((a, b) => gbs(b) > gbs(a) ? b : a)
const warm = gbs(warmBest)
const direct = best(results.direct.map(gbs))
const amp = results.amplification.reduce((a, b) => gbs(b) > gbs(a) ? b : a)
const sparse = results.sparse.at(-1)
const f2 = x => x.toFixed(2)
const f3 = x => x.toFixed(3)

const out = {
  machine: { cpus: cpus().length, loadavg: loadavg().map(x => Number(x.toFixed(2))), kernelReadaheadKb: kernelRa },
  file: { bytes: size, leaves: spans.length, store: added },
  runs,
  sequentialGBs: { original: orig, mountCold: cold, mountWarm: warm, mountWarmDirect: direct, coldVsOriginal: cold / orig, warmVsOriginal: warm / orig, warmDirectVsOriginal: direct / orig, warmServedFromFuse: warmBest.served, warmDirectDecoded: results.direct.at(-1).decoded },
  decodeOnlyGBs: decodeGBs,
  amplification: {
    fromPretrained: { decodedOverServed: amp.decoded / amp.served, decodedOverRequested: amp.decoded / amp.bytes, requested: amp.bytes, served: amp.served, decoded: amp.decoded, GBs: gbs(amp) },
    sparse8Tensors: { decodedOverServed: sparse.decoded / sparse.served, decodedOverRequested: sparse.decoded / sparse.bytes, requested: sparse.bytes, served: sparse.served, decoded: sparse.decoded },
    coldSequential: { decodedOverServed: results.cold.at(-1).decoded / results.cold.at(-1).served }
  }
}
console.log(`tenpak mount benchmark: ${(size / 2 ** 30).toFixed(2)} GiB bf16 safetensors, ${spans.length} leaves, ${cpus().length} CPUs, load ${out.machine.loadavg.join(' ')}, kernel readahead ${kernelRa ?? '?'} KiB, best of ${runs} (warm and original: best of ${3 * runs})`)
console.log('')
console.log('sequential read (1 MiB reads)       GB/s   × original')
console.log(`  original file (OS page cache)     ${f2(orig).padStart(5)}   1.00`)
console.log(`  mount, cold (fresh mount)         ${f2(cold).padStart(5)}   ${f2(cold / orig)}`)
console.log(`  mount, warm (second read)         ${f2(warm).padStart(5)}   ${f2(warm / orig)}   (${(warmBest.served / 2 ** 20).toFixed(1)} MiB of it through FUSE, the rest from the page cache)`)
console.log(`  mount, warm chunk cache, O_DIRECT ${f2(direct).padStart(5)}   ${f2(direct / orig)}   (userspace read path; ${(results.direct.at(-1).decoded / 2 ** 20).toFixed(1)} MiB decoded again)`)
console.log(`  mount, cold, from_pretrained-like ${f2(gbs(amp)).padStart(5)}   ${f2(gbs(amp) / orig)}   (header, then each tensor in order; ≤ 16 MiB reads)`)
console.log(`  store decode alone (getSync)      ${f2(decodeGBs).padStart(5)}   ${f2(decodeGBs / orig)}`)
console.log('')
console.log('read amplification                  decoded ÷ served   decoded ÷ requested')
console.log(`  from_pretrained-like (all)        ${f3(out.amplification.fromPretrained.decodedOverServed).padStart(8)}           ${f3(out.amplification.fromPretrained.decodedOverRequested)}`)
console.log(`  sparse (8 tensors)                ${f3(out.amplification.sparse8Tensors.decodedOverServed).padStart(8)}           ${f3(out.amplification.sparse8Tensors.decodedOverRequested)}`)
console.log(`  cold sequential                   ${f3(out.amplification.coldSequential.decodedOverServed).padStart(8)}`)
console.log('')
console.log(`goals: warm ≥ 1.5 GB/s: ${warm >= 1.5 ? 'met' : 'NOT met'}; amplification ≤ 1.05: ${out.amplification.fromPretrained.decodedOverServed <= 1.05 ? 'met' : 'NOT met'}`)
console.log(JSON.stringify(out))
if (!args.keep) rmSync(work, { recursive: true, force: true })
