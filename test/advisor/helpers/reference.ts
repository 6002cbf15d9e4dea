/**
 * Test-only reference decoders written from the format specs, independent
 * of src/advisor/float.ts, so quantizer output is checked against a second
 * implementation.
 */

/** IEEE binary16 → number, from the spec (1 sign, 5 exponent bits bias 15, 10 mantissa bits). */
export function refHalf (h: number): number {
  const s = h >> 15 ? -1 : 1
  const e = (h >> 10) & 31
  const m = h & 1023
  if (e === 0) return s * Math.pow(2, -14) * (m / 1024)
  if (e === 31) return m ? NaN : s * Infinity
  return s * Math.pow(2, e - 15) * (1 + m / 1024)
}

/** OCP FP8 E4M3FN → number (bias 7, no inf, S.1111.111 = NaN). */
export function refE4M3 (b: number): number {
  const s = b & 0x80 ? -1 : 1
  const e = (b >> 3) & 15
  const m = b & 7
  if (e === 15 && m === 7) return NaN
  if (e === 0) return s * Math.pow(2, -6) * (m / 8)
  return s * Math.pow(2, e - 7) * (1 + m / 8)
}

/** Deterministic pseudo-random normal values (mulberry32 + Box-Muller). */
export function randomNormal (n: number, seed = 1, scale = 0.02): Float32Array {
  let a = seed >>> 0
  const rand = (): number => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12)
    const v = rand()
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  return out
}

/** Relative RMS and max abs error, recomputed from scratch. */
export function refError (x: ArrayLike<number>, y: ArrayLike<number>): { rel: number, maxAbs: number, sqnr: number } {
  let sx = 0
  let se = 0
  let maxAbs = 0
  for (let i = 0; i < x.length; i++) {
    const e = x[i] - y[i]
    sx += x[i] * x[i]
    se += e * e
    maxAbs = Math.max(maxAbs, Math.abs(e))
  }
  return { rel: Math.sqrt(se / sx), maxAbs, sqnr: 10 * Math.log10(sx / se) }
}

/** Collect a sink's chunks. */
export function memorySink (): { sink: (c: Uint8Array) => void, bytes: () => Uint8Array } {
  const parts: Uint8Array[] = []
  return {
    sink: (c: Uint8Array) => { parts.push(c.slice()) },
    bytes: () => {
      const n = parts.reduce((s, p) => s + p.length, 0)
      const out = new Uint8Array(n)
      let o = 0
      for (const p of parts) { out.set(p, o); o += p.length }
      return out
    }
  }
}

/** Async iterable over in-memory tensors. */
export async function * fromTensors<T> (list: T[]): AsyncGenerator<T> {
  for (const t of list) yield t
}

/** F32 little-endian bytes of values. */
export function f32le (x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength))
}
