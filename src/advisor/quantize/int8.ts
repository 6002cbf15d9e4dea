/**
 * bitsandbytes-style INT8 (LLM.int8() weight format): each row of a 2-D
 * weight is scaled by its absolute maximum (SCB, fp32) so that the largest
 * element maps to ±127, then rounded half-to-even (torch.round). Dequantize:
 * q · SCB / 127. Outlier decomposition is an activation-time feature of
 * LLM.int8() and does not change the stored weights, so it is not modelled.
 */

import type { ErrorAccumulator } from '../error-stats.js'
import { roundHalfEven } from '../float.js'

const fr = Math.fround
/** 1/127 as bitsandbytes spells it (int8_vectorwise_dequant). */
const INV127 = fr(7.874015718698502e-3)

/** Encoded rows: int8 codes (row-major) and one fp32 scale per row. */
export interface Int8Rows {
  codes: Int8Array
  scb: Float32Array
}

/**
 * Quantize `rows × cols` values row by row. Each reconstructed value is fed to
 * `acc` (computed from the stored codes, so the report measures the file).
 * An all-zero row gets SCB 0 and codes 0 (bitsandbytes would divide by zero).
 */
export function quantizeInt8Rows (x: Float32Array, rows: number, cols: number, acc?: ErrorAccumulator): Int8Rows {
  const codes = new Int8Array(rows * cols)
  const scb = new Float32Array(rows)
  for (let r = 0; r < rows; r++) {
    const base = r * cols
    let amax = 0
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(x[base + c])
      if (a > amax) amax = a
    }
    scb[r] = amax
    for (let c = 0; c < cols; c++) {
      const v = x[base + c]
      let q = 0
      if (amax > 0) {
        // torch evaluates A * 127.0 / row_stats left to right in fp32
        q = roundHalfEven(fr(fr(v * 127) / amax))
        if (q > 127) q = 127
        else if (q < -127) q = -127
      }
      codes[base + c] = q
      acc?.add(v, dequantInt8(q, amax))
    }
  }
  return { codes, scb }
}

/** One INT8 value back to float: q · SCB · (1/127), in fp32 as bitsandbytes does. */
export function dequantInt8 (q: number, scb: number): number {
  return fr(fr(q * scb) * INV127)
}
