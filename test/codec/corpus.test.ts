import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { compress } from 'zstd-napi'
import { createChunkCodec } from '../../src/codec/codecs.js'
import type { EncodeHint } from '../../src/codec/types.js'
import { equals } from '../../src/util/bytes.js'
import { castSafetensorsToBf16, parseSafetensorsHeader } from '../helpers/bf16.js'

const PEFT = fileURLToPath(new URL('../../../shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints/', import.meta.url))
const skip = existsSync(PEFT) ? false : 'corpus not present'
const files = skip === false ? readdirSync(PEFT).filter(f => f.endsWith('.safetensors')).sort() : []

/** Cut a safetensors file as the chunker does: the header, then ≤256 KiB pieces of each tensor. */
function pieces (buf: Uint8Array): Array<{ bytes: Uint8Array, hint: EncodeHint }> {
  const h = parseSafetensorsHeader(buf)
  const out: Array<{ bytes: Uint8Array, hint: EncodeHint }> = [{ bytes: buf.subarray(0, h.dataStart), hint: { kind: 'header' } }]
  for (const x of h.tensors) {
    for (let o = x.data_offsets[0]; o < x.data_offsets[1]; o += 256 * 1024) {
      const end = Math.min(x.data_offsets[1], o + 256 * 1024)
      out.push({ bytes: buf.subarray(h.dataStart + o, h.dataStart + end), hint: { kind: 'tensor', dtype: x.dtype } })
    }
  }
  return out
}

/** Total stored size of a file's pieces, and how many failed to decode back. */
function encodeFile (buf: Uint8Array): { stored: number, bad: number } {
  const codec = createChunkCodec()
  let stored = 0
  let bad = 0
  for (const p of pieces(buf)) {
    const enc = codec.encodeChunk(p.bytes, p.hint)
    stored += enc.data.length
    if (!equals(codec.decodeChunk(enc.codec, enc.data, p.bytes.length), p.bytes)) bad++
  }
  return { stored, bad }
}

t.test('f32 peft checkpoints store smaller than zstd -19 of the whole file', { skip }, async t => {
  t.equal(files.length, 10)
  // zstd -19 of a 3 MB checkpoint takes ~0.5 s, so the baseline is computed
  // for the first, middle and last checkpoint only (scripts/bench/codec-levels.mjs
  // checks all ten); every checkpoint must also beat 0.90 of raw, which is
  // below what zstd -19 reaches on any of them (0.903–0.906).
  const baseline = new Set([files[0], files[5], files[9]])
  for (const f of files) {
    const buf = new Uint8Array(readFileSync(PEFT + f))
    const { stored, bad } = encodeFile(buf)
    t.equal(bad, 0, `${f}: every piece decodes back`)
    t.ok(stored < 0.90 * buf.length, `${f}: ${stored} = ${(stored / buf.length).toFixed(4)} of raw`)
    if (baseline.has(f)) {
      const z19 = compress(buf, { compressionLevel: 19 }).length
      t.ok(stored < z19, `${f}: ${stored} < ${z19} (zstd -19 of the file)`)
    }
  }
})

t.test('bf16-cast peft checkpoints store at ≤ 0.70 of raw', { skip }, async t => {
  for (const f of files) {
    const bf16 = castSafetensorsToBf16(new Uint8Array(readFileSync(PEFT + f)))
    const { stored, bad } = encodeFile(bf16)
    t.equal(bad, 0, `${f} (bf16): every piece decodes back`)
    t.ok(stored <= 0.70 * bf16.length, `${f} (bf16): ${stored} / ${bf16.length} = ${(stored / bf16.length).toFixed(4)}`)
  }
})
