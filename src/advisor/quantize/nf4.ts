/**
 * bitsandbytes NF4 (QLoRA's 4-bit NormalFloat): the flattened tensor is cut
 * into blocks of 64; each block is divided by its absolute maximum (stored as
 * fp32, no double quantization) and each value replaced by the index of the
 * nearest of the 16 NF4 levels. Two indices per byte, the *even* element in
 * the high nibble (bitsandbytes packs `q[::2] << 4 | q[1::2]`).
 */

import type { ErrorAccumulator } from '../error-stats.js'

/** Block size bitsandbytes uses by default for 4-bit weights. */
export const NF4_BLOCK_SIZE = 64

/**
 * The NF4 code table, exactly as bitsandbytes publishes it (the fp32 values of
 * `get_4bit_type("nf4")`, also hard-coded in its CPU/Triton kernels).
 */
export const NF4_CODE: readonly number[] = Object.freeze([
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0
])

const fr = Math.fround

/** Encoded NF4 tensor: packed nibbles and one fp32 absmax per block. */
export interface Nf4Encoded {
  /** ceil(n / 2) bytes */
  packed: Uint8Array
  /** ceil(n / 64) scales */
  absmax: Float32Array
}

/** Index of the nearest NF4 level to `s` (in [-1, 1]); ties go to the lower index like torch.argmin. */
export function nearestNf4 (s: number): number {
  let best = 0
  let bestD = Infinity
  for (let i = 0; i < 16; i++) {
    const d = fr(Math.abs(fr(s - NF4_CODE[i])))
    if (d < bestD) { bestD = d; best = i }
  }
  return best
}

/**
 * Quantize a flattened tensor to NF4. The last block may be partial (its
 * absmax covers only its own elements, as bitsandbytes does). An all-zero
 * block stores absmax 0 and the code of 0.0 (index 7).
 */
export function quantizeNf4 (x: Float32Array, acc?: ErrorAccumulator): Nf4Encoded {
  const n = x.length
  const blocks = Math.ceil(n / NF4_BLOCK_SIZE)
  const packed = new Uint8Array(Math.ceil(n / 2))
  const absmax = new Float32Array(blocks)
  for (let b = 0; b < blocks; b++) {
    const start = b * NF4_BLOCK_SIZE
    const end = Math.min(n, start + NF4_BLOCK_SIZE)
    let amax = 0
    for (let i = start; i < end; i++) {
      const a = Math.abs(x[i])
      if (a > amax) amax = a
    }
    absmax[b] = amax
    const inv = amax > 0 ? fr(1 / amax) : 0
    for (let i = start; i < end; i++) {
      let q = 7
      if (amax > 0) {
        let s = fr(x[i] * inv)
        if (s > 1) s = 1
        else if (s < -1) s = -1
        q = nearestNf4(s)
      }
      if ((i & 1) === 0) packed[i >> 1] = q << 4
      else packed[i >> 1] |= q
      acc?.add(x[i], fr(NF4_CODE[q] * amax))
    }
  }
  return { packed, absmax }
}

/**
 * The bitsandbytes quant-state JSON stored as
 * `<name>.quant_state.bitsandbytes__nf4` (uint8 tensor of UTF-8 bytes), with
 * Python's `json.dumps` spacing so the bytes match what bitsandbytes writes.
 */
export function nf4QuantStateJson (shape: readonly number[], dtype: string): string {
  const torchDtype = dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32'
  return `{"quant_type": "nf4", "blocksize": ${NF4_BLOCK_SIZE}, "dtype": "${torchDtype}", "shape": [${shape.join(', ')}]}`
}
