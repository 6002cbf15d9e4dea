#!/usr/bin/env node
/**
 * Cast the F32 tensors of real safetensors files to BF16 (round to nearest
 * even, as torch `.to(torch.bfloat16)` does; NaN stays NaN) and write valid
 * safetensors: same names, shapes, order and metadata, offsets recomputed,
 * header space-padded to a multiple of 8. Other dtypes are copied unchanged.
 * Reads and writes one tensor at a time, so memory is bounded by the largest
 * tensor. Same rounding as test/helpers/bf16.ts, kept standalone so the
 * benchmark needs no TypeScript loader.
 *
 *   node scripts/bench/cast-bf16.mjs OUT_DIR IN.safetensors...
 */

import { openSync, readSync, writeSync, closeSync, fstatSync } from 'node:fs'
import { basename, join } from 'node:path'

const [outDir, ...inputs] = process.argv.slice(2)
if (outDir == null || inputs.length === 0 || outDir === '--help' || outDir === '-h') {
  console.error('usage: cast-bf16.mjs OUT_DIR IN.safetensors...')
  process.exit(outDir === '--help' || outDir === '-h' ? 0 : 2)
}

function readExactly (fd, len, pos) {
  const buf = Buffer.alloc(len)
  for (let o = 0; o < len;) {
    const n = readSync(fd, buf, o, len - o, pos + o)
    if (n === 0) throw new Error('unexpected end of file')
    o += n
  }
  return buf
}
function writeAll (fd, buf) {
  for (let o = 0; o < buf.length;) o += writeSync(fd, buf, o, buf.length - o)
}

for (const inPath of inputs) {
  const fd = openSync(inPath, 'r')
  const size = fstatSync(fd).size
  const n = Number(readExactly(fd, 8, 0).readBigUInt64LE(0))
  if (8 + n > size) throw new Error(`${inPath}: header runs past the end`)
  const json = JSON.parse(readExactly(fd, n, 8).toString('utf8'))
  const dataStart = 8 + n
  const tensors = Object.entries(json).filter(([k]) => k !== '__metadata__')
    .map(([name, t]) => ({ name, ...t }))
    .sort((a, b) => a.data_offsets[0] - b.data_offsets[0])
  const placed = new Map()
  let off = 0
  for (const t of tensors) {
    const len = t.data_offsets[1] - t.data_offsets[0]
    const newLen = t.dtype === 'F32' ? len / 2 : len
    placed.set(t.name, [off, off + newLen]); off += newLen
  }
  const outHeader = {}
  for (const [name, v] of Object.entries(json)) {
    outHeader[name] = name === '__metadata__' ? v : { dtype: v.dtype === 'F32' ? 'BF16' : v.dtype, shape: v.shape, data_offsets: placed.get(name) }
  }
  let text = JSON.stringify(outHeader)
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8)
  const hdr = Buffer.from(text)
  const outPath = join(outDir, basename(inPath).replace(/\.safetensors$/, '') + '.bf16.safetensors')
  const out = openSync(outPath, 'w')
  const prefix = Buffer.alloc(8); prefix.writeBigUInt64LE(BigInt(hdr.length))
  writeAll(out, prefix); writeAll(out, hdr)
  for (const t of tensors) {
    const [s, e] = t.data_offsets
    const src = readExactly(fd, e - s, dataStart + s)
    if (t.dtype !== 'F32') { writeAll(out, src); continue }
    const dst = Buffer.alloc((e - s) / 2)
    for (let i = 0, j = 0; j < src.length; i += 2, j += 4) {
      const x = src.readUInt32LE(j)
      const b = (x & 0x7fffffff) > 0x7f800000 ? (((x >>> 16) | 0x40) & 0xffff) : (((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff)
      dst.writeUInt16LE(b, i)
    }
    writeAll(out, dst)
  }
  closeSync(out); closeSync(fd)
}
