/**
 * GGUF Q8_0 (ggml `block_q8_0`): blocks of 32 values, each stored as an fp16
 * scale d = absmax / 127 followed by 32 int8 q = roundf(x / d). 34 bytes per
 * 32 weights = 8.5 bits per weight. Follows ggml's `quantize_row_q8_0_ref`,
 * including its use of the fp32 reciprocal of d (not of the fp16-rounded d).
 */

import type { ErrorAccumulator } from '../error-stats.js'
import { f16BitsToF32, f32ToF16Bits, roundHalfAway } from '../float.js'

/** Values per Q8_0 block. */
export const QK8_0 = 32
/** Bytes per Q8_0 block. */
export const Q8_0_BLOCK_BYTES = 34

const fr = Math.fround

/** Quantize `x` (length a multiple of 32) to Q8_0 blocks. */
export function quantizeQ8_0 (x: Float32Array, acc?: ErrorAccumulator): Uint8Array {
  const nb = x.length / QK8_0
  const out = new Uint8Array(nb * Q8_0_BLOCK_BYTES)
  const view = new DataView(out.buffer)
  for (let b = 0; b < nb; b++) {
    const base = b * QK8_0
    let amax = 0
    for (let j = 0; j < QK8_0; j++) {
      const a = Math.abs(x[base + j])
      if (a > amax) amax = a
    }
    const d = fr(amax / 127)
    const id = d !== 0 ? fr(1 / d) : 0
    const dBits = f32ToF16Bits(d)
    const dh = f16BitsToF32(dBits)
    const o = b * Q8_0_BLOCK_BYTES
    view.setUint16(o, dBits, true)
    for (let j = 0; j < QK8_0; j++) {
      const q = roundHalfAway(fr(x[base + j] * id))
      view.setInt8(o + 2 + j, q)
      acc?.add(x[base + j], fr(q * dh))
    }
  }
  return out
}
