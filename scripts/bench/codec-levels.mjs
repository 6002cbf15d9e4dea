#!/usr/bin/env node
/**
 * Codec level benchmark: size ratio and encode/decode MB/s of plain zstd and
 * of the bytegroup-zstd policy (encodeChunk) per zstd level, on
 *   (a) the F32 peft checkpoints, cut like the safetensors chunker will (header
 *       chunk + per-tensor pieces of at most 256 KiB),
 *   (b) the same checkpoints cast to BF16 (test/helpers/bf16.ts),
 *   (c) JSONL/CSV/JSON text from the dataset corpus in 64 KiB chunks,
 * plus peers measured in the same run: `zstd -19` of the whole file (size) and
 * `zstd -1 -T1` of the whole file (wall time), and byte-plane split/join MB/s.
 * Prints ratios; never gates anything on absolute times.
 *
 * Run from the project root (TypeScript sources are loaded through tap's loader):
 *   node --import @tapjs/typescript/import scripts/bench/codec-levels.mjs [--quick]
 */

import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { joinPlanes, splitPlanes } from '../../src/codec/bytegroup.js'
import { createChunkCodec, DEFAULT_PLANE_PARAMS, DEFAULT_TENSOR_LEVEL, DEFAULT_TEXT_LEVEL } from '../../src/codec/codecs.js'
import { createZstd } from '../../src/codec/zstd.js'
import { castSafetensorsToBf16, parseSafetensorsHeader } from '../../test/helpers/bf16.js'

const QUICK = process.argv.includes('--quick')
const CORPUS = new URL('../../../shared/corpus/', import.meta.url).pathname
const PEFT = join(CORPUS, 'models/peft-finegates-roberta-mrpc-checkpoints')
const LEVELS = QUICK ? [1, 3, 19] : [-1, 1, 2, 3, 6, 9, 19]
const PIECE = 256 * 1024
const TEXT_CHUNK = 64 * 1024
const MIN_SECONDS = QUICK ? 0.05 : 0.25

const zstd = createZstd()
const codec = createChunkCodec()

/** Header chunk + per-tensor pieces of ≤ 256 KiB, as the safetensors chunker cuts them. */
function tensorPieces (buf) {
  const h = parseSafetensorsHeader(buf)
  const pieces = [{ bytes: buf.subarray(0, h.dataStart), hint: { kind: 'header' } }]
  for (const t of h.tensors) {
    const [s, e] = t.data_offsets
    for (let o = s; o < e; o += PIECE) {
      pieces.push({ bytes: buf.subarray(h.dataStart + o, h.dataStart + Math.min(e, o + PIECE)), hint: { kind: 'tensor', dtype: t.dtype } })
    }
  }
  return pieces
}

function textPieces (buf) {
  const pieces = []
  for (let o = 0; o < buf.length; o += TEXT_CHUNK) pieces.push({ bytes: buf.subarray(o, o + TEXT_CHUNK), hint: { kind: 'records' } })
  return pieces
}

/**
 * Seconds per run of fn: the fastest of at least 5 runs spanning MIN_SECONDS.
 * The minimum, not the mean, because the machine is shared and noise only
 * ever adds time.
 */
function time (fn) {
  let runs = 0
  let best = Infinity
  const t0 = process.hrtime.bigint()
  do {
    const t = process.hrtime.bigint()
    fn()
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9)
    runs++
  } while (runs < 5 || Number(process.hrtime.bigint() - t0) / 1e9 < MIN_SECONDS)
  return best
}

/**
 * Encode then decode every piece; returns stored bytes and MB/s both ways.
 * Each piece is timed `reps` times and its fastest run counts: the machine is
 * shared and noise only ever adds time.
 */
function measure (pieces, enc, reps = 5) {
  const raw = pieces.reduce((s, p) => s + p.bytes.length, 0)
  const encoded = []
  let tEnc = 0
  let tDec = 0
  for (const p of pieces) {
    let e
    let best = Infinity
    for (let r = 0; r < reps; r++) {
      const t = process.hrtime.bigint()
      e = enc(p)
      best = Math.min(best, Number(process.hrtime.bigint() - t))
    }
    tEnc += best
    encoded.push(e)
    best = Infinity
    for (let r = 0; r < Math.max(reps, 3); r++) {
      const t = process.hrtime.bigint()
      codec.decodeChunk(e.codec, e.data, p.bytes.length)
      best = Math.min(best, Number(process.hrtime.bigint() - t))
    }
    tDec += best
  }
  const stored = encoded.reduce((s, e) => s + e.data.length, 0)
  return { raw, stored, encMBs: raw / tEnc * 1e3, decMBs: raw / tDec * 1e3, codecs: countCodecs(encoded) }
}

function countCodecs (encoded) {
  const c = {}
  for (const e of encoded) c[e.codec] = (c[e.codec] ?? 0) + 1
  return Object.entries(c).map(([k, v]) => `${['raw', 'zstd', 'bg'][k] ?? k}:${v}`).join(' ')
}

/** Plain zstd of one piece, raw when it does not shrink: the "no byte grouping" baseline. */
function plainAt (level) {
  return p => {
    const d = zstd.compress(p.bytes, level)
    return d.length < p.bytes.length ? { codec: 1, data: d } : { codec: 0, data: p.bytes }
  }
}

/** The encodeChunk policy with every zstd level set to `level` (planes without overrides). */
function policyAt (level) {
  return p => codec.encodeChunk(p.bytes, p.hint, { planes: level, tensorLevel: level, textLevel: level })
}

/** The encodeChunk policy with planes at `level` plus the default match-finder overrides. */
function tunedAt (level) {
  const planes = { ...DEFAULT_PLANE_PARAMS, level }
  return p => codec.encodeChunk(p.bytes, p.hint, { planes, tensorLevel: level, textLevel: level })
}

const fmt = (x, d = 4) => x.toFixed(d)
function table (title, rows) {
  console.log(`\n### ${title}\n`)
  console.log('| variant | level | stored/raw | encode MB/s | decode MB/s | codecs |')
  console.log('|---|---:|---:|---:|---:|---|')
  for (const r of rows) console.log(`| ${r.variant} | ${r.level} | ${fmt(r.stored / r.raw)} | ${fmt(r.encMBs, 0)} | ${fmt(r.decMBs, 0)} | ${r.codecs} |`)
}

function levelTable (title, pieces, variants) {
  const rows = []
  for (const [variant, make] of variants) {
    for (const level of LEVELS) rows.push({ variant, level, ...measure(pieces, make(level), level >= 9 ? 1 : 5) })
  }
  rows.push({ variant: '**default policy**', level: '', ...measure(pieces, p => codec.encodeChunk(p.bytes, p.hint)) })
  table(title, rows)
  return rows
}

// ---------------------------------------------------------------- corpus
const peftFiles = readdirSync(PEFT).filter(f => f.endsWith('.safetensors')).sort().map(f => join(PEFT, f))
const f32Files = (QUICK ? peftFiles.slice(0, 2) : peftFiles).map(f => ({ path: f, buf: readFileSync(f) }))
const bf16Files = f32Files.map(f => ({ path: f.path, buf: castSafetensorsToBf16(f.buf) }))
const f32Pieces = f32Files.flatMap(f => tensorPieces(f.buf))
const bf16Pieces = bf16Files.flatMap(f => tensorPieces(f.buf))

const TEXT_FILES = [
  'gsm8k-test-socratic/train.jsonl',
  'gsm8k-test-socratic/test.jsonl',
  'vega-flights-subsets/flights-20k.json',
  'vega-flights-subsets/weather.csv'
]
const latest = dir => join(dir, readdirSync(join(CORPUS, 'datasets', dir)).filter(f => f.endsWith('.csv')).sort().at(-1))
TEXT_FILES.push(latest('oil-prices-brent-daily-git-series'), latest('sp500-constituents-git-series'))
const textBufs = TEXT_FILES.map(f => readFileSync(join(CORPUS, 'datasets', f)))
const textPiecesAll = textBufs.flatMap(textPieces)

console.log(`# codec levels (${QUICK ? 'quick' : 'full'}), node ${process.version}`)
console.log(`f32: ${f32Files.length} peft checkpoints, ${f32Pieces.length} pieces; text: ${TEXT_FILES.length} files, ${textPiecesAll.length} chunks of 64 KiB`)
console.log(`defaults: planes ${JSON.stringify(DEFAULT_PLANE_PARAMS)}, whole tensor chunks level ${DEFAULT_TENSOR_LEVEL}, text level ${DEFAULT_TEXT_LEVEL}`)

levelTable('(a) F32 peft checkpoints, per-tensor ≤256 KiB pieces', f32Pieces, [['zstd', plainAt], ['bytegroup', policyAt], ['bytegroup mm7/hl8', tunedAt]])
levelTable('(b) same cast to BF16', bf16Pieces, [['zstd', plainAt], ['bytegroup', policyAt], ['bytegroup mm7/hl8', tunedAt]])
levelTable('(c) JSONL/CSV/JSON text, 64 KiB chunks', textPiecesAll, [['zstd (policy)', policyAt]])

// ---------------------------------------------------------------- requirements and peers
console.log('\n### per checkpoint: default policy vs whole-file zstd -19 (size) and zstd -1 (time)\n')
const haveCli = spawnSync('zstd', ['--version']).status === 0
if (haveCli) {
  const r = spawnSync('zstd', ['-19', '-T1', '-q', '-c', f32Files[0].path], { maxBuffer: 1 << 26 })
  console.log(`CLI zstd -19 of ${f32Files[0].path.split('/').at(-1)}: ${r.stdout.length} bytes (binding level 19: ${zstd.compress(f32Files[0].buf, 19).length})`)
}
console.log('Times: encodeChunk over all pieces (min of runs); zstd -1 of the whole file in-process (same libzstd); `zstd -b1 -T1` (CLI in-memory benchmark, no process start); CLI wall time of `zstd -1 -T1 -c file` incl. process start.\n')
console.log('| file | zstd -19 file | f32 default | ÷ -19 | bf16 default ÷ raw | encode ms | in-process -1 ms | ÷ | CLI -b1 ms | ÷ | CLI wall ms | ÷ |')
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
let allOk = true
const cliBench = path => {
  const r = spawnSync('zstd', ['-b1', '-T1', '-i2', path], { encoding: 'utf8' })
  // Progress lines are separated by \r and arrive in no fixed order; the
  // final result is the one that also carries the decompression speed.
  const speeds = [...`${r.stdout}${r.stderr}`.matchAll(/,\s*([\d.]+) MB\/s,\s*[\d.]+ MB\/s/g)].map(m => Number(m[1]))
  return speeds.length === 0 ? NaN : Math.max(...speeds)
}
for (let i = 0; i < f32Files.length; i++) {
  const { path, buf } = f32Files[i]
  const pieces = tensorPieces(buf)
  const z19 = zstd.compress(buf, 19).length
  const stored = pieces.reduce((s, p) => s + codec.encodeChunk(p.bytes, p.hint).data.length, 0)
  const bPieces = tensorPieces(bf16Files[i].buf)
  const bStored = bPieces.reduce((s, p) => s + codec.encodeChunk(p.bytes, p.hint).data.length, 0)
  const bRaw = bf16Files[i].buf.length
  // Ours and the in-process peer alternate so load spikes hit both alike.
  let tEnc = Infinity
  let tZ1 = Infinity
  for (let r = 0; r < (QUICK ? 10 : 30); r++) {
    let t = process.hrtime.bigint()
    for (const p of pieces) codec.encodeChunk(p.bytes, p.hint)
    tEnc = Math.min(tEnc, Number(process.hrtime.bigint() - t) / 1e9)
    t = process.hrtime.bigint()
    zstd.compress(buf, 1)
    tZ1 = Math.min(tZ1, Number(process.hrtime.bigint() - t) / 1e9)
  }
  let bench = NaN
  let wall = NaN
  if (haveCli) {
    bench = buf.length / cliBench(path) / 1e6
    wall = time(() => spawnSync('zstd', ['-1', '-T1', '-q', '-c', path], { stdio: ['ignore', 'ignore', 'ignore'] }))
  }
  const ok = stored < z19 && bStored <= 0.70 * bRaw
  allOk &&= ok
  const ms = x => fmt(x * 1e3, 2)
  console.log(`| ${path.split('/').at(-1).slice(0, 15)} | ${z19} | ${stored} | ${fmt(stored / z19)} | ${fmt(bStored / bRaw)} | ${ms(tEnc)} | ${ms(tZ1)} | ${fmt(tEnc / tZ1, 2)} | ${ms(bench)} | ${fmt(tEnc / bench, 2)} | ${ms(wall)} | ${fmt(tEnc / wall, 2)} |`)
}
console.log(`\nrequirements (f32 < zstd -19 of file, bf16 ≤ 0.70 raw): ${allOk ? 'met' : 'NOT MET'}`)

// ---------------------------------------------------------------- transform speed
console.log('\n### byte-plane split/join throughput (256 KiB)\n')
console.log('| w | path | split MB/s | join MB/s |')
console.log('|---:|---|---:|---:|')
const sample = new Uint8Array(PIECE)
for (let i = 0; i < sample.length; i++) sample[i] = (i * 2654435761) >>> 24
for (const w of [2, 4, 8]) {
  for (const path of ['word (aligned)', 'byte (unaligned out)']) {
    // An output at an odd offset forces the byte-by-byte path.
    const mk = () => path.startsWith('word') ? new Uint8Array(sample.length) : new Uint8Array(sample.length + 1).subarray(1)
    if (w === 8 && path.startsWith('word')) continue
    const a = mk()
    const b = mk()
    const ts = time(() => splitPlanes(sample, w, a))
    const tj = time(() => joinPlanes(a, w, b))
    console.log(`| ${w} | ${w === 8 ? 'byte (generic)' : path} | ${fmt(sample.length / ts / 1e6, 0)} | ${fmt(sample.length / tj / 1e6, 0)} |`)
  }
}
