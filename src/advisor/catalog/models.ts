/**
 * Model catalog for routing: parameter counts, context lengths, the
 * architecture figures the KV-cache size needs, and published benchmark
 * scores — each with the document that states it. Scores are only compared
 * when they come from the same evaluation (`harness`): numbers from different
 * harnesses are not comparable, so e.g. Mistral 7B's paper scores never stand
 * in for Meta's model-card scores.
 */

import { checked, published, type Citation, type CitedValue } from '../citations.js'

/** Benchmarks the router knows, by the prompt category they stand for. */
export type BenchmarkId = 'mmlu' | 'gsm8k-cot' | 'humaneval' | 'math-cot'

/** One published score. */
export interface BenchmarkScore {
  benchmark: BenchmarkId
  /** as the source labels it, e.g. "MMLU (5-shot, macro_avg/acc)" */
  label: string
  /** scores are comparable only within one harness */
  harness: string
  value: number
  source: Citation
}

/** Architecture figures for the KV cache: 2 × layers × kvHeads × headDim values per token. */
export interface ModelArchitecture {
  layers: number
  kvHeads: number
  headDim: number
  source: Citation
}

/** A servable model. */
export interface ModelEntry {
  id: string
  /** other names it is requested by (matched case-insensitively) */
  aliases: string[]
  family: string
  params: CitedValue
  contextLength: CitedValue
  architecture: ModelArchitecture
  scores: BenchmarkScore[]
}

const LLAMA31_CARD = checked(published('Meta, Llama 3.1 model card',
  'https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/MODEL_CARD.md',
  'Params 8B / 70B / 405B, context length 128k; instruction-tuned: MMLU (5-shot, macro_avg/acc) 69.4 / 83.6 / 87.3, GSM-8K (CoT, 8-shot, em_maj1@1) 84.5 / 95.1 / 96.8, HumanEval (0-shot, pass@1) 72.6 / 80.5 / 89.0, MATH (CoT, 0-shot, final_em) 51.9 / 68.0 / 73.8.'),
'primary', 'Every figure read in the stored models/llama3_1/MODEL_CARD.md of meta-llama/llama-models ("Instruction tuned models" table; context length 128k).')
const LLAMA32_CARD = checked(published('Meta, Llama 3.2 model card',
  'https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/MODEL_CARD.md',
  'Params 1B (1.23B) / 3B (3.21B), context length 128k; instruction-tuned: MMLU (5-shot, macro_avg/acc) 49.3 / 63.4, GSM8K (CoT, 8-shot, em_maj1@1) 44.4 / 77.7, MATH (CoT) 30.6 / 47.3 (same table lists Llama 3.1 8B at 69.4 / 84.5 / 51.9).'),
'primary', 'Every figure read in the stored models/llama3_2/MODEL_CARD.md of meta-llama/llama-models.')
// The Llama 3 paper (arXiv:2407.21783, Table 3) gives the same figures; it was not among the
// stored sources, so the architecture is cited from Meta's own model definitions instead.
const LLAMA31_ARCH = checked(published('Meta, llama-models: models/llama3_1/api/sku_list.py (model_args)',
  'https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/api/sku_list.py',
  '8B: dim 4096, n_layers 32, n_heads 32, n_kv_heads 8; 70B: dim 8192, n_layers 80, n_heads 64, n_kv_heads 8; 405B: dim 16384, n_layers 126, n_heads 128, n_kv_heads 8 (head dimension dim / n_heads = 128).'),
'primary', 'Read in the stored sku_list.py of meta-llama/llama-models. Previously cited to the Llama 3 paper, Table 3, which was not available to check (third-party notes of Table 3 give the same 32/80/126 layers).')
const LLAMA32_1B_CONFIG = checked(published('meta-llama/Llama-3.2-1B config.json',
  'https://huggingface.co/meta-llama/Llama-3.2-1B/blob/main/config.json',
  'num_hidden_layers 16, num_key_value_heads 8, head_dim 64 (hidden_size 2048, 32 attention heads).'),
'secondary', 'The gated Hugging Face file was not in the stored sources; verbatim copies of the config (one recording the Hub commit hash 4e20de36…) in public code give num_hidden_layers 16, num_key_value_heads 8, head_dim 64.')
const LLAMA32_3B_CONFIG = checked(published('meta-llama/Llama-3.2-3B config.json',
  'https://huggingface.co/meta-llama/Llama-3.2-3B/blob/main/config.json',
  'num_hidden_layers 28, num_key_value_heads 8, head_dim 128 (hidden_size 3072, 24 attention heads).'),
'secondary', 'The gated Hugging Face file was not in the stored sources; copies of the config in public code give hidden_size 3072, 24 heads (head dim 128), 8 KV heads, 28 layers.')
const MISTRAL_PAPER_ARCH = checked(published('Jiang et al., "Mistral 7B", 2023 — Table 1',
  'https://arxiv.org/abs/2310.06825',
  'dim 4096, n_layers 32, head_dim 128, n_heads 32, n_kv_heads 8, context_len 8192.'),
'secondary', 'The paper body was not in the stored sources (only its abstract); copies of Table 1 in public code give dim 4096, n_layers 32, head_dim 128, n_heads 32, n_kv_heads 8, window_size 4096, context_len 8192.')
const MISTRAL_PAPER_MMLU = checked(published('Jiang et al., "Mistral 7B", 2023 — Table 2',
  'https://arxiv.org/abs/2310.06825',
  'MMLU 60.1%.'),
'unverified', 'Could not be confirmed: Table 2 was not in the stored sources. A stored copy of the early Mistral-7B-v0.1 model card reports mmlu 59.99% from Mistral\'s own evaluation library, consistent with but not identical to 60.1%.')
const MISTRAL_ANNOUNCE = checked(published('Mistral AI, "Mistral 7B" announcement',
  'https://mistral.ai/news/announcing-mistral-7b',
  '"Mistral 7B is a 7.3B parameter model".'),
'secondary', 'Mistral\'s page was not in the stored sources; copies of the announcement text (e.g. hacktech.info, lmstudio.ai) read "Mistral 7B is a 7.3B parameter model".')

const META = 'meta-llama-model-card'

function llamaScores (source: Citation, s: { mmlu: number, gsm8k?: number, humaneval?: number, math?: number }): BenchmarkScore[] {
  const out: BenchmarkScore[] = [{ benchmark: 'mmlu', label: 'MMLU (5-shot, macro_avg/acc)', harness: META, value: s.mmlu, source }]
  if (s.gsm8k != null) out.push({ benchmark: 'gsm8k-cot', label: 'GSM-8K (CoT, 8-shot, em_maj1@1)', harness: META, value: s.gsm8k, source })
  if (s.humaneval != null) out.push({ benchmark: 'humaneval', label: 'HumanEval (0-shot, pass@1)', harness: META, value: s.humaneval, source })
  if (s.math != null) out.push({ benchmark: 'math-cot', label: 'MATH (CoT, 0-shot, final_em)', harness: META, value: s.math, source })
  return out
}

const tokens128k = (source: Citation): CitedValue => ({ value: 131072, unit: 'tokens', source })

/** The built-in model catalog. */
export const MODEL_CATALOG: readonly ModelEntry[] = Object.freeze([
  {
    id: 'meta-llama/Llama-3.2-1B-Instruct',
    aliases: ['llama-3.2-1b', 'llama3.2-1b', 'llama-3.2-1b-instruct'],
    family: 'llama-3',
    params: { value: 1.23e9, unit: 'parameters', source: LLAMA32_CARD },
    contextLength: tokens128k(LLAMA32_CARD),
    architecture: { layers: 16, kvHeads: 8, headDim: 64, source: LLAMA32_1B_CONFIG },
    scores: llamaScores(LLAMA32_CARD, { mmlu: 49.3, gsm8k: 44.4, math: 30.6 })
  },
  {
    id: 'meta-llama/Llama-3.2-3B-Instruct',
    aliases: ['llama-3.2-3b', 'llama3.2-3b', 'llama-3.2-3b-instruct'],
    family: 'llama-3',
    params: { value: 3.21e9, unit: 'parameters', source: LLAMA32_CARD },
    contextLength: tokens128k(LLAMA32_CARD),
    architecture: { layers: 28, kvHeads: 8, headDim: 128, source: LLAMA32_3B_CONFIG },
    scores: llamaScores(LLAMA32_CARD, { mmlu: 63.4, gsm8k: 77.7, math: 47.3 })
  },
  {
    id: 'meta-llama/Llama-3.1-8B-Instruct',
    aliases: ['llama-3.1-8b', 'llama3.1-8b', 'llama-3.1-8b-instruct', 'meta-llama-3.1-8b-instruct'],
    family: 'llama-3',
    params: { value: 8e9, unit: 'parameters (nominal)', source: LLAMA31_CARD },
    contextLength: tokens128k(LLAMA31_CARD),
    architecture: { layers: 32, kvHeads: 8, headDim: 128, source: LLAMA31_ARCH },
    scores: llamaScores(LLAMA31_CARD, { mmlu: 69.4, gsm8k: 84.5, humaneval: 72.6, math: 51.9 })
  },
  {
    id: 'meta-llama/Llama-3.1-70B-Instruct',
    aliases: ['llama-3.1-70b', 'llama3.1-70b', 'llama-3.1-70b-instruct', 'meta-llama-3.1-70b-instruct'],
    family: 'llama-3',
    params: { value: 70e9, unit: 'parameters (nominal)', source: LLAMA31_CARD },
    contextLength: tokens128k(LLAMA31_CARD),
    architecture: { layers: 80, kvHeads: 8, headDim: 128, source: LLAMA31_ARCH },
    scores: llamaScores(LLAMA31_CARD, { mmlu: 83.6, gsm8k: 95.1, humaneval: 80.5, math: 68.0 })
  },
  {
    id: 'meta-llama/Llama-3.1-405B-Instruct',
    aliases: ['llama-3.1-405b', 'llama3.1-405b', 'llama-3.1-405b-instruct', 'meta-llama-3.1-405b-instruct'],
    family: 'llama-3',
    params: { value: 405e9, unit: 'parameters (nominal)', source: LLAMA31_CARD },
    contextLength: tokens128k(LLAMA31_CARD),
    architecture: { layers: 126, kvHeads: 8, headDim: 128, source: LLAMA31_ARCH },
    scores: llamaScores(LLAMA31_CARD, { mmlu: 87.3, gsm8k: 96.8, humaneval: 89.0, math: 73.8 })
  },
  {
    id: 'mistralai/Mistral-7B-v0.1',
    aliases: ['mistral-7b', 'mistral-7b-v0.1'],
    family: 'mistral',
    params: { value: 7.3e9, unit: 'parameters', source: MISTRAL_ANNOUNCE },
    contextLength: { value: 8192, unit: 'tokens', source: MISTRAL_PAPER_ARCH },
    architecture: { layers: 32, kvHeads: 8, headDim: 128, source: MISTRAL_PAPER_ARCH },
    scores: [{ benchmark: 'mmlu', label: 'MMLU (5-shot)', harness: 'mistral-7b-paper', value: 60.1, source: MISTRAL_PAPER_MMLU }]
  }
])

/** Find a model by id or alias (case-insensitive) in `catalog`. */
export function findModel (catalog: readonly ModelEntry[], name: string): ModelEntry | undefined {
  const n = name.trim().toLowerCase()
  return catalog.find(m => m.id.toLowerCase() === n || m.aliases.some(a => a.toLowerCase() === n) || m.id.toLowerCase().split('/')[1] === n)
}
