/**
 * Shared types of the native quantizers: the tensors they read (streamed one
 * at a time) and the identifiers of the five calibration-free schemes tenpak
 * implements itself.
 */

/** The native quantizers, by id. */
export const NativeQuantizer = {
  /** bitsandbytes LLM.int8()-style: int8 per row, fp32 absmax per row (SCB) */
  INT8: 'int8',
  /** bitsandbytes NF4: 4-bit NormalFloat codes, blocks of 64, fp32 absmax per block */
  NF4: 'nf4',
  /** FP8 E4M3 with one fp32 scale per tensor (vLLM "fp8" checkpoint layout) */
  FP8: 'fp8',
  /** GGUF Q8_0: blocks of 32 = fp16 scale + 32 × int8 */
  Q8_0: 'q8_0',
  /** GGUF Q4_0: blocks of 32 = fp16 scale + 16 bytes of nibbles */
  Q4_0: 'q4_0'
} as const

/** One of {@link NativeQuantizer}. */
export type NativeQuantizerId = typeof NativeQuantizer[keyof typeof NativeQuantizer]

/** All native quantizer ids, in a stable order. */
export const NATIVE_QUANTIZERS: readonly NativeQuantizerId[] = Object.values(NativeQuantizer)

/** True when `id` names a native quantizer. */
export function isNativeQuantizer (id: string): id is NativeQuantizerId {
  return (NATIVE_QUANTIZERS as readonly string[]).includes(id)
}

/** A tensor's description, as a safetensors header gives it. */
export interface TensorSpec {
  name: string
  /** safetensors dtype, e.g. 'F32', 'F16', 'BF16', 'I64' */
  dtype: string
  /** shape in PyTorch order (row-major, last dimension fastest) */
  shape: readonly number[]
}

/** A tensor with its little-endian data, as streamed to the quantizers. */
export interface TensorInput extends TensorSpec {
  data: Uint8Array
}

/** Where output bytes go, in order. Awaited before the next write. */
export type ByteSink = (chunk: Uint8Array) => Promise<void> | void
