/**
 * Smart routing: given the model a request asked for and its prompt, pick
 * the cheapest (model, quantization preset, GPU offer) whose published
 * benchmark score is good enough for the prompt's estimated difficulty, whose
 * weights and KV cache fit in GPU memory, and whose memory-bandwidth-bound
 * decode speed gives the lowest cost per token. Every number in the returned
 * reasoning is a catalog figure with its source, a caller-supplied value, or
 * derived from those by a stated formula. Method: docs/advisor.md ("Routing").
 */

import { NotFoundError, BadInputError, ErrorCode, TenpakError } from '../errors.js'
import { assumption, checked, derived, published, type Citation } from './citations.js'
import { mergeCatalog, type CatalogConfig, type GpuEntry, type InstanceOffer } from './catalog/gpus.js'
import { findModel, MODEL_CATALOG, type BenchmarkId, type BenchmarkScore, type ModelEntry } from './catalog/models.js'
import { CHARS_PER_TOKEN, estimateDifficulty, type DifficultyEstimate, type DifficultyTier } from './difficulty.js'
import { getPreset } from './presets.js'

/** Inputs of {@link suggestOptimalModel}. */
export interface RouteRequest {
  /** the model the client asked for (catalog id or alias) */
  requestedModel: string
  prompt: string
  /**
   * Fraction (0, 1] of the requested model's benchmark score a substitute
   * must reach on a trivial prompt (default 0.8). Moderate prompts require
   * half-way between this and 1; hard prompts require 1 (no downgrade).
   */
  qualityThreshold?: number
  /** tokens the answer may take, for the KV cache (default 512) */
  maxOutputTokens?: number
  /** concurrent sequences sharing the GPUs (default 1: single-stream cost, an upper bound) */
  concurrency?: number
  /** GPU/offer overrides */
  catalog?: CatalogConfig
  /** replace the built-in model catalog */
  models?: readonly ModelEntry[]
}

/** A cited number inside a reasoning step. */
export interface Figure {
  value: number
  unit: string
  source: Citation
}

/** One sentence of the reasoning: `template` has `{name}` slots filled from `values`; `text` is the rendered sentence. */
export interface ReasoningStep {
  text: string
  template: string
  values: Record<string, Figure | { name: string }>
}

/** The hardware a decision runs on. */
export interface HardwareChoice {
  offerId: string
  provider: string
  instanceType: string
  gpu: string
  gpuCount: number
  hourlyUsd: number
}

/** What {@link suggestOptimalModel} returns. */
export interface RouteDecision {
  requestedModel: string
  recommendedModel: string
  hardware: HardwareChoice
  /** 'bf16' or a preset id */
  preset: string
  /** USD per 1000 generated tokens (single-stream decode unless concurrency is set) */
  estimatedCostPer1kTokens: number
  /** 100 × (baseline − recommended) / baseline; baseline = requested model, BF16 (or the smallest preset that fits), cheapest offer */
  savingsPct: number
  baseline: { model: string, preset: string, hardware: HardwareChoice, estimatedCostPer1kTokens: number }
  difficulty: DifficultyEstimate
  reasoning: ReasoningStep[]
}

/** Presets the router serves with (all load in vLLM). */
interface RoutingPreset {
  id: string
  name: string
  bitsPerWeight: number
  source: Citation
  /** tiers it may be used for */
  tiers: readonly DifficultyTier[]
}

const ALL_TIERS: readonly DifficultyTier[] = ['trivial', 'moderate', 'hard']
const LOW_BIT_TIERS: readonly DifficultyTier[] = ['trivial', 'moderate']

function routingPresets (): RoutingPreset[] {
  const p = (id: string, tiers: readonly DifficultyTier[]): RoutingPreset => {
    const preset = getPreset(id)
    if (preset == null) throw new TenpakError(ErrorCode.CODEC, `internal: preset ${id} missing`)
    return { id, name: preset.name, bitsPerWeight: preset.bitsPerWeight, source: derived(`${preset.name}: ${preset.bitsPerWeightDerivation}`), tiers }
  }
  return [
    { id: 'bf16', name: 'BF16 (unquantized)', bitsPerWeight: 16, source: derived('bfloat16 stores 16 bits per weight'), tiers: ALL_TIERS },
    p('fp8-e4m3', ALL_TIERS),
    p('gptq-int8-g128', ALL_TIERS),
    // 4-bit only below "hard": llama.cpp measures +0.1754 ppl for Q4_K_M vs +0.0026 for Q8_0 on Llama-3-8B
    p('awq-int4-g128', LOW_BIT_TIERS)
  ]
}

/**
 * Fraction of GPU memory the serving engine may use: vLLM's long-standing
 * default `--gpu-memory-utilization` 0.9. Newer vLLM sources default to 0.92;
 * tenpak keeps the more conservative 0.9 (see the citation's note).
 */
export const GPU_MEMORY_UTILIZATION = 0.9
const VLLM_UTIL = checked(published('vLLM source, vllm/config/cache.py (CacheConfig.gpu_memory_utilization)', 'https://github.com/vllm-project/vllm/blob/main/vllm/config/cache.py',
  '"The fraction of GPU memory to be used for the model executor, which can range from 0 to 1 … If unspecified, will use the default value of 0.9."'),
'primary', 'Read in the stored vllm/config/cache.py at commit c1d86421 (default 0.9). The newest stored version (commit 002f10e0) changed the default to 0.92; tenpak keeps 0.9, which leaves more headroom.')
const TOKENS_RULE = checked(published('OpenAI Help Center, "What are tokens and how to count them?"', 'https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them',
  '"1 token ~= 4 chars in English".'),
'primary', 'Read in a stored copy of the help article: "1 token ~= 4 chars in English", "1 token ~= ¾ words".')
const DIFFICULTY_DOC = assumption('tenpak prompt-difficulty heuristic', 'Weighted rules over length, reasoning vocabulary, code, mathematics and structure.', 'docs/advisor.md#prompt-difficulty')
const TIER_RULE = assumption('tenpak quality rule', 'trivial: threshold × score; moderate: (threshold + 1) / 2 × score; hard: the requested model\'s score.', 'docs/advisor.md#routing')
const DEFAULT_THRESHOLD = assumption('tenpak default quality threshold', 'qualityThreshold defaults to 0.8.', 'docs/advisor.md#routing')
const ROOFLINE = assumption('memory-bandwidth-bound decode', 'Each generated token reads all weights and the KV cache once: tokens/s = concurrency × GPUs × bandwidth / bytes per step (an upper bound on speed).', 'docs/advisor.md#routing')
const KV_BYTES = assumption('KV cache in 16-bit', 'KV cache bytes = 2 (K and V) × layers × KV heads × head dim × 2 bytes × tokens × concurrency.', 'docs/advisor.md#routing')

const fmt = (v: number): string => {
  if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v)
  const s = Number(v.toPrecision(4)).toString()
  return s
}

class StepBuilder {
  readonly steps: ReasoningStep[] = []
  add (template: string, values: Record<string, Figure | { name: string }>): void {
    const text = template.replace(/\{(\w+)\}/g, (_, k: string) => {
      const v = values[k]
      if (v == null) throw new TenpakError(ErrorCode.CODEC, `internal: reasoning slot {${k}} unfilled`)
      return 'name' in v ? v.name : fmt(v.value)
    })
    this.steps.push({ text, template, values })
  }
}

const fig = (value: number, unit: string, source: Citation): Figure => ({ value, unit, source })
const name = (n: string): { name: string } => ({ name: n })

interface Option {
  model: ModelEntry
  preset: RoutingPreset
  offer: InstanceOffer
  gpu: GpuEntry
  weightsGB: number
  kvGB: number
  usableGB: number
  tokensPerSecond: number
  costPer1k: number
}

function evaluate (model: ModelEntry, preset: RoutingPreset, offer: InstanceOffer, gpu: GpuEntry, contextTokens: number, concurrency: number): Option | null {
  const weightsGB = model.params.value * preset.bitsPerWeight / 8 / 1e9
  const a = model.architecture
  const kvGB = 2 * a.layers * a.kvHeads * a.headDim * 2 * contextTokens * concurrency / 1e9
  const usableGB = offer.gpuCount * gpu.memoryGB.value * GPU_MEMORY_UTILIZATION
  if (weightsGB + kvGB > usableGB) return null
  // one decode step reads the weights once and every sequence's KV cache, and yields one token per sequence
  const tokensPerSecond = concurrency * offer.gpuCount * gpu.bandwidthGBs.value / (weightsGB + kvGB)
  const costPer1k = offer.hourlyUsd.value / (tokensPerSecond * 3600) * 1000
  return { model, preset, offer, gpu, weightsGB, kvGB, usableGB, tokensPerSecond, costPer1k }
}

function hardwareOf (o: Option): HardwareChoice {
  return { offerId: o.offer.id, provider: o.offer.provider, instanceType: o.offer.instanceType, gpu: o.gpu.name, gpuCount: o.offer.gpuCount, hourlyUsd: o.offer.hourlyUsd.value }
}

function pickScore (model: ModelEntry, benchmark: BenchmarkId): BenchmarkScore | undefined {
  return model.scores.find(s => s.benchmark === benchmark)
}

/**
 * Route a request: choose model, preset and hardware, estimate cost per 1000
 * generated tokens and the saving against serving the requested model
 * unquantized. Throws ERR_NOT_FOUND for a model not in the catalog,
 * ERR_BAD_ARGUMENT for invalid options, ERR_UNSUPPORTED when nothing in the
 * catalog can hold the requested model.
 */
export function suggestOptimalModel (req: RouteRequest): RouteDecision {
  if (typeof req.prompt !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'prompt must be a string')
  const threshold = req.qualityThreshold ?? 0.8
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold <= 1)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'qualityThreshold must be a number in (0, 1]')
  const maxOutputTokens = req.maxOutputTokens ?? 512
  const concurrency = req.concurrency ?? 1
  if (!Number.isInteger(maxOutputTokens) || maxOutputTokens < 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'maxOutputTokens must be a non-negative integer')
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'concurrency must be a positive integer')
  const models = req.models ?? MODEL_CATALOG
  const requested = findModel(models, req.requestedModel)
  if (requested == null) throw new NotFoundError(`model ${req.requestedModel} is not in the routing catalog`)
  const { gpus, offers } = mergeCatalog(req.catalog)
  const gpuById = new Map(gpus.map(g => [g.id, g]))
  const presets = routingPresets()

  const difficulty = estimateDifficulty(req.prompt)
  const contextTokens = difficulty.estimatedTokens + maxOutputTokens
  const benchmarkWanted: BenchmarkId = difficulty.category === 'code' ? 'humaneval' : difficulty.category === 'math' ? 'gsm8k-cot' : 'mmlu'
  const benchmark: BenchmarkId = pickScore(requested, benchmarkWanted) != null ? benchmarkWanted : 'mmlu'
  const reqScore = pickScore(requested, benchmark)
  const fraction = difficulty.tier === 'trivial' ? threshold : difficulty.tier === 'moderate' ? (threshold + 1) / 2 : 1
  const requiredScore = reqScore != null ? reqScore.value * fraction : Infinity

  const eligible = models.filter(m => {
    if (m.contextLength.value < contextTokens) return false
    if (m === requested) return true
    const s = pickScore(m, benchmark)
    return reqScore != null && s != null && s.harness === reqScore.harness && s.value >= requiredScore
  })

  const options: Option[] = []
  for (const m of eligible) {
    for (const p of presets) {
      if (!p.tiers.includes(difficulty.tier) && p.id !== 'bf16') continue
      for (const o of offers) {
        const g = gpuById.get(o.gpu)
        if (g == null) continue
        const opt = evaluate(m, p, o, g, contextTokens, concurrency)
        if (opt != null) options.push(opt)
      }
    }
  }
  if (options.length === 0) throw new TenpakError(ErrorCode.UNSUPPORTED, `no catalog GPU offer can hold ${requested.id} (or an eligible substitute) with a ${contextTokens}-token context`)
  options.sort((a, b) => a.costPer1k - b.costPer1k)
  const best = options[0]

  // baseline: the requested model unquantized on its cheapest offer, else the smallest preset that fits
  const baselineCandidates = presets.filter(p => p.id === 'bf16').concat(presets.filter(p => p.id !== 'bf16').sort((a, b) => b.bitsPerWeight - a.bitsPerWeight))
  let baseline: Option | undefined
  for (const p of baselineCandidates) {
    const fits = offers.flatMap(o => {
      const g = gpuById.get(o.gpu)
      const opt = g != null ? evaluate(requested, p, o, g, contextTokens, concurrency) : null
      return opt != null ? [opt] : []
    }).sort((a, b) => a.costPer1k - b.costPer1k)
    if (fits.length > 0) { baseline = fits[0]; break }
  }
  if (baseline == null) throw new TenpakError(ErrorCode.UNSUPPORTED, `no catalog GPU offer can hold ${requested.id}`)
  const savingsPct = 100 * (baseline.costPer1k - best.costPer1k) / baseline.costPer1k

  // reasoning: templates contain no digits; every number is a cited figure
  const r = new StepBuilder()
  const thresholdSource: Citation = req.qualityThreshold != null ? { kind: 'config', title: 'qualityThreshold from the request' } : DEFAULT_THRESHOLD
  r.add('Prompt difficulty {score} ({tier}, category {category}) from {signals} heuristic rules; about {tokens} prompt tokens at {cpt} characters per token.', {
    score: fig(difficulty.score, 'score', DIFFICULTY_DOC),
    tier: name(difficulty.tier),
    category: name(difficulty.category),
    signals: fig(difficulty.signals.length, 'rules', DIFFICULTY_DOC),
    tokens: fig(difficulty.estimatedTokens, 'tokens', derived('ceil(prompt characters / characters per token)')),
    cpt: fig(CHARS_PER_TOKEN, 'characters/token', TOKENS_RULE)
  })
  if (reqScore != null) {
    r.add('{requested} scores {reqScore} on {label}; with quality threshold {threshold} a {tier} prompt needs a fraction {fraction} of that: {required}.', {
      requested: name(requested.id),
      reqScore: fig(reqScore.value, 'score', reqScore.source),
      label: name(reqScore.label),
      threshold: fig(threshold, 'fraction', thresholdSource),
      tier: name(difficulty.tier),
      fraction: fig(fraction, 'fraction', TIER_RULE),
      required: fig(requiredScore, 'score', derived('requested score × fraction'))
    })
  }
  if (best.model !== requested) {
    const s = pickScore(best.model, benchmark) as BenchmarkScore
    r.add('{model} scores {score} on the same benchmark, at least {required}: eligible as a substitute.', {
      model: name(best.model.id), score: fig(s.value, 'score', s.source), required: fig(requiredScore, 'score', derived('requested score × fraction'))
    })
  } else {
    r.add('No cheaper model in the catalog reaches the required score on the same benchmark, so {model} is kept.', { model: name(requested.id) })
  }
  const a = best.model.architecture
  r.add('{model} has {params} parameters; {preset} stores {bits} bits per weight, so weights take {weights} GB; the KV cache for {ctx} tokens ({layers} layers, {kv} KV heads of dimension {hd}) takes {kvgb} GB.', {
    model: name(best.model.id),
    params: fig(best.model.params.value, best.model.params.unit, best.model.params.source),
    preset: name(best.preset.name),
    bits: fig(best.preset.bitsPerWeight, 'bits/weight', best.preset.source),
    weights: fig(best.weightsGB, 'GB', derived('parameters × bits per weight / 8 / 10^9')),
    ctx: fig(contextTokens, 'tokens', derived('prompt tokens + maxOutputTokens')),
    layers: fig(a.layers, 'layers', a.source),
    kv: fig(a.kvHeads, 'heads', a.source),
    hd: fig(a.headDim, 'dims', a.source),
    kvgb: fig(best.kvGB, 'GB', KV_BYTES)
  })
  r.add('{offer} ({provider}) has {count} × {gpu} of {mem} GB; at vLLM\'s default utilisation {util} that leaves {usable} GB, enough for {need} GB.', {
    offer: name(best.offer.instanceType),
    provider: name(best.offer.provider),
    count: fig(best.offer.gpuCount, 'GPUs', best.offer.specSource),
    gpu: name(best.gpu.name),
    mem: fig(best.gpu.memoryGB.value, 'GB', best.gpu.memoryGB.source),
    util: fig(GPU_MEMORY_UTILIZATION, 'fraction', VLLM_UTIL),
    usable: fig(best.usableGB, 'GB', derived('GPUs × memory × utilisation')),
    need: fig(best.weightsGB + best.kvGB, 'GB', derived('weights + KV cache'))
  })
  r.add('Decoding is memory-bandwidth bound: {count} × {bw} GB/s over {need} GB per step gives at most {tps} tokens/s.', {
    count: fig(best.offer.gpuCount, 'GPUs', best.offer.specSource),
    bw: fig(best.gpu.bandwidthGBs.value, 'GB/s', best.gpu.bandwidthGBs.source),
    need: fig(best.weightsGB + best.kvGB, 'GB', derived('weights + KV cache')),
    tps: fig(best.tokensPerSecond, 'tokens/s', ROOFLINE)
  })
  r.add('At {price} USD/hour that is {cost} USD per thousand generated tokens.', {
    price: fig(best.offer.hourlyUsd.value, 'USD/hour', best.offer.hourlyUsd.source),
    cost: fig(best.costPer1k, 'USD/1k tokens', derived('price per hour / (tokens per second × 3600) × 1000'))
  })
  r.add('Baseline {model} as {preset} on {offer} at {price} USD/hour: {cost} USD per thousand tokens; the recommendation saves {savings} percent.', {
    model: name(requested.id),
    preset: name(baseline.preset.name),
    offer: name(baseline.offer.instanceType),
    price: fig(baseline.offer.hourlyUsd.value, 'USD/hour', baseline.offer.hourlyUsd.source),
    cost: fig(baseline.costPer1k, 'USD/1k tokens', derived('same method as above for the baseline')),
    savings: fig(savingsPct, 'percent', derived('100 × (baseline − recommended) / baseline'))
  })

  return {
    requestedModel: requested.id,
    recommendedModel: best.model.id,
    hardware: hardwareOf(best),
    preset: best.preset.id,
    estimatedCostPer1kTokens: best.costPer1k,
    savingsPct,
    baseline: { model: requested.id, preset: baseline.preset.id, hardware: hardwareOf(baseline), estimatedCostPer1kTokens: baseline.costPer1k },
    difficulty,
    reasoning: r.steps
  }
}
