/**
 * FP8 E4M3 with one fp32 scale per tensor, the layout vLLM's `fp8` method
 * produces and loads (`weight` in F8_E4M3 + `weight_scale`): scale =
 * absmax / 448, q = e4m3(clamp(x / scale, ±448)), dequantize q · scale.
 */

import type { ErrorAccumulator } from '../error-stats.js'
import { E4M3_MAX, e4m3ToF32, f32ToE4M3 } from '../float.js'

const fr = Math.fround

/** Per-tensor scale for an absmax; an all-zero tensor gets scale 1 (nothing to scale). */
export function fp8Scale (absmax: number): number {
  return absmax > 0 ? fr(absmax / E4M3_MAX) : 1
}

/** max |x| */
export function absMax (x: Float32Array): number {
  let m = 0
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i])
    if (a > m) m = a
  }
  return m
}

/** Encode values with a given per-tensor scale; reconstructions go to `acc`. */
export function quantizeFp8 (x: Float32Array, scale: number, acc?: ErrorAccumulator): Uint8Array {
  const out = new Uint8Array(x.length)
  for (let i = 0; i < x.length; i++) {
    const q = f32ToE4M3(fr(x[i] / scale))
    out[i] = q
    acc?.add(x[i], fr(e4m3ToF32(q) * scale))
  }
  return out
}
