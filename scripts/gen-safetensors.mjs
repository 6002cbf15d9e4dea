#!/usr/bin/env node
/**
 * Generate a large, deterministic, realistic-looking safetensors file for
 * scale benchmarks (multi-GB, bounded memory). Not real data: claim results
 * only on the real corpus; use this for throughput and memory behaviour.
 *
 * Layout: a Llama-7B-like transformer (hidden 4096, intermediate 11008,
 * vocab 32000): per layer q/k/v/o_proj 4096x4096, gate/up_proj 11008x4096,
 * down_proj 4096x11008, two RMSNorm weights of 4096; then embed_tokens,
 * model.norm and lm_head (layers first so that small files still hold many
 * tensors of different shapes); tensors are added in that order until the size
 * budget is spent, the last one cut to fewer rows so the file is close to --size.
 *
 * Values: matrices ~ N(0, std) with std 0.02 (output projections scaled by
 * 1/sqrt(2·layers) as GPT-2-style init does), norm weights ~ 1 + N(0, 0.02);
 * normals by Box–Muller from a seeded xorshift128 generator, rounded
 * (to nearest even) to the chosen dtype. Written streaming, in 4 MiB blocks.
 *
 * With --finetune-drift X the file is a "fine-tune" of the one the same
 * arguments make without it: every value v becomes v + N(0, X·|v|) (a second,
 * independently seeded generator) before rounding — a full fine-tune's
 * small relative drift, for delta throughput benchmarks.
 *
 *   node scripts/gen-safetensors.mjs --size 2GiB --dtype bf16 --out FILE [--seed 1] [--finetune-drift 0.01]
 */

import { openSync, writeSync, closeSync } from 'node:fs'
import { parseArgs } from 'node:util'

const HELP = `usage: gen-safetensors.mjs --size SIZE --out FILE [--dtype bf16|f16|f32] [--seed N] [--std X] [--finetune-drift X]
  --size   total file size, e.g. 256MiB, 2GiB, 1e9 (bytes)      (required)
  --out    output path                                            (required)
  --dtype  bf16 (default), f16 or f32
  --seed   PRNG seed (default 1); same arguments => same bytes
  --std    standard deviation of weight matrices (default 0.02)
  --finetune-drift X  write the fine-tune of that file instead: v + N(0, X·|v|)`

const { values: args } = parseArgs({
  options: {
    size: { type: 'string' },
    out: { type: 'string' },
    dtype: { type: 'string', default: 'bf16' },
    seed: { type: 'string', default: '1' },
    std: { type: 'string', default: '0.02' },
    'finetune-drift': { type: 'string' },
    help: { type: 'boolean', short: 'h' }
  }
})
if (args.help) { console.log(HELP); process.exit(0) }
if (args.size == null || args.out == null) { console.error(HELP); process.exit(2) }

/** Parse "2GiB", "256MiB", "100MB", "12345". */
function parseSize (s) {
  const m = /^([0-9.e+]+)\s*([KMGT]?i?B?)?$/i.exec(s.trim())
  if (m == null) throw new Error(`bad size: ${s}`)
  const n = Number(m[1])
  const u = (m[2] ?? '').toUpperCase()
  const mult = { '': 1, B: 1, K: 1024, KB: 1e3, KIB: 1024, M: 2 ** 20, MB: 1e6, MIB: 2 ** 20, G: 2 ** 30, GB: 1e9, GIB: 2 ** 30, T: 2 ** 40, TB: 1e12, TIB: 2 ** 40 }[u]
  if (mult == null || !Number.isFinite(n)) throw new Error(`bad size: ${s}`)
  return Math.floor(n * mult)
}

const DTYPES = { bf16: { name: 'BF16', bytes: 2 }, f16: { name: 'F16', bytes: 2 }, f32: { name: 'F32', bytes: 4 } }
const dt = DTYPES[args.dtype.toLowerCase()]
if (dt == null) { console.error(`unknown dtype ${args.dtype}`); process.exit(2) }
const total = parseSize(args.size)
const STD = Number(args.std)
const DRIFT = args['finetune-drift'] != null ? Number(args['finetune-drift']) : 0
if (!(DRIFT >= 0)) { console.error(`bad --finetune-drift ${args['finetune-drift']}`); process.exit(2) }

// ---- layout -------------------------------------------------------------
const H = 4096; const I = 11008; const V = 32000; const L = 32
function * layout () {
  for (let n = 0; ; n++) {
    const p = `model.layers.${n}.`
    const outStd = STD / Math.sqrt(2 * L)
    yield { name: p + 'input_layernorm.weight', shape: [H], kind: 'norm' }
    yield { name: p + 'self_attn.q_proj.weight', shape: [H, H], kind: 'w', std: STD }
    yield { name: p + 'self_attn.k_proj.weight', shape: [H, H], kind: 'w', std: STD }
    yield { name: p + 'self_attn.v_proj.weight', shape: [H, H], kind: 'w', std: STD }
    yield { name: p + 'self_attn.o_proj.weight', shape: [H, H], kind: 'w', std: outStd }
    yield { name: p + 'post_attention_layernorm.weight', shape: [H], kind: 'norm' }
    yield { name: p + 'mlp.gate_proj.weight', shape: [I, H], kind: 'w', std: STD }
    yield { name: p + 'mlp.up_proj.weight', shape: [I, H], kind: 'w', std: STD }
    yield { name: p + 'mlp.down_proj.weight', shape: [H, I], kind: 'w', std: outStd }
    if (n === L - 1) break
  }
  yield { name: 'model.embed_tokens.weight', shape: [V, H], kind: 'w', std: STD }
  yield { name: 'model.norm.weight', shape: [H], kind: 'norm' }
  yield { name: 'lm_head.weight', shape: [V, H], kind: 'w', std: STD }
}

// Header sizes depend on the offsets, so plan with a generous header reserve
// first, then fill the remaining budget exactly once the header is known.
function plan (headerReserve) {
  const budget = total - 8 - headerReserve
  const tensors = []
  let off = 0
  const it = layout()
  for (let t = it.next(); !t.done; t = it.next()) {
    const s = t.value
    const rowBytes = (s.shape.length === 1 ? 1 : s.shape[1]) * dt.bytes
    const full = s.shape.reduce((a, b) => a * b, 1) * dt.bytes
    if (off + full <= budget) { tensors.push({ ...s, offsets: [off, off + full] }); off += full; continue }
    const rows = Math.floor((budget - off) / rowBytes)
    if (rows > 0 && s.shape.length === 2) {
      tensors.push({ ...s, shape: [rows, s.shape[1]], offsets: [off, off + rows * rowBytes] }); off += rows * rowBytes
    }
    break
  }
  return tensors
}
function headerBytes (tensors) {
  const obj = { __metadata__: { format: 'pt', generator: 'tenpak scripts/gen-safetensors.mjs', seed: String(args.seed), std: String(STD), ...(DRIFT > 0 ? { finetune_drift: String(DRIFT) } : {}) } }
  for (const t of tensors) obj[t.name] = { dtype: dt.name, shape: t.shape, data_offsets: t.offsets }
  let text = JSON.stringify(obj)
  const len = Buffer.byteLength(text)
  text += ' '.repeat((8 - (len % 8)) % 8)
  return Buffer.from(text)
}
let tensors = plan(64 * 1024)
if (tensors.length === 0) { console.error('size too small for one tensor row'); process.exit(2) }
let hdr = headerBytes(tensors)
// second pass: give the unused header reserve back to the data (at most a few more rows)
tensors = plan(hdr.length + 64)
hdr = headerBytes(tensors)

// ---- values -------------------------------------------------------------
// xorshift128 (Marsaglia), 32-bit state words, seeded through splitmix32.
let s0, s1, s2, s3
{
  let z = (Number(args.seed) >>> 0) ^ 0x9e3779b9
  const sm = () => {
    z = (z + 0x9e3779b9) | 0
    let x = z
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b); x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
    return (x ^ (x >>> 16)) >>> 0
  }
  s0 = sm(); s1 = sm(); s2 = sm(); s3 = sm() || 1
}
function nextU32 () {
  let t = s3
  const s = s0
  s3 = s2; s2 = s1; s1 = s
  t ^= t << 11; t ^= t >>> 8
  s0 = (t ^ s ^ (s >>> 19)) >>> 0
  return s0
}
// the fine-tune's drift: its own xorshift32 stream, so the base values stay those of the base file
let d0 = ((Number(args.seed) >>> 0) ^ 0x2545f491) || 1
function driftU32 () {
  d0 ^= d0 << 13; d0 >>>= 0; d0 ^= d0 >>> 17; d0 ^= d0 << 5; d0 >>>= 0
  return d0
}
/** v ← v + N(0, DRIFT·|v|) for f32[0..n). */
function addDrift (n) {
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log((driftU32() + 1) * INV32)) * DRIFT
    const a = TWO_PI * driftU32() * INV32
    f32[i] += r * Math.cos(a) * Math.abs(f32[i])
    if (i + 1 < n) f32[i + 1] += r * Math.sin(a) * Math.abs(f32[i + 1])
  }
}
const TWO_PI = 2 * Math.PI
const INV32 = 1 / 4294967296

const BLOCK = 4 * 1024 * 1024 // bytes per write
const f32 = new Float32Array(BLOCK / dt.bytes)
const u32 = new Uint32Array(f32.buffer)
const outBuf = Buffer.alloc(BLOCK)
const out16 = new Uint16Array(outBuf.buffer, outBuf.byteOffset, BLOCK / 2)

/** Fill f32[0..n) with N(mean, std) values. */
function fillNormal (n, mean, std) {
  for (let i = 0; i < n; i += 2) {
    const u1 = (nextU32() + 1) * INV32 // (0, 1]
    const u2 = nextU32() * INV32
    const r = Math.sqrt(-2 * Math.log(u1)) * std
    const a = TWO_PI * u2
    f32[i] = mean + r * Math.cos(a)
    if (i + 1 < n) f32[i + 1] = mean + r * Math.sin(a)
  }
}
/** f32 bits -> bf16, round to nearest even (NaN stays NaN). */
function toBf16 (n) {
  for (let i = 0; i < n; i++) {
    const x = u32[i]
    out16[i] = (x & 0x7fffffff) > 0x7f800000 ? ((x >>> 16) | 0x40) : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16)
  }
}
/** f32 bits -> IEEE half, round to nearest even (enough for |x| well inside range). */
function toF16 (n) {
  for (let i = 0; i < n; i++) {
    const x = u32[i]
    const sign = (x >>> 16) & 0x8000
    const e = ((x >>> 23) & 0xff) - 127 + 15
    let m = x & 0x7fffff
    if (e >= 31) { out16[i] = sign | 0x7c00; continue }
    if (e <= 0) {
      if (e < -10) { out16[i] = sign; continue }
      m |= 0x800000
      const shift = 14 - e
      const half = 1 << (shift - 1)
      let v = m >>> shift
      const rem = m & ((1 << shift) - 1)
      if (rem > half || (rem === half && (v & 1))) v++
      out16[i] = sign | v
      continue
    }
    let v = (e << 10) | (m >>> 13)
    const rem = m & 0x1fff
    if (rem > 0x1000 || (rem === 0x1000 && (v & 1))) v++
    out16[i] = sign | v
  }
}

const fd = openSync(args.out, 'w')
/** writeSync may write less than asked; loop until done. */
function writeAll (buf) {
  for (let o = 0; o < buf.length;) o += writeSync(fd, buf, o, buf.length - o)
}
const prefix = Buffer.alloc(8)
prefix.writeBigUInt64LE(BigInt(hdr.length))
writeAll(prefix); writeAll(hdr)
let written = 8 + hdr.length
for (const t of tensors) {
  let left = (t.offsets[1] - t.offsets[0]) / dt.bytes
  const mean = t.kind === 'norm' ? 1 : 0
  const std = t.kind === 'norm' ? 0.02 : t.std
  while (left > 0) {
    const n = Math.min(left, f32.length)
    fillNormal(n, mean, std)
    if (DRIFT > 0) addDrift(n)
    let bytes
    if (dt.bytes === 4) bytes = Buffer.from(f32.buffer, 0, n * 4)
    else { (dt.name === 'BF16' ? toBf16 : toF16)(n); bytes = outBuf.subarray(0, n * 2) }
    writeAll(bytes)
    written += bytes.length
    left -= n
  }
}
closeSync(fd)
process.stderr.write(`gen-safetensors: ${args.out}: ${written} bytes, ${tensors.length} tensors, ${dt.name}, seed ${args.seed}\n`)
