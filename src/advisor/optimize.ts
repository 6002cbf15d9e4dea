/**
 * The cost optimizer: runs every native quantizer over a model in one pass
 * (each tensor decoded once), measures weight error and exact output size,
 * adds presets tenpak cannot run itself from an evaluation file (GPTQ, AWQ…),
 * and picks the smallest candidate that meets the constraints, listing every
 * rejected alternative with its reasons. Weight error is a proxy for model
 * quality, not perplexity; the result says so.
 */

import { BadInputError, ErrorCode, TenpakError } from '../errors.js'
import { throwIfAborted, type AbortOptions, type ProgressOptions } from '../util/options.js'
import { ErrorAccumulator } from './error-stats.js'
import { decodeFloats } from './float.js'
import { getPreset, presetForNative, Q4_0_INFO } from './presets.js'
import { planQuantization, quantizeTensor, type QuantizationPlan } from './quantize/quantize-model.js'
import { isNativeQuantizer, NATIVE_QUANTIZERS, type NativeQuantizerId, type TensorInput, type TensorSpec } from './quantize/types.js'
import { SAFETENSORS_DTYPE_SIZE, shapeElements } from './safetensors-writer.js'

/** The sentence every optimize result and refusal carries. */
export const PROXY_NOTE = 'Weight error (relative RMS of the dequantized weights) is a proxy for model quality, not perplexity or task accuracy; confirm the choice with an evaluation (--eval).'

/** One measured result for a preset tenpak cannot run (or extra figures for one it can). */
export interface EvalEntry {
  /** preset id (`gptq-int4-g128`, …) or native quantizer id (`int8`, …) */
  preset: string
  /** perplexity increase vs. the unquantized model, as an evaluation harness measured it */
  perplexityDelta?: number
  /** relative RMS weight error, if measured */
  relativeRmsError?: number
  /** bytes of the quantized model; if absent, estimated from the preset's bits per weight */
  bytes?: number
  /** free text: harness, dataset, date */
  source?: string
}

/**
 * Validate an evaluation file's parsed JSON: either an array of
 * {@link EvalEntry} or `{ "results": [...] }`. Throws ERR_BAD_ARGUMENT naming
 * the first problem.
 */
export function parseEvalFile (json: unknown): EvalEntry[] {
  const list = Array.isArray(json) ? json : (json != null && typeof json === 'object' && Array.isArray((json as { results?: unknown }).results) ? (json as { results: unknown[] }).results : null)
  if (list == null) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'eval file must be a JSON array of results or an object with a "results" array')
  return list.map((raw, i) => {
    if (raw == null || typeof raw !== 'object') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `eval result ${i} is not an object`)
    const r = raw as Record<string, unknown>
    if (typeof r.preset !== 'string' || r.preset === '') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `eval result ${i} has no "preset"`)
    const num = (k: string): number | undefined => {
      const v = r[k]
      if (v === undefined) return undefined
      if (typeof v !== 'number' || !Number.isFinite(v) || (k !== 'perplexityDelta' && v < 0)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `eval result ${i} (${String(r.preset)}): "${k}" must be a finite${k === 'perplexityDelta' ? '' : ' non-negative'} number`)
      return v
    }
    const entry: EvalEntry = { preset: r.preset }
    const ppl = num('perplexityDelta'); if (ppl !== undefined) entry.perplexityDelta = ppl
    const rms = num('relativeRmsError'); if (rms !== undefined) entry.relativeRmsError = rms
    const bytes = num('bytes'); if (bytes !== undefined) entry.bytes = bytes
    if (r.source !== undefined) {
      if (typeof r.source !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `eval result ${i}: "source" must be a string`)
      entry.source = r.source
    }
    if (!isNativeQuantizer(entry.preset) && getPreset(entry.preset) == null && entry.bytes == null) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `eval result ${i}: unknown preset "${entry.preset}" needs "bytes"`)
    }
    if (entry.perplexityDelta === undefined && entry.relativeRmsError === undefined) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `eval result ${i} (${entry.preset}) has neither perplexityDelta nor relativeRmsError`)
    }
    return entry
  })
}

/** Options of {@link optimizeModel}. */
export interface OptimizeOptions extends AbortOptions, ProgressOptions {
  /** the source tensor table, in file order */
  tensors: readonly TensorSpec[]
  /** tensor data, one at a time, in the same order */
  source: AsyncIterable<TensorInput>
  /** size of the source file (default Σ tensor bytes) */
  originalBytes?: number
  /** largest acceptable relative RMS weight error (e.g. 0.01 = 1%) */
  maxError?: number
  /** smallest acceptable originalBytes / outputBytes */
  minCompression?: number
  /** largest acceptable perplexity increase (applies to candidates with an eval figure) */
  maxPerplexityDelta?: number
  /** measured results from an evaluation file */
  eval?: readonly EvalEntry[]
  /** native quantizers to run (default: all five) */
  quantizers?: readonly NativeQuantizerId[]
  /** measure at most this many evenly spaced rows per tensor (sizes stay exact) */
  sampleRows?: number
}

/** One alternative the optimizer considered. */
export interface Candidate {
  /** native quantizer id or preset id */
  id: string
  name: string
  origin: 'measured' | 'eval'
  bytes: number
  /** 'exact' (planned file size), 'eval' (from the eval file), 'estimated' (bits per weight × quantized weights) */
  bytesSource: 'exact' | 'eval' | 'estimated'
  compressionRatio: number
  relativeRmsError?: number
  maxAbsError?: number
  sqnrDb?: number
  perplexityDelta?: number
  evalSource?: string
  accepted: boolean
  /** why it was rejected, or what it satisfied */
  reasons: string[]
}

/** What {@link optimizeModel} returns. */
export interface OptimizeResult {
  chosen: Candidate
  /** every candidate, smallest first */
  candidates: Candidate[]
  constraints: { maxError?: number, minCompression?: number, maxPerplexityDelta?: number }
  originalBytes: number
  sampled: boolean
  note: string
}

/** ERR_NO_PRESET_FITS, carrying every candidate and why it failed. */
export class NoPresetFitsError extends TenpakError {
  readonly candidates: Candidate[]

  constructor (message: string, candidates: Candidate[]) {
    super(ErrorCode.NO_PRESET_FITS, message)
    this.name = 'NoPresetFitsError'
    this.candidates = candidates
  }
}

const pct = (v: number): string => `${(v * 100).toPrecision(3)}%`
const ratio = (v: number): string => `${v.toFixed(3)}×`

function nativeName (q: NativeQuantizerId): string {
  return q === 'q4_0' ? Q4_0_INFO.name : presetForNative(q)?.name ?? q
}

/** bytes a preset would take: quantizable (2-D, float, "*.weight") tensors at its bits per weight, the rest unchanged. */
function estimateBytes (bitsPerWeight: number, plan: QuantizationPlan): number {
  let bytes = 0
  for (const p of plan.tensors) {
    const n = shapeElements(p.source.shape)
    bytes += p.quantized ? Math.ceil(n * bitsPerWeight / 8) : n * SAFETENSORS_DTYPE_SIZE[p.source.dtype]
  }
  return bytes
}

function judge (c: Candidate, o: OptimizeOptions): void {
  const reasons: string[] = []
  let ok = true
  if (o.minCompression != null) {
    if (c.compressionRatio < o.minCompression) { ok = false; reasons.push(`compression ${ratio(c.compressionRatio)} < required ${ratio(o.minCompression)}`) } else reasons.push(`compression ${ratio(c.compressionRatio)} ≥ ${ratio(o.minCompression)}`)
  }
  const qualityGiven = o.maxError != null || o.maxPerplexityDelta != null
  let qualityChecked = false
  if (o.maxError != null && c.relativeRmsError != null) {
    qualityChecked = true
    if (c.relativeRmsError > o.maxError) { ok = false; reasons.push(`weight error ${pct(c.relativeRmsError)} > max ${pct(o.maxError)}`) } else reasons.push(`weight error ${pct(c.relativeRmsError)} ≤ ${pct(o.maxError)}`)
  }
  if (o.maxPerplexityDelta != null && c.perplexityDelta != null) {
    qualityChecked = true
    if (c.perplexityDelta > o.maxPerplexityDelta) { ok = false; reasons.push(`perplexity +${c.perplexityDelta} > max +${o.maxPerplexityDelta}`) } else reasons.push(`perplexity +${c.perplexityDelta} ≤ +${o.maxPerplexityDelta}`)
  }
  if (qualityGiven && !qualityChecked) {
    ok = false
    const has = c.perplexityDelta != null ? 'a perplexity delta' : 'a weight error'
    const needs = c.perplexityDelta != null ? '--max-perplexity-delta' : '--max-error'
    reasons.push(`no measurement for the given quality constraint (it has ${has}; pass ${needs} or add the missing figure to the eval file)`)
  }
  c.accepted = ok
  c.reasons = reasons.length > 0 ? reasons : ['no constraints given']
}

/**
 * Measure the native quantizers on a model (one pass over `source`), merge in
 * eval-file results, and choose the smallest candidate meeting every
 * constraint. Throws {@link NoPresetFitsError} (ERR_NO_PRESET_FITS) when none
 * does, and ERR_BAD_ARGUMENT for invalid constraints.
 */
export async function optimizeModel (options: OptimizeOptions): Promise<OptimizeResult> {
  for (const [k, v] of [['maxError', options.maxError], ['minCompression', options.minCompression], ['maxPerplexityDelta', options.maxPerplexityDelta]] as const) {
    if (v != null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${k} must be a non-negative number`)
  }
  const quantizers = [...(options.quantizers ?? NATIVE_QUANTIZERS)]
  for (const q of quantizers) if (!isNativeQuantizer(q)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown quantizer ${String(q)}`)
  const plans = new Map<NativeQuantizerId, QuantizationPlan>()
  for (const q of quantizers) plans.set(q, planQuantization(q, options.tensors))
  const bnbPlan = plans.get('int8') ?? planQuantization('int8', options.tensors)
  const originalBytes = options.originalBytes ?? bnbPlan.sourceTensorBytes
  const acc = new Map<NativeQuantizerId, ErrorAccumulator>(quantizers.map(q => [q, new ErrorAccumulator()]))
  let sampled = false

  let i = 0
  for await (const input of options.source) {
    throwIfAborted(options)
    const spec = options.tensors[i]
    if (spec == null || input.name !== spec.name || input.dtype !== spec.dtype) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `source tensor ${i} (${input.name}) does not match the tensor table (${spec?.name ?? 'end of table'})`)
    }
    const todo = quantizers.filter(q => plans.get(q)?.tensors[i].quantized === true)
    if (todo.length > 0) {
      const x = decodeFloats(spec.dtype, input.data)
      for (const q of todo) {
        const r = quantizeTensor(q, spec, x, { sampleRows: options.sampleRows })
        acc.get(q)?.merge(r.error)
        if (r.sampled) sampled = true
      }
    }
    options.onProgress?.({ type: 'optimize:tensor', bytes: i + 1, total: options.tensors.length, detail: spec.name })
    i++
  }
  if (i !== options.tensors.length) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `source ended after ${i} of ${options.tensors.length} tensors`)

  const evalByPreset = new Map<string, EvalEntry>()
  for (const e of options.eval ?? []) evalByPreset.set(e.preset, e)

  const candidates: Candidate[] = []
  for (const q of quantizers) {
    const plan = plans.get(q) as QuantizationPlan
    const f = (acc.get(q) as ErrorAccumulator).figures()
    const quantizedAny = plan.tensors.some(t => t.quantized)
    const c: Candidate = {
      id: q,
      name: nativeName(q),
      origin: 'measured',
      bytes: plan.outputBytes,
      bytesSource: 'exact',
      compressionRatio: originalBytes / plan.outputBytes,
      ...(quantizedAny ? { relativeRmsError: f.relativeRmsError, maxAbsError: f.maxAbsError, sqnrDb: f.sqnrDb } : { relativeRmsError: 0, maxAbsError: 0, sqnrDb: Infinity }),
      accepted: false,
      reasons: []
    }
    const ev = evalByPreset.get(q) ?? (presetForNative(q) != null ? evalByPreset.get(presetForNative(q)?.id as string) : undefined)
    if (ev?.perplexityDelta != null) { c.perplexityDelta = ev.perplexityDelta; if (ev.source != null) c.evalSource = ev.source }
    candidates.push(c)
  }
  const nativeIds = new Set<string>(quantizers.flatMap(q => [q, presetForNative(q)?.id ?? q]))
  for (const e of options.eval ?? []) {
    if (nativeIds.has(e.preset)) continue
    const preset = getPreset(e.preset)
    const bytes = e.bytes ?? (preset != null ? estimateBytes(preset.bitsPerWeight, bnbPlan) : NaN)
    candidates.push({
      id: e.preset,
      name: preset?.name ?? e.preset,
      origin: 'eval',
      bytes,
      bytesSource: e.bytes != null ? 'eval' : 'estimated',
      compressionRatio: originalBytes / bytes,
      ...(e.relativeRmsError != null ? { relativeRmsError: e.relativeRmsError } : {}),
      ...(e.perplexityDelta != null ? { perplexityDelta: e.perplexityDelta } : {}),
      ...(e.source != null ? { evalSource: e.source } : {}),
      accepted: false,
      reasons: []
    })
  }
  for (const c of candidates) judge(c, options)
  candidates.sort((a, b) => a.bytes - b.bytes || (a.relativeRmsError ?? Infinity) - (b.relativeRmsError ?? Infinity))
  const constraints = {
    ...(options.maxError != null ? { maxError: options.maxError } : {}),
    ...(options.minCompression != null ? { minCompression: options.minCompression } : {}),
    ...(options.maxPerplexityDelta != null ? { maxPerplexityDelta: options.maxPerplexityDelta } : {})
  }
  const chosen = candidates.find(c => c.accepted)
  if (chosen == null) {
    const wanted = [
      options.maxError != null ? `weight error ≤ ${pct(options.maxError)}` : null,
      options.maxPerplexityDelta != null ? `perplexity ≤ +${options.maxPerplexityDelta}` : null,
      options.minCompression != null ? `compression ≥ ${ratio(options.minCompression)}` : null
    ].filter(s => s != null).join(' and ')
    const lines = candidates.map(c => `${c.id}: ${c.reasons.join('; ')}`)
    throw new NoPresetFitsError(`no preset meets ${wanted}. ${lines.join('. ')}. ${PROXY_NOTE}`, candidates)
  }
  return { chosen, candidates, constraints, originalBytes, sampled, note: PROXY_NOTE }
}
