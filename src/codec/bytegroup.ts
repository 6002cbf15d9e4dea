/**
 * Byte grouping (byte-plane transposition) of little-endian words: the
 * transform behind the `bytegroup-zstd` codec. Plane k holds byte k of every
 * word, so for floats the sign/exponent bytes (very repetitive) land in one
 * plane and the near-random low mantissa bytes in others, and zstd's entropy
 * coder sees each distribution on its own instead of an interleaved mix.
 *
 * Grouped layout, same length as the input: plane 0 (n bytes), plane 1, …,
 * plane w-1, then the `length % w` trailing bytes unchanged, where
 * n = floor(length / w). The pure transform does no I/O and no allocation
 * beyond its output.
 */

import { ErrorCode, TenpakError } from '../errors.js'

/** Largest word size accepted (F64/I64). */
export const MAX_WORD_SIZE = 8

// Typed-array views use the platform byte order; the fast paths below assume
// little-endian and every platform Node ships on today is. Big-endian hosts
// simply take the byte-by-byte path.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Number of whole words (= bytes per plane) in `length` bytes of `w`-byte words. */
export function planeLength (length: number, w: number): number {
  return Math.floor(length / w)
}

function checkArgs (length: number, w: number, out: Uint8Array): void {
  if (!Number.isInteger(w) || w < 1 || w > MAX_WORD_SIZE) {
    throw new TenpakError(ErrorCode.BAD_ARGUMENT, `byte-group word size must be 1..${MAX_WORD_SIZE}, got ${w}`)
  }
  if (out.length !== length) {
    throw new TenpakError(ErrorCode.BAD_ARGUMENT, `byte-group output has ${out.length} bytes, expected ${length}`)
  }
}

/**
 * Whether the word-at-a-time paths apply: w of 2 or 4, `out` 4-byte aligned
 * (a Uint32Array view needs it) and every plane starting on a 4-byte boundary.
 * The input's alignment is fixed up by {@link aligned}.
 */
function wordPathOk (w: number, out: Uint8Array, n: number): boolean {
  return LITTLE_ENDIAN && (w === 2 || w === 4) && (n & 3) === 0 && (out.byteOffset & 3) === 0
}

/** `src`, or a 4-byte-aligned copy of it when it is misaligned. */
function aligned (src: Uint8Array): Uint8Array {
  // memcpy runs at tens of GB/s and the word paths beat the byte loop by
  // several times, so realigning pays for itself. (Not src.slice(): on a
  // Buffer that is a view with the same misalignment.)
  return (src.byteOffset & 3) !== 0 ? new Uint8Array(src) : src
}

/**
 * Split `src`, an array of `w`-byte little-endian words, into `w` byte planes
 * followed by the trailing `src.length % w` bytes. Writes into `out` (default:
 * a new array of `src.length` bytes) and returns it. `out` must not overlap `src`.
 */
export function splitPlanes (src: Uint8Array, w: number, out: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  checkArgs(src.length, w, out)
  const n = planeLength(src.length, w)
  const body = n * w
  if (w === 1) {
    out.set(src)
    return out
  }
  if (wordPathOk(w, out, n)) {
    const s = aligned(src)
    // Each step reads 4 bytes from every position of a 4×4 (w=4) or 2×4 (w=2)
    // tile and writes whole 32-bit words per plane: a quarter of the stores
    // of the byte loop, and no bounds checks on byte-sized accesses.
    const src32 = new Uint32Array(s.buffer, s.byteOffset, body >>> 2)
    const out32 = new Uint32Array(out.buffer, out.byteOffset, body >>> 2)
    const q = n >>> 2
    if (w === 4) splitWords4(src32, out32, q)
    else splitWords2(src32, out32, q)
  } else {
    splitBytes(src, out, w, n)
  }
  if (body < src.length) out.set(src.subarray(body), body)
  return out
}

/**
 * Inverse of {@link splitPlanes}: interleave the `w` planes of `grouped` back
 * into words and append the tail. Writes into `out` (default: a new array of
 * `grouped.length` bytes) and returns it. `out` must not overlap `grouped`.
 */
export function joinPlanes (grouped: Uint8Array, w: number, out: Uint8Array = new Uint8Array(grouped.length)): Uint8Array {
  checkArgs(grouped.length, w, out)
  const n = planeLength(grouped.length, w)
  const body = n * w
  if (w === 1) {
    out.set(grouped)
    return out
  }
  if (wordPathOk(w, out, n)) {
    const g = aligned(grouped)
    const in32 = new Uint32Array(g.buffer, g.byteOffset, body >>> 2)
    const out32 = new Uint32Array(out.buffer, out.byteOffset, body >>> 2)
    const q = n >>> 2
    if (w === 4) joinWords4(in32, out32, q)
    else joinWords2(in32, out32, q)
  } else {
    joinBytes(grouped, out, w, n)
  }
  if (body < grouped.length) out.set(grouped.subarray(body), body)
  return out
}

/**
 * 4×4 byte transpose of q tiles: tile i is words 4i..4i+3 of `a`, and row k of
 * the result goes to word i of plane k (at q·k + i in `b`).
 */
function splitWords4 (a: Uint32Array, b: Uint32Array, q: number): void {
  const q2 = q * 2
  const q3 = q * 3
  for (let i = 0, j = 0; i < q; i++, j += 4) {
    const w0 = a[j]
    const w1 = a[j + 1]
    const w2 = a[j + 2]
    const w3 = a[j + 3]
    b[i] = (w0 & 0xff) | ((w1 & 0xff) << 8) | ((w2 & 0xff) << 16) | (w3 << 24)
    b[q + i] = ((w0 >>> 8) & 0xff) | (w1 & 0xff00) | ((w2 << 8) & 0xff0000) | ((w3 << 16) & 0xff000000)
    b[q2 + i] = ((w0 >>> 16) & 0xff) | ((w1 >>> 8) & 0xff00) | (w2 & 0xff0000) | ((w3 << 8) & 0xff000000)
    b[q3 + i] = (w0 >>> 24) | ((w1 >>> 16) & 0xff00) | ((w2 >>> 8) & 0xff0000) | (w3 & 0xff000000)
  }
}

/**
 * Inverse of {@link splitWords4}: gather word i of each plane and transpose
 * back (a 4×4 byte transpose is its own inverse; only the addressing differs).
 */
function joinWords4 (a: Uint32Array, b: Uint32Array, q: number): void {
  const q2 = q * 2
  const q3 = q * 3
  for (let i = 0, j = 0; i < q; i++, j += 4) {
    const p0 = a[i]
    const p1 = a[q + i]
    const p2 = a[q2 + i]
    const p3 = a[q3 + i]
    b[j] = (p0 & 0xff) | ((p1 & 0xff) << 8) | ((p2 & 0xff) << 16) | (p3 << 24)
    b[j + 1] = ((p0 >>> 8) & 0xff) | (p1 & 0xff00) | ((p2 << 8) & 0xff0000) | ((p3 << 16) & 0xff000000)
    b[j + 2] = ((p0 >>> 16) & 0xff) | ((p1 >>> 8) & 0xff00) | (p2 & 0xff0000) | ((p3 << 8) & 0xff000000)
    b[j + 3] = (p0 >>> 24) | ((p1 >>> 16) & 0xff00) | ((p2 >>> 8) & 0xff0000) | (p3 & 0xff000000)
  }
}

/** Split q tiles of four 16-bit words (two 32-bit reads) into the two planes. */
function splitWords2 (a: Uint32Array, b: Uint32Array, q: number): void {
  for (let i = 0, j = 0; i < q; i++, j += 2) {
    const x = a[j]
    const y = a[j + 1]
    b[i] = (x & 0xff) | ((x >>> 8) & 0xff00) | ((y & 0xff) << 16) | ((y << 8) & 0xff000000)
    b[q + i] = ((x >>> 8) & 0xff) | ((x >>> 16) & 0xff00) | ((y << 8) & 0xff0000) | (y & 0xff000000)
  }
}

/** Inverse of {@link splitWords2}. */
function joinWords2 (a: Uint32Array, b: Uint32Array, q: number): void {
  for (let i = 0, j = 0; i < q; i++, j += 2) {
    const lo = a[i]
    const hi = a[q + i]
    b[j] = (lo & 0xff) | ((hi & 0xff) << 8) | ((lo << 8) & 0xff0000) | ((hi << 16) & 0xff000000)
    b[j + 1] = ((lo >>> 16) & 0xff) | ((hi >>> 8) & 0xff00) | ((lo >>> 8) & 0xff0000) | (hi & 0xff000000)
  }
}

function splitBytes (src: Uint8Array, out: Uint8Array, w: number, n: number): void {
  for (let k = 0; k < w; k++) {
    const plane = out.subarray(k * n, (k + 1) * n)
    for (let i = 0, j = k; i < n; i++, j += w) plane[i] = src[j]
  }
}

function joinBytes (grouped: Uint8Array, out: Uint8Array, w: number, n: number): void {
  for (let k = 0; k < w; k++) {
    const plane = grouped.subarray(k * n, (k + 1) * n)
    for (let i = 0, j = k; i < n; i++, j += w) out[j] = plane[i]
  }
}
