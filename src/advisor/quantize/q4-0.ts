/**
 * GGUF Q4_0 (ggml `block_q4_0`): blocks of 32 values stored as an fp16 scale
 * d followed by 16 bytes; byte j holds element j in its low nibble and element
 * j + 16 in its high nibble. As in ggml's `quantize_row_q4_0_ref`, d = max / -8
 * where max is the element of largest magnitude *with its sign*, so that
 * element maps exactly to code 0 (= -8); q = min(15, trunc(x/d + 8.5));
 * dequantize (q − 8) · d. 18 bytes per 32 weights = 4.5 bits per weight.
 */

import type { ErrorAccumulator } from '../error-stats.js'
import { f16BitsToF32, f32ToF16Bits } from '../float.js'

/** Values per Q4_0 block. */
export const QK4_0 = 32
/** Bytes per Q4_0 block. */
export const Q4_0_BLOCK_BYTES = 18

const fr = Math.fround

/** Quantize `x` (length a multiple of 32) to Q4_0 blocks. */
export function quantizeQ4_0 (x: Float32Array, acc?: ErrorAccumulator): Uint8Array {
  const nb = x.length / QK4_0
  const out = new Uint8Array(nb * Q4_0_BLOCK_BYTES)
  const view = new DataView(out.buffer)
  for (let b = 0; b < nb; b++) {
    const base = b * QK4_0
    let amax = 0
    let max = 0
    for (let j = 0; j < QK4_0; j++) {
      const v = x[base + j]
      if (amax < Math.abs(v)) { amax = Math.abs(v); max = v }
    }
    const d = fr(max / -8)
    const id = d !== 0 ? fr(1 / d) : 0
    const dBits = f32ToF16Bits(d)
    const dh = f16BitsToF32(dBits)
    const o = b * Q4_0_BLOCK_BYTES
    view.setUint16(o, dBits, true)
    for (let j = 0; j < QK4_0 / 2; j++) {
      const x0 = fr(x[base + j] * id)
      const x1 = fr(x[base + QK4_0 / 2 + j] * id)
      // (int8_t)(x + 8.5f) truncates toward zero; x ∈ [-8, 8] so the sum is ≥ 0
      const q0 = Math.min(15, Math.trunc(fr(x0 + 8.5)))
      const q1 = Math.min(15, Math.trunc(fr(x1 + 8.5)))
      out[o + 2 + j] = q0 | (q1 << 4)
      acc?.add(x[base + j], fr((q0 - 8) * dh))
      acc?.add(x[base + QK4_0 / 2 + j], fr((q1 - 8) * dh))
    }
  }
  return out
}
