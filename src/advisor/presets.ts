/**
 * The nine quantization presets `tenpak presets` lists: what each stores per
 * weight, what it costs in size, whether it needs calibration data, which
 * runtimes load it, its published quality impact (cited) and the exact
 * upstream commands that produce it. Four of them tenpak can also produce
 * natively (see `nativeQuantizer`); Q4_0 is an extra native quantizer that is
 * not one of the nine. Bits-per-weight derivations are spelled out per preset.
 */

import { checked, published, type Citation } from './citations.js'
import type { NativeQuantizerId } from './quantize/types.js'

/** Preset ids. */
export const PresetId = {
  GPTQ_INT4_G128: 'gptq-int4-g128',
  GPTQ_INT8_G128: 'gptq-int8-g128',
  AWQ_INT4_G128: 'awq-int4-g128',
  BNB_NF4: 'bnb-nf4',
  BNB_FP4: 'bnb-fp4',
  BNB_INT8: 'bnb-int8',
  GGUF_Q4_K_M: 'gguf-q4_k_m',
  GGUF_Q8_0: 'gguf-q8_0',
  FP8_E4M3: 'fp8-e4m3'
} as const

/** One of {@link PresetId}. */
export type PresetIdValue = typeof PresetId[keyof typeof PresetId]

/** Serving runtimes a preset can be loaded by. */
export type Runtime = 'vLLM' | 'TGI' | 'transformers' | 'llama.cpp'

/** A quantization preset. */
export interface QuantPreset {
  id: PresetIdValue
  name: string
  /** effective storage bits per weight of a quantized linear weight, scales and zero points included */
  bitsPerWeight: number
  /** how {@link QuantPreset.bitsPerWeight} is obtained */
  bitsPerWeightDerivation: string
  /** bitsPerWeight / 16: expected size of quantized weights relative to bf16 */
  sizeVsBf16: number
  /** needs a calibration dataset to produce */
  needsCalibration: boolean
  runtimes: Runtime[]
  /** per-runtime caveats */
  runtimeNotes?: string[]
  /** published quality impact, each claim cited */
  quality: { summary: string, citations: Citation[] }
  /** the upstream tool and its exact commands (placeholders MODEL, MODEL_DIR, OUT) */
  produce: { tool: string, cli: string | null, python: string | null }
  /** the tenpak native quantizer that writes this format, if any */
  nativeQuantizer: NativeQuantizerId | null
  /** `tenpak quantize` invocation when native */
  tenpakCommand: string | null
}

const GPTQ_PAPER = checked(published('Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers", ICLR 2023 — abstract',
  'https://arxiv.org/abs/2210.17323',
  '"GPTQ can quantize GPT models with 175 billion parameters in approximately four GPU hours, reducing the bitwidth down to 3 or 4 bits per weight, with negligible accuracy degradation relative to the uncompressed baseline."'),
  'primary', 'The quoted sentence read in stored copies of the arXiv abstract (paperswithcode.com).')
const AWQ_PAPER = checked(published('Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration", MLSys 2024 — abstract',
  'https://arxiv.org/abs/2306.00978',
  '"protecting only 1% of salient weights can greatly reduce quantization error" … "AWQ outperforms existing work on various language modeling and domain-specific benchmarks."'),
  'primary', 'Both quoted phrases read in stored copies of the arXiv abstract (ar5iv.labs.arxiv.org, summarizepaper.com).')
const QLORA = checked(published('Dettmers et al., "QLoRA: Efficient Finetuning of Quantized LLMs", 2023 — abstract and §3',
  'https://arxiv.org/abs/2305.14314',
  'NF4 is "information theoretically optimal for normally distributed weights"; QLoRA finetunes a 65B model on one 48GB GPU "while preserving full 16-bit finetuning task performance"; double quantization reduces the quantization constants from 32/64 = 0.5 to 8/64 + 32/(64·256) = 0.127 bits per parameter.'),
  'primary', 'The 65B / 48GB / "preserving full 16-bit finetuning task performance" sentence read in stored copies of the arXiv abstract; the NF4 optimality phrase and the 0.5 → 0.127 bits double-quantization figures are confirmed only by third-party summaries of §3 (secondary).')
const QLORA_FP4 = checked(published('Dettmers et al., "QLoRA", 2023 — §4 (4-bit data type comparison)',
  'https://arxiv.org/abs/2305.14314',
  'Reports that the NF4 data type gives better zero-shot accuracy and perplexity than 4-bit Float (FP4) at the same bit width; no separate FP4 deployment figure is published.'),
  'secondary', 'The paper body (§4) was not in the stored sources; third-party summaries state that NF4 outperforms FP4 at equal bit width.')
const LLM_INT8 = checked(published('Dettmers et al., "LLM.int8(): 8-bit Matrix Multiplication for Transformers at Scale", NeurIPS 2022 — abstract',
  'https://arxiv.org/abs/2208.07339',
  '"…Int8 matrix multiplication for feed-forward and attention projection layers in transformers, which cut the memory needed for inference by half while retaining full precision performance."'),
  'primary', 'The quoted sentence read in stored copies of the arXiv abstract (wiki.papiers.ai, roastidio.us).')
const LLAMA_CPP_QUANTIZE = checked(published('llama.cpp, tools/quantize/quantize.cpp (QUANT_OPTIONS, printed by `llama-quantize --help`)',
  'https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/quantize.cpp',
  '"Q4_K_M : 4.58G, +0.1754 ppl @ Llama-3-8B"; "Q8_0 : 7.96G, +0.0026 ppl @ Llama-3-8B"; "Q4_0 : 4.34G, +0.4685 ppl @ Llama-3-8B"'),
  'primary', 'QUANT_OPTIONS lines read in stored copies of tools/quantize/quantize.cpp and of `llama-quantize --help` output.')
const LLAMA_CPP_README = checked(published('llama.cpp, tools/quantize/README.md (meta-llama/Llama-3.1-8B table)',
  'https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/README.md',
  'Llama-3.1-8B: Q4_K_M 4.8944 bits/weight, 4.58 GiB; Q8_0 8.5008 bits/weight, 7.95 GiB; F16 16.0005 bits/weight.'),
  'unverified', 'The README table (Llama-3.1-8B bits per weight) was not found in the stored sources; 4.8944 and 8.5008 bits/weight are not independently confirmed (8.5 bits/weight for Q8_0 follows from its 34-byte block of 32 weights).')
const VLLM_FP8 = checked(published('vLLM documentation, "FP8 W8A8"',
  'https://docs.vllm.ai/en/stable/features/quantization/fp8/',
  '"Quantization of models with FP8 allows for a 2x reduction in model memory requirements and up to a 1.6x improvement in throughput with minimal impact on accuracy." Online dynamic mode quantizes Linear weights (except lm_head) "to FP8_E4M3 precision with a per-tensor scale".'),
  'primary', 'The quoted sentence read in the stored vLLM docs page (docs.vllm.ai, features/quantization/fp8) and its source in vllm-project/vllm.')

const TRANSFORMERS_GPTQ = (bits: 4 | 8): string => [
  'from transformers import AutoModelForCausalLM, AutoTokenizer, GPTQConfig',
  'tokenizer = AutoTokenizer.from_pretrained("MODEL")',
  `config = GPTQConfig(bits=${bits}, group_size=128, dataset="c4", tokenizer=tokenizer)`,
  'model = AutoModelForCausalLM.from_pretrained("MODEL", device_map="auto", quantization_config=config)',
  'model.save_pretrained("OUT")'
].join('\n')

const TRANSFORMERS_BNB = (args: string): string => [
  'import torch',
  'from transformers import AutoModelForCausalLM, BitsAndBytesConfig',
  `config = BitsAndBytesConfig(${args})`,
  'model = AutoModelForCausalLM.from_pretrained("MODEL", device_map="auto", quantization_config=config)',
  'model.save_pretrained("OUT")'
].join('\n')

/** The nine presets, in the order `tenpak presets` prints them. */
export const PRESETS: readonly QuantPreset[] = Object.freeze([
  {
    id: PresetId.GPTQ_INT4_G128,
    name: 'GPTQ 4-bit (group 128)',
    bitsPerWeight: 4 + (16 + 4) / 128,
    bitsPerWeightDerivation: '4-bit codes + per group of 128 weights one fp16 scale (16 bits) and one 4-bit packed zero point (qzeros) = 4 + 20/128 = 4.15625; g_idx adds 32 bits per input channel (32/out_features per weight, ≈0.008 at 4096). The often-quoted 4.25 assumes a 16-bit zero point.',
    sizeVsBf16: (4 + 20 / 128) / 16,
    needsCalibration: true,
    runtimes: ['vLLM', 'TGI', 'transformers'],
    quality: { summary: 'Negligible accuracy loss at 3–4 bits on 175B-parameter models, per the GPTQ authors; measure your model with --eval.', citations: [GPTQ_PAPER] },
    produce: { tool: 'transformers + optimum/GPTQModel (successor of AutoGPTQ)', cli: null, python: TRANSFORMERS_GPTQ(4) },
    nativeQuantizer: null,
    tenpakCommand: null
  },
  {
    id: PresetId.GPTQ_INT8_G128,
    name: 'GPTQ 8-bit (group 128)',
    bitsPerWeight: 8 + (16 + 8) / 128,
    bitsPerWeightDerivation: '8-bit codes + per group of 128 one fp16 scale and one 8-bit packed zero point = 8 + 24/128 = 8.1875 (+ g_idx, as for 4-bit).',
    sizeVsBf16: (8 + 24 / 128) / 16,
    needsCalibration: true,
    runtimes: ['vLLM', 'transformers'],
    quality: { summary: 'Not published: the GPTQ paper evaluates 2–4 bits. Supply measured numbers with --eval.', citations: [GPTQ_PAPER] },
    produce: { tool: 'transformers + optimum/GPTQModel', cli: null, python: TRANSFORMERS_GPTQ(8) },
    nativeQuantizer: null,
    tenpakCommand: null
  },
  {
    id: PresetId.AWQ_INT4_G128,
    name: 'AWQ 4-bit (group 128, GEMM)',
    bitsPerWeight: 4 + (16 + 4) / 128,
    bitsPerWeightDerivation: 'AutoAWQ GEMM layout: 4-bit codes + per group of 128 one fp16 scale and one 4-bit zero point = 4 + 20/128 = 4.15625.',
    sizeVsBf16: (4 + 20 / 128) / 16,
    needsCalibration: true,
    runtimes: ['vLLM', 'TGI', 'transformers'],
    quality: { summary: 'The AWQ authors report lower error than prior 4-bit methods, without published per-model figures here; measure with --eval.', citations: [AWQ_PAPER] },
    produce: {
      tool: 'AutoAWQ',
      cli: null,
      python: [
        'from awq import AutoAWQForCausalLM',
        'from transformers import AutoTokenizer',
        'model = AutoAWQForCausalLM.from_pretrained("MODEL")',
        'tokenizer = AutoTokenizer.from_pretrained("MODEL")',
        'model.quantize(tokenizer, quant_config={"zero_point": True, "q_group_size": 128, "w_bit": 4, "version": "GEMM"})',
        'model.save_quantized("OUT")'
      ].join('\n')
    },
    nativeQuantizer: null,
    tenpakCommand: null
  },
  {
    id: PresetId.BNB_NF4,
    name: 'bitsandbytes NF4',
    bitsPerWeight: 4 + 32 / 64,
    bitsPerWeightDerivation: '4-bit NF4 codes + one fp32 absmax per block of 64 = 4 + 32/64 = 4.5 (what tenpak and the command below write). With bnb_4bit_use_double_quant=True the absmax are themselves 8-bit quantized: 4 + 8/64 + 32/(64·256) ≈ 4.127 (QLoRA §3).',
    sizeVsBf16: 4.5 / 16,
    needsCalibration: false,
    runtimes: ['transformers', 'TGI', 'vLLM'],
    quality: { summary: 'QLoRA reports NF4 (with double quantization) preserves 16-bit finetuning task performance.', citations: [QLORA] },
    produce: { tool: 'bitsandbytes via transformers', cli: 'text-generation-launcher --model-id MODEL --quantize bitsandbytes-nf4', python: TRANSFORMERS_BNB('load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16') },
    nativeQuantizer: 'nf4',
    tenpakCommand: 'tenpak quantize REPO --preset nf4'
  },
  {
    id: PresetId.BNB_FP4,
    name: 'bitsandbytes FP4',
    bitsPerWeight: 4 + 32 / 64,
    bitsPerWeightDerivation: 'Same layout as NF4 with the FP4 code table: 4 + 32/64 = 4.5 (≈4.127 with double quantization).',
    sizeVsBf16: 4.5 / 16,
    needsCalibration: false,
    runtimes: ['transformers', 'TGI'],
    quality: { summary: 'The QLoRA authors found NF4 more accurate than FP4 at equal size; prefer NF4.', citations: [QLORA_FP4] },
    produce: { tool: 'bitsandbytes via transformers', cli: 'text-generation-launcher --model-id MODEL --quantize bitsandbytes-fp4', python: TRANSFORMERS_BNB('load_in_4bit=True, bnb_4bit_quant_type="fp4", bnb_4bit_compute_dtype=torch.bfloat16') },
    nativeQuantizer: null,
    tenpakCommand: null
  },
  {
    id: PresetId.BNB_INT8,
    name: 'bitsandbytes INT8 (LLM.int8())',
    bitsPerWeight: 8 + 32 / 4096,
    bitsPerWeightDerivation: 'int8 codes + one fp32 absmax (SCB) per row: 8 + 32/in_features; 8.0078 for 4096 input features.',
    sizeVsBf16: (8 + 32 / 4096) / 16,
    needsCalibration: false,
    runtimes: ['transformers', 'TGI'],
    quality: { summary: 'Halves inference memory while retaining full-precision performance, per the LLM.int8() authors.', citations: [LLM_INT8] },
    produce: { tool: 'bitsandbytes via transformers', cli: 'text-generation-launcher --model-id MODEL --quantize bitsandbytes', python: TRANSFORMERS_BNB('load_in_8bit=True') },
    nativeQuantizer: 'int8',
    tenpakCommand: 'tenpak quantize REPO --preset int8'
  },
  {
    id: PresetId.GGUF_Q4_K_M,
    name: 'GGUF Q4_K_M',
    bitsPerWeight: 4.8944,
    bitsPerWeightDerivation: 'Mixed: mostly Q4_K (4.5 bpw: 256-weight super-blocks with 6-bit scales/mins and fp16 d, dmin) with some tensors (e.g. attn_v, ffn_down) in Q6_K (6.5625 bpw); 4.8944 bpw measured on Llama-3.1-8B by llama.cpp.',
    sizeVsBf16: 4.8944 / 16,
    needsCalibration: false,
    runtimes: ['llama.cpp', 'vLLM', 'transformers'],
    runtimeNotes: ['vLLM: GGUF support is marked experimental.', 'transformers: `gguf_file=` dequantizes to full precision when loading.', 'An importance matrix (llama-imatrix) is optional and improves quality.'],
    quality: { summary: '+0.1754 perplexity on Llama-3-8B (llama.cpp\'s own measurement).', citations: [LLAMA_CPP_QUANTIZE, LLAMA_CPP_README] },
    produce: { tool: 'llama.cpp', cli: 'python convert_hf_to_gguf.py MODEL_DIR --outtype f16 --outfile model-f16.gguf && ./llama-quantize model-f16.gguf model-Q4_K_M.gguf Q4_K_M', python: null },
    nativeQuantizer: null,
    tenpakCommand: null
  },
  {
    id: PresetId.GGUF_Q8_0,
    name: 'GGUF Q8_0',
    bitsPerWeight: 34 * 8 / 32,
    bitsPerWeightDerivation: 'Blocks of 32 weights: one fp16 scale + 32 int8 = 34 bytes = 8.5 bits per weight (llama.cpp measures 8.5008 on a whole Llama-3.1-8B file).',
    sizeVsBf16: 8.5 / 16,
    needsCalibration: false,
    runtimes: ['llama.cpp', 'vLLM', 'transformers'],
    runtimeNotes: ['vLLM: GGUF support is marked experimental.', 'transformers: `gguf_file=` dequantizes to full precision when loading.'],
    quality: { summary: '+0.0026 perplexity on Llama-3-8B (llama.cpp\'s own measurement).', citations: [LLAMA_CPP_QUANTIZE, LLAMA_CPP_README] },
    produce: { tool: 'llama.cpp', cli: 'python convert_hf_to_gguf.py MODEL_DIR --outtype q8_0 --outfile model-Q8_0.gguf', python: null },
    nativeQuantizer: 'q8_0',
    tenpakCommand: 'tenpak quantize REPO --preset q8_0'
  },
  {
    id: PresetId.FP8_E4M3,
    name: 'FP8 E4M3 (per-tensor scale)',
    bitsPerWeight: 8,
    bitsPerWeightDerivation: '8-bit E4M3 codes + one fp32 scale per tensor: 8 + 32/(rows·cols) ≈ 8.0.',
    sizeVsBf16: 8 / 16,
    needsCalibration: false,
    runtimes: ['vLLM', 'TGI'],
    runtimeNotes: ['W8A8 compute needs compute capability ≥ 8.9 (Ada, Hopper); older GPUs run it weight-only (vLLM docs).', 'llm-compressor\'s FP8_DYNAMIC scheme uses per-channel weight scales instead of per-tensor.'],
    quality: { summary: '2× less weight memory with "minimal impact on accuracy", per the vLLM documentation.', citations: [VLLM_FP8] },
    produce: {
      tool: 'vLLM (online) / llm-compressor (checkpoint)',
      cli: 'vllm serve MODEL --quantization fp8',
      python: [
        'from transformers import AutoModelForCausalLM',
        'from llmcompressor import oneshot',
        'from llmcompressor.modifiers.quantization import QuantizationModifier',
        'model = AutoModelForCausalLM.from_pretrained("MODEL", torch_dtype="auto")',
        'oneshot(model=model, recipe=QuantizationModifier(targets="Linear", scheme="FP8_DYNAMIC", ignore=["lm_head"]))',
        'model.save_pretrained("OUT")'
      ].join('\n')
    },
    nativeQuantizer: 'fp8',
    tenpakCommand: 'tenpak quantize REPO --preset fp8'
  }
])

/** Facts about the native Q4_0 quantizer, which is not one of the nine presets. */
export const Q4_0_INFO = Object.freeze({
  id: 'q4_0' as const,
  name: 'GGUF Q4_0',
  bitsPerWeight: 18 * 8 / 32,
  bitsPerWeightDerivation: 'Blocks of 32: one fp16 scale + 16 bytes of 4-bit codes = 18 bytes = 4.5 bits per weight.',
  quality: { summary: '+0.4685 perplexity on Llama-3-8B (llama.cpp\'s own measurement).', citations: [LLAMA_CPP_QUANTIZE] }
})

/** Effective bits per weight of each native quantizer's quantized tensors. */
export const NATIVE_BITS_PER_WEIGHT: Readonly<Record<NativeQuantizerId, number>> = Object.freeze({
  int8: 8, // + 32 bits per row, exact per tensor in the plan
  nf4: 4.5,
  fp8: 8,
  q8_0: 8.5,
  q4_0: 4.5
})

/** The preset with this id, or undefined. */
export function getPreset (id: string): QuantPreset | undefined {
  return PRESETS.find(p => p.id === id)
}

/** The preset a native quantizer produces, if it is one of the nine. */
export function presetForNative (q: NativeQuantizerId): QuantPreset | undefined {
  return PRESETS.find(p => p.nativeQuantizer === q)
}

/** Plain data for `tenpak presets --json` and `GET /v1/presets`. */
export function listPresets (): QuantPreset[] {
  return PRESETS.map(p => ({ ...p, runtimes: [...p.runtimes] }))
}
