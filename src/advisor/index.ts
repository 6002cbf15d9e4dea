/**
 * advisor/: quantization presets, native quantizers, the cost optimizer,
 * smart routing and the savings calculator. This barrel is what the CLI
 * commands (`tenpak presets|quantize|optimize|route|savings|import-hf-cache`) and the HTTP
 * server import.
 */

export * from './citations.js'
export * from './error-stats.js'
export * from './float.js'
export * from './safetensors-writer.js'
export * from './presets.js'
export * from './quantize/types.js'
export * from './quantize/int8.js'
export * from './quantize/nf4.js'
export * from './quantize/fp8.js'
export * from './quantize/q8-0.js'
export * from './quantize/q4-0.js'
export * from './quantize/gguf-writer.js'
export * from './quantize/quantize-model.js'
export * from './quantize/file-sink.js'
export * from './quantize/to-stream.js'
export * from './optimize.js'
export * from './catalog/models.js'
export * from './catalog/gpus.js'
export * from './difficulty.js'
export * from './route.js'
export * from './proxy.js'
export * from './savings.js'
export * from './store-model.js'
export * from './quantize-revision.js'
export * from './hf-cache.js'
