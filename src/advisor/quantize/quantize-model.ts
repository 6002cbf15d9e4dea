/**
 * Model-level quantization: plan the output file from the tensor table, then
 * stream tensors through a native quantizer one at a time and write the
 * result (safetensors for int8/nf4/fp8, GGUF v3 for q8_0/q4_0) to a sink,
 * measuring the error of every quantized tensor from the bytes actually
 * written. Memory is bounded by the largest tensor: one decoded fp32 copy
 * plus its encoded form. Which tensors are quantized, the output layouts and
 * the sampling used for speed are documented in docs/advisor.md.
 */

import { createHash } from 'node:crypto'
import { BadInputError, ErrorCode, TenpakError } from '../../errors.js'
import { throwIfAborted, type AbortOptions, type ProgressOptions } from '../../util/options.js'
import { ErrorAccumulator, type ErrorFigures } from '../error-stats.js'
import { decodeFloats, isFloatDtype } from '../float.js'
import { SAFETENSORS_DTYPE_SIZE, shapeElements, writeSafetensorsHeader, type SafetensorsEntry } from '../safetensors-writer.js'
import { absMax, fp8Scale, quantizeFp8 } from './fp8.js'
import { GGML_MAX_NAME, GgmlType, ggufPadding, writeGgufHeader, type GgmlTypeId, type GgufValue } from './gguf-writer.js'
import { quantizeInt8Rows } from './int8.js'
import { NF4_BLOCK_SIZE, NF4_CODE, nf4QuantStateJson, quantizeNf4 } from './nf4.js'
import { quantizeQ4_0 } from './q4-0.js'
import { quantizeQ8_0 } from './q8-0.js'
import { isNativeQuantizer, type ByteSink, type NativeQuantizerId, type TensorInput, type TensorSpec } from './types.js'

/** Output container of a quantizer. */
export type OutputFormat = 'safetensors' | 'gguf'

/** The container each native quantizer writes. */
export function outputFormatOf (quantizer: NativeQuantizerId): OutputFormat {
  return quantizer === 'q8_0' || quantizer === 'q4_0' ? 'gguf' : 'safetensors'
}

/** One tensor the output file will contain. */
export interface OutputTensor {
  name: string
  /** safetensors dtype, or the GGUF type name ('Q8_0', 'Q4_0', 'F32', …) */
  dtype: string
  /** PyTorch order */
  shape: number[]
  byteLength: number
}

/** What happens to one source tensor. */
export interface PlannedTensor {
  source: TensorSpec
  quantized: boolean
  /** one line saying why it is (or is not) quantized */
  reason: string
  /** the tensors written for it, in order */
  outputs: OutputTensor[]
}

/** The full output layout, known before any tensor data is read. */
export interface QuantizationPlan {
  quantizer: NativeQuantizerId
  format: OutputFormat
  tensors: PlannedTensor[]
  /** bytes of the finished file */
  outputBytes: number
  /** Σ source tensor data bytes */
  sourceTensorBytes: number
  /** header bytes to write first */
  header: Uint8Array
  /** GGUF only: zero padding after each output tensor */
  padding: number[]
  /** suggested `quantization_config` for a transformers config.json (safetensors outputs) */
  quantizationConfig?: Record<string, unknown>
}

/** Options of {@link planQuantization}. */
export interface PlanOptions {
  /**
   * Override which tensors are quantized. Structural limits still apply
   * (floating dtype, 2-D for int8/nf4/fp8, row length % 32 for GGUF).
   */
  include?: (spec: TensorSpec) => boolean
  /** safetensors `__metadata__` of the source, carried into safetensors output */
  metadata?: Readonly<Record<string, string>>
  /** GGUF `general.architecture` (default 'unknown') and `general.name` */
  gguf?: { architecture?: string, name?: string }
}

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions extends PlanOptions, AbortOptions, ProgressOptions {
  quantizer: NativeQuantizerId
  /** the source tensor table, in file order */
  tensors: readonly TensorSpec[]
  /** the tensors' data, one at a time, in the same order */
  source: AsyncIterable<TensorInput>
  /** where the output file's bytes go; omit to measure only */
  sink?: ByteSink
  /** size of the source file (default: Σ tensor bytes); the compression ratio divides by it */
  originalBytes?: number
  /**
   * Measure-only speed-up: quantize at most this many evenly spaced rows of
   * each quantized tensor (ignored when a sink is given). Sizes stay exact.
   */
  sampleRows?: number
}

/** Error figures of one quantized tensor. */
export interface TensorReport extends ErrorFigures {
  name: string
  shape: number[]
  sourceDtype: string
  sourceBytes: number
  /** bytes of this tensor's outputs (headers and padding excluded) */
  outputBytes: number
  /** true when only a row sample was measured */
  sampled: boolean
}

/** What {@link quantizeModel} returns; overall figures at the top level. */
export interface QuantizeReport extends ErrorFigures {
  quantizer: NativeQuantizerId
  format: OutputFormat
  /** bytes of the output file */
  bytes: number
  originalBytes: number
  /** originalBytes / bytes */
  compressionRatio: number
  /** per quantized tensor */
  tensors: TensorReport[]
  /** tensors written unchanged, and why */
  kept: Array<{ name: string, dtype: string, reason: string }>
  sampled: boolean
  quantizationConfig?: Record<string, unknown>
  /** Σx² over the quantized elements (lets callers combine several files' figures exactly) */
  sumSquares: number
  /** Σ(x − x̂)² over the quantized elements */
  sumSquaredError: number
  /** how to read the figures */
  notes: string[]
}

const GGUF_FILE_TYPE: Record<'q8_0' | 'q4_0', number> = { q8_0: 7, q4_0: 2 } // llama_ftype MOSTLY_Q8_0 / MOSTLY_Q4_0
const GGUF_KEEP_TYPE: Record<string, GgmlTypeId> = {
  F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16, I8: GgmlType.I8, I16: GgmlType.I16, I32: GgmlType.I32, I64: GgmlType.I64, F64: GgmlType.F64
}
const GGML_TYPE_NAME: Record<number, string> = Object.fromEntries(Object.entries(GgmlType).map(([k, v]) => [v, k]))

function isWeightName (name: string, ggufRule: boolean): boolean {
  // llama.cpp quantizes tensors whose name ends in "weight"; transformers
  // replaces nn.Linear modules, whose parameter is "<module>.weight".
  return ggufRule ? name.endsWith('weight') : name === 'weight' || name.endsWith('.weight')
}

/** Why a tensor is kept, or null when it is quantized. */
function keepReason (q: NativeQuantizerId, spec: TensorSpec, include?: (s: TensorSpec) => boolean): string | null {
  if (!isFloatDtype(spec.dtype)) return `not a floating-point tensor (${spec.dtype})`
  if (shapeElements(spec.shape) === 0) return 'empty tensor'
  const gguf = outputFormatOf(q) === 'gguf'
  if (spec.shape.length < 2) return '1-D tensor (bias, norm, gate vector): kept in original precision, as bitsandbytes and llama.cpp do'
  if (!gguf && spec.shape.length !== 2) return `${spec.shape.length}-D tensor: bitsandbytes and vLLM FP8 quantize only 2-D nn.Linear weights`
  if (gguf && spec.shape[spec.shape.length - 1] % 32 !== 0) return `row length ${spec.shape[spec.shape.length - 1]} is not a multiple of the GGUF block size 32`
  if (include != null) return include(spec) ? null : 'excluded by the include filter'
  if (!isWeightName(spec.name, gguf)) return 'name does not end in "weight" (not a linear-layer weight)'
  return null
}

/** "<module>." for "<module>.weight" (bitsandbytes/vLLM key prefix); "<name>." for any other name an include filter admits. */
function modulePrefix (name: string): string {
  if (name === 'weight') return ''
  return name.endsWith('.weight') ? name.slice(0, -'weight'.length) : `${name}.`
}

/** A GGUF-legal (< 64 bytes), unique, recognisable name for a long tensor name. */
export function ggufTensorName (name: string): string {
  if (Buffer.byteLength(name) < GGML_MAX_NAME) return name
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8)
  let tail = name
  while (Buffer.byteLength(tail) > GGML_MAX_NAME - 1 - 9) {
    const dot = tail.indexOf('.', 1)
    tail = dot > 0 ? tail.slice(dot + 1) : tail.slice(1)
  }
  return `${hash}.${tail}`
}

/**
 * Plan the output of `quantizer` over a tensor table: which tensors are
 * quantized, every output tensor with its exact size, the header bytes and
 * the final file size. No tensor data is needed.
 */
export function planQuantization (quantizer: NativeQuantizerId, tensors: readonly TensorSpec[], options: PlanOptions = {}): QuantizationPlan {
  if (!isNativeQuantizer(quantizer)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown quantizer ${String(quantizer)}; expected one of int8, nf4, fp8, q8_0, q4_0`)
  const format = outputFormatOf(quantizer)
  const planned: PlannedTensor[] = []
  let sourceTensorBytes = 0
  for (const spec of tensors) {
    const size = SAFETENSORS_DTYPE_SIZE[spec.dtype]
    if (size == null) throw new BadInputError(ErrorCode.UNSUPPORTED, `${spec.name}: dtype ${spec.dtype} not supported`)
    const n = shapeElements(spec.shape)
    sourceTensorBytes += n * size
    const reason = keepReason(quantizer, spec, options.include)
    const shape = [...spec.shape]
    if (reason != null) {
      if (format === 'gguf') {
        const t = GGUF_KEEP_TYPE[spec.dtype]
        if (t == null) throw new BadInputError(ErrorCode.UNSUPPORTED, `${spec.name}: dtype ${spec.dtype} has no GGUF equivalent`)
        planned.push({ source: spec, quantized: false, reason: `kept: ${reason}`, outputs: [{ name: ggufTensorName(spec.name), dtype: GGML_TYPE_NAME[t], shape, byteLength: n * size }] })
      } else {
        planned.push({ source: spec, quantized: false, reason: `kept: ${reason}`, outputs: [{ name: spec.name, dtype: spec.dtype, shape, byteLength: n * size }] })
      }
      continue
    }
    const rows = spec.shape[0]
    const prefix = modulePrefix(spec.name)
    let outputs: OutputTensor[]
    switch (quantizer) {
      case 'int8':
        outputs = [
          { name: spec.name, dtype: 'I8', shape, byteLength: n },
          { name: `${prefix}SCB`, dtype: 'F32', shape: [rows], byteLength: rows * 4 },
          { name: `${prefix}weight_format`, dtype: 'U8', shape: [], byteLength: 1 }
        ]
        break
      case 'nf4': {
        const state = new TextEncoder().encode(nf4QuantStateJson(spec.shape, spec.dtype))
        const blocks = Math.ceil(n / NF4_BLOCK_SIZE)
        outputs = [
          { name: spec.name, dtype: 'U8', shape: [Math.ceil(n / 2), 1], byteLength: Math.ceil(n / 2) },
          { name: `${spec.name}.absmax`, dtype: 'F32', shape: [blocks], byteLength: blocks * 4 },
          { name: `${spec.name}.quant_map`, dtype: 'F32', shape: [16], byteLength: 64 },
          { name: `${spec.name}.quant_state.bitsandbytes__nf4`, dtype: 'U8', shape: [state.length], byteLength: state.length }
        ]
        break
      }
      case 'fp8':
        outputs = [
          { name: spec.name, dtype: 'F8_E4M3', shape, byteLength: n },
          { name: `${prefix}weight_scale`, dtype: 'F32', shape: [], byteLength: 4 }
        ]
        break
      case 'q8_0':
        outputs = [{ name: ggufTensorName(spec.name), dtype: 'Q8_0', shape, byteLength: (n / 32) * 34 }]
        break
      case 'q4_0':
        outputs = [{ name: ggufTensorName(spec.name), dtype: 'Q4_0', shape, byteLength: (n / 32) * 18 }]
        break
    }
    planned.push({ source: spec, quantized: true, reason: `quantized: ${spec.shape.length}-D weight`, outputs })
  }

  if (format === 'safetensors') {
    const entries: SafetensorsEntry[] = planned.flatMap(p => p.outputs)
    const metadata: Record<string, string> = { ...(options.metadata ?? {}), 'tenpak.quantizer': quantizer }
    if (metadata.format == null) metadata.format = 'pt'
    const layout = writeSafetensorsHeader(entries, metadata)
    return {
      quantizer, format, tensors: planned, outputBytes: layout.totalBytes, sourceTensorBytes, header: layout.header, padding: [], quantizationConfig: quantizationConfigFor(quantizer, tensors)
    }
  }

  const names = planned.map(p => p.outputs[0].name)
  if (new Set(names).size !== names.length) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'tensor names collide after shortening to GGUF\'s 63-byte limit')
  const metadata: Array<readonly [string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: options.gguf?.architecture ?? 'unknown' }],
    ...(options.gguf?.name != null ? [['general.name', { type: 'string', value: options.gguf.name }] as const] : []),
    ['general.quantization_version', { type: 'u32', value: 2 }],
    ['general.file_type', { type: 'u32', value: GGUF_FILE_TYPE[quantizer as 'q8_0' | 'q4_0'] }],
    ['tenpak.quantizer', { type: 'string', value: quantizer }],
    ['tenpak.source_tensor_names', { type: 'string[]', value: planned.map(p => p.source.name) }]
  ]
  const layout = writeGgufHeader({
    metadata,
    tensors: planned.map(p => {
      const o = p.outputs[0]
      const dims = o.shape.length === 0 ? [1] : [...o.shape].reverse()
      return { name: o.name, dims, type: GgmlType[o.dtype as keyof typeof GgmlType] }
    })
  })
  const padding = layout.tensors.map(t => ggufPadding(t.byteLength, layout.alignment))
  return { quantizer, format, tensors: planned, outputBytes: layout.totalBytes, sourceTensorBytes, header: layout.header, padding }
}

function quantizationConfigFor (q: NativeQuantizerId, tensors: readonly TensorSpec[]): Record<string, unknown> | undefined {
  const floatDtype = tensors.find(t => isFloatDtype(t.dtype))?.dtype ?? 'F32'
  const torchDtype = floatDtype === 'BF16' ? 'bfloat16' : floatDtype === 'F16' ? 'float16' : 'float32'
  switch (q) {
    case 'int8': return { quant_method: 'bitsandbytes', load_in_8bit: true, load_in_4bit: false }
    case 'nf4': return { quant_method: 'bitsandbytes', load_in_4bit: true, load_in_8bit: false, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: false, bnb_4bit_quant_storage: 'uint8', bnb_4bit_compute_dtype: torchDtype }
    case 'fp8': return { quant_method: 'fp8', activation_scheme: 'dynamic' }
    default: return undefined
  }
}

/** Evenly spaced row indices: `count` of `rows`. */
function sampleRowIndices (rows: number, count: number): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(Math.floor(i * rows / count))
  return out
}

function f32Bytes (a: Float32Array): Uint8Array {
  // little-endian hosts only (Node on x86/arm64); checked once below
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Encode one quantized tensor; returns the output parts (in plan order). */
function encodeTensor (q: NativeQuantizerId, spec: TensorSpec, x: Float32Array, rows: number, cols: number, acc: ErrorAccumulator, fullAbsMax?: number): Uint8Array[] {
  switch (q) {
    case 'int8': {
      const { codes, scb } = quantizeInt8Rows(x, rows, cols, acc)
      return [new Uint8Array(codes.buffer), f32Bytes(scb), Uint8Array.of(0)]
    }
    case 'nf4': {
      const { packed, absmax } = quantizeNf4(x, acc)
      return [packed, f32Bytes(absmax), f32Bytes(Float32Array.from(NF4_CODE)), new TextEncoder().encode(nf4QuantStateJson(spec.shape, spec.dtype))]
    }
    case 'fp8': {
      const scale = fp8Scale(fullAbsMax ?? absMax(x))
      return [quantizeFp8(x, scale, acc), f32Bytes(Float32Array.of(scale))]
    }
    case 'q8_0': return [quantizeQ8_0(x, acc)]
    case 'q4_0': return [quantizeQ4_0(x, acc)]
  }
}

/** Result of {@link quantizeTensor}. */
export interface QuantizedTensor {
  /** encoded output parts, in the order the plan lists the outputs */
  parts: Uint8Array[]
  /** error of the reconstruction from those parts */
  error: ErrorAccumulator
  /** true when only a row sample was quantized (parts then cover the sample only) */
  sampled: boolean
}

/**
 * Quantize one tensor that the plan marks as quantized, from its decoded
 * values. With `sampleRows`, only that many evenly spaced rows are encoded
 * (FP8 still takes its scale from the whole tensor); used to measure fast.
 */
export function quantizeTensor (quantizer: NativeQuantizerId, spec: TensorSpec, values: Float32Array, options: { sampleRows?: number } = {}): QuantizedTensor {
  const cols = spec.shape[spec.shape.length - 1]
  const totalRows = values.length / cols
  let x = values
  let rows = totalRows
  let sampled = false
  let fullAbsMax: number | undefined
  const sampleRows = options.sampleRows
  if (sampleRows != null && sampleRows > 0 && totalRows > sampleRows) {
    if (quantizer === 'fp8') fullAbsMax = absMax(values)
    const idx = sampleRowIndices(totalRows, Math.floor(sampleRows))
    x = new Float32Array(idx.length * cols)
    idx.forEach((r, k) => x.set(values.subarray(r * cols, (r + 1) * cols), k * cols))
    rows = idx.length
    sampled = true
  }
  const error = new ErrorAccumulator()
  const parts = encodeTensor(quantizer, spec, x, rows, cols, error, fullAbsMax)
  return { parts, error, sampled }
}

/**
 * Quantize a model tensor by tensor. With a `sink`, the complete output file
 * is written to it (header first); without one, only the error is measured
 * (optionally on a row sample). Throws ERR_BAD_ARGUMENT when the source does
 * not match the tensor table.
 */
export async function quantizeModel (options: QuantizeModelOptions): Promise<QuantizeReport> {
  if (!LITTLE_ENDIAN) throw new TenpakError(ErrorCode.UNSUPPORTED, 'quantizers need a little-endian host')
  const plan = planQuantization(options.quantizer, options.tensors, options)
  const sink = options.sink
  const sampleRows = sink == null && options.sampleRows != null && options.sampleRows > 0 ? Math.floor(options.sampleRows) : undefined
  if (sink != null) await sink(plan.header)
  const overall = new ErrorAccumulator()
  const reports: TensorReport[] = []
  const kept: QuantizeReport['kept'] = []
  let sampledAny = false
  let i = 0
  for await (const input of options.source) {
    throwIfAborted(options)
    const p = plan.tensors[i]
    if (p == null) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `source yielded more tensors than the table lists (extra: ${input.name})`)
    const spec = p.source
    if (input.name !== spec.name || input.dtype !== spec.dtype || input.shape.length !== spec.shape.length || input.shape.some((d, k) => d !== spec.shape[k])) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `source tensor ${i} is ${input.name} ${input.dtype}${JSON.stringify(input.shape)}, table says ${spec.name} ${spec.dtype}${JSON.stringify(spec.shape)}`)
    }
    const expectedBytes = shapeElements(spec.shape) * SAFETENSORS_DTYPE_SIZE[spec.dtype]
    if (input.data.length !== expectedBytes) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${spec.name}: ${input.data.length} data bytes, expected ${expectedBytes}`)

    if (!p.quantized) {
      kept.push({ name: spec.name, dtype: spec.dtype, reason: p.reason })
      if (sink != null) {
        await sink(input.data)
        if (plan.format === 'gguf' && plan.padding[i] > 0) await sink(new Uint8Array(plan.padding[i]))
      }
    } else {
      const { parts, error: acc, sampled } = quantizeTensor(options.quantizer, spec, decodeFloats(spec.dtype, input.data), { sampleRows })
      if (sampled) sampledAny = true
      overall.merge(acc)
      const outputBytes = p.outputs.reduce((s, o) => s + o.byteLength, 0)
      if (sink != null) {
        for (let k = 0; k < parts.length; k++) {
          if (parts[k].length !== p.outputs[k].byteLength) throw new TenpakError(ErrorCode.CODEC, `internal: ${p.outputs[k].name} encoded to ${parts[k].length} bytes, planned ${p.outputs[k].byteLength}`)
          await sink(parts[k])
        }
        if (plan.format === 'gguf' && plan.padding[i] > 0) await sink(new Uint8Array(plan.padding[i]))
      }
      reports.push({ name: spec.name, shape: [...spec.shape], sourceDtype: spec.dtype, sourceBytes: expectedBytes, outputBytes, sampled, ...acc.figures() })
    }
    options.onProgress?.({ type: 'quantize:tensor', bytes: i + 1, total: plan.tensors.length, detail: spec.name })
    i++
  }
  if (i !== plan.tensors.length) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `source ended after ${i} of ${plan.tensors.length} tensors`)

  const originalBytes = options.originalBytes ?? plan.sourceTensorBytes
  const notes = [
    'relativeRmsError = ||x - x̂|| / ||x|| over every element of every quantized tensor (not an average of per-tensor ratios); kept tensors are exact and not counted.',
    'Weight error is a proxy for model quality, not a perplexity or task-accuracy measurement.'
  ]
  if (sampledAny) notes.push(`Error measured on up to ${String(sampleRows)} evenly spaced rows per tensor; sizes are exact.`)
  if (plan.format === 'gguf') notes.push('GGUF output carries tensors and general.* keys only; llama.cpp also needs architecture hyperparameters (use convert_hf_to_gguf.py for a runnable model).')
  return {
    quantizer: options.quantizer,
    format: plan.format,
    ...overall.figures(),
    bytes: plan.outputBytes,
    originalBytes,
    compressionRatio: originalBytes / plan.outputBytes,
    tensors: reports,
    kept,
    sampled: sampledAny,
    ...(plan.quantizationConfig != null ? { quantizationConfig: plan.quantizationConfig } : {}),
    sumSquares: overall.signalEnergy,
    sumSquaredError: overall.errorEnergy,
    notes
  }
}
