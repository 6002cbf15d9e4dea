#!/usr/bin/env node
/**
 * How small can the peft 10-checkpoint chain get with per-weight deltas
 * against the previous checkpoint? For each step, every F32 tensor's residual
 * (the zigzag integer difference of the bit patterns, as delta-sub computes
 * it) is split as the BITS layout does: its bit length L, and the L − 1 bits
 * below the leading one. This prints, per step, the order-0 entropy of L
 * (as tenpak's zstd'd length stream gets close to), of L given the base
 * weight's exponent (a context a plain entropy coder could add), and the raw
 * bits, each summed over tensors; then the chain's total: the first
 * checkpoint as tenpak stores it (measured with encodeChunk) plus the nine
 * steps at the conditional bound. Docs: docs/performance.md, issue 3.
 *
 * Usage: node scripts/bench/residual-entropy.mjs   (needs `npm run build`)
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const { encodeChunk } = await import(join(root, 'dist/src/codec/codecs.js'))
const dir = resolve(root, '../shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints')
const files = readdirSync(dir).filter(f => f.endsWith('.safetensors')).sort()

/** name → { dtype, words (Uint32Array of F32 bit patterns) or bytes } */
function load (file) {
  const b = readFileSync(join(dir, file))
  const n = Number(b.readBigUInt64LE(0))
  const header = JSON.parse(b.subarray(8, 8 + n).toString())
  const data = 8 + n
  const out = new Map()
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue
    const [s, e] = t.data_offsets
    const bytes = new Uint8Array(b.subarray(data + s, data + e))
    out.set(name, { dtype: t.dtype, bytes, words: t.dtype === 'F32' ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : undefined })
  }
  return out
}

/** Σ −c·log2(c/n) over the counts of a Map: bits. */
function bits (counts, n) {
  let h = 0
  for (const c of counts.values()) h -= c * Math.log2(c / n)
  return h
}

function step (a, b) {
  let lenBits = 0
  let lenGivenExp = 0
  let raw = 0
  let words = 0
  for (const [name, t] of b) {
    const base = a.get(name)
    if (t.words == null || base?.words == null || base.words.length !== t.words.length) continue
    const L = new Map()
    const byExp = new Map()
    for (let i = 0; i < t.words.length; i++) {
      const d = t.words[i] - base.words[i] // exact in doubles
      const z = d >= 0 ? 2 * d : -2 * d - 1
      const l = z === 0 ? 0 : Math.floor(Math.log2(z)) + 1
      raw += Math.max(0, l - 1)
      L.set(l, (L.get(l) ?? 0) + 1)
      const e = (base.words[i] >>> 23) & 0xff
      let m = byExp.get(e)
      if (m == null) { m = new Map(); byExp.set(e, m) }
      m.set(l, (m.get(l) ?? 0) + 1)
    }
    lenBits += bits(L, t.words.length)
    for (const m of byExp.values()) lenGivenExp += bits(m, [...m.values()].reduce((x, y) => x + y, 0))
    words += t.words.length
  }
  return { words, lenBits, lenGivenExp, raw }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US')
let prev = load(files[0])
let first = 0
for (const t of prev.values()) first += encodeChunk(t.bytes, { kind: 'tensor', dtype: t.dtype }).data.length
console.log(`first checkpoint (${files[0]}), encodeChunk per tensor: ${fmt(first)} bytes`)
console.log('| step | weights | bit lengths (order 0) | bit lengths given the base exponent | raw bits below the leading one | bound, bytes |')
console.log('|---|---:|---:|---:|---:|---:|')
let total = first
for (let i = 1; i < files.length; i++) {
  const cur = load(files[i])
  const s = step(prev, cur)
  const bound = (s.lenGivenExp + s.raw) / 8
  total += bound
  console.log(`| ${files[i - 1].match(/\d+/)[0]}→${files[i].match(/\d+/)[0]} | ${fmt(s.words)} | ${(s.lenBits / s.words).toFixed(2)} b/w | ${(s.lenGivenExp / s.words).toFixed(2)} b/w | ${(s.raw / s.words).toFixed(2)} b/w | ${fmt(bound)} |`)
  prev = cur
}
console.log(`chain: first checkpoint + nine steps at the conditional bound = ${fmt(total)} bytes (goal 20,000,000)`)
