/**
 * Quantize a stored revision into a new revision: every safetensors file of
 * REPO@REV is streamed tensor by tensor out of the store, quantized by a
 * native quantizer and written to a temporary directory together with the
 * revision's other files (copied unchanged, except that a root `config.json`
 * gains the `quantization_config` transformers needs for int8/nf4/fp8), then
 * the directory is added as a new commit with its own CIDs. The temporary
 * directory is always removed, so a failed run leaves no partial output.
 * Also: {@link optimizeRevision}, the optimizer over a stored revision.
 */

import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { AddResult, Repo } from '../repo/repo.js'
import { checkRefName, parseRepoName } from '../repo/names.js'
import { BadInputError, ErrorCode, TenpakError, fromSystemError } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'
import { figuresFromSums, type ErrorFigures } from './error-stats.js'
import { optimizeModel, type EvalEntry, type OptimizeResult } from './optimize.js'
import { presetForNative, PRESETS } from './presets.js'
import { createFileSink } from './quantize/file-sink.js'
import { outputFormatOf, quantizeModel, type QuantizeReport, type TensorReport } from './quantize/quantize-model.js'
import { isNativeQuantizer, type NativeQuantizerId, type TensorInput } from './quantize/types.js'
import { openStoredSafetensors, readStoredRange, safetensorsFiles, streamStoredTensors, type StoredSafetensors } from './store-model.js'

/** What quantizing a revision needs from the repo. */
export type RevisionStore = Pick<Repo, 'resolve' | 'manifest' | 'read' | 'tensors' | 'add'>

/**
 * A `--preset` value: a native quantizer id (`int8`, `nf4`, `fp8`, `q8_0`,
 * `q4_0`) or the id of a preset tenpak produces natively (`bnb-int8`, …).
 * Throws ERR_BAD_ARGUMENT for anything else.
 */
export function resolveNativeQuantizer (preset: string): NativeQuantizerId {
  if (isNativeQuantizer(preset)) return preset
  const p = PRESETS.find(x => x.id === preset)
  if (p?.nativeQuantizer != null) return p.nativeQuantizer
  const hint = p != null ? ` (${p.name} needs ${p.needsCalibration ? 'calibration data and ' : ''}its upstream tool: see \`tenpak presets\`)` : ''
  throw new BadInputError(ErrorCode.BAD_ARGUMENT, `preset ${JSON.stringify(preset)} is not produced natively${hint}; expected one of int8, nf4, fp8, q8_0, q4_0`)
}

/** Options of {@link quantizeRevision}. */
export interface QuantizeRevisionOptions extends AbortOptions, ProgressOptions {
  /** source repository (org/name, models/…, datasets/…) */
  repo: string
  /** source revision (branch, tag or commit; default main) */
  rev?: string
  quantizer: NativeQuantizerId
  /** target repository (default: the source repository) */
  to?: string
  /** target branch (default: `quantized-<quantizer>` in the source repo, `main` in another repo) */
  branch?: string
  message?: string
  /** parent directory for the temporary output (default: the OS temp dir) */
  tmpParent?: string
}

/** One output file of a quantized revision. */
export interface QuantizedFileReport extends ErrorFigures {
  /** source path */
  path: string
  /** output path (`.gguf` for q8_0/q4_0) */
  output: string
  format: QuantizeReport['format']
  bytes: number
  originalBytes: number
  tensorsQuantized: number
  tensorsKept: number
}

/** What {@link quantizeRevision} returns: overall figures at the top level. */
export interface QuantizeRevisionResult extends ErrorFigures {
  quantizer: NativeQuantizerId
  /** the preset id when the quantizer produces one of the nine presets */
  preset: string | null
  source: { repo: string, commit: string }
  /** Σ bytes of the quantized files */
  bytes: number
  /** Σ bytes of the source safetensors files */
  originalBytes: number
  /** originalBytes / bytes */
  compressionRatio: number
  /** per quantized tensor */
  tensors: Array<TensorReport & { file: string }>
  files: QuantizedFileReport[]
  /** other files of the revision, copied (config.json possibly amended) */
  copied: string[]
  quantizationConfig?: Record<string, unknown>
  /** the new revision */
  commit: AddResult
  notes: string[]
}

const CONFIG_JSON_LIMIT = 16 * 1024 * 1024

function outputPath (p: string, q: NativeQuantizerId): string {
  return outputFormatOf(q) === 'gguf' ? p.replace(/\.safetensors$/i, '') + '.gguf' : p
}

function localPath (root: string, repoPath: string): string {
  return path.join(root, ...repoPath.split('/'))
}

/**
 * Quantize every safetensors file of `repo@rev` and commit the result as a
 * new revision. Throws ERR_UNSUPPORTED when the revision has no safetensors
 * file; the temporary output is removed on success and on failure.
 */
export async function quantizeRevision (store: RevisionStore, options: QuantizeRevisionOptions): Promise<QuantizeRevisionResult> {
  const q = options.quantizer
  if (!isNativeQuantizer(q)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown quantizer ${String(q)}`)
  // target and branch are checked before any work, so a typo costs nothing
  const targetName = options.to != null ? parseRepoName(options.to).full : undefined
  const branch = checkRefName(options.branch ?? (options.to != null ? 'main' : `quantized-${q}`))
  const resolved = await store.resolve(options.repo, options.rev)
  const manifest = await store.manifest(resolved)
  const models = safetensorsFiles(manifest.files)
  if (models.length === 0) throw new TenpakError(ErrorCode.UNSUPPORTED, `${resolved.repo.full}@${options.rev ?? 'main'} has no safetensors file to quantize`)
  const outputs = new Set(manifest.files.filter(f => !models.includes(f)).map(f => f.path))
  for (const m of models) {
    const out = outputPath(m.path, q)
    if (outputs.has(out)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `output ${out} would overwrite a file of the revision`)
    outputs.add(out)
  }

  let tmp: string
  try {
    tmp = await fsp.mkdtemp(path.join(options.tmpParent ?? os.tmpdir(), 'tenpak-quantize-'))
  } catch (err) {
    throw fromSystemError(err, 'creating a temporary directory')
  }
  try {
    const files: QuantizedFileReport[] = []
    const tensors: QuantizeRevisionResult['tensors'] = []
    let sumSq = 0
    let sumErr = 0
    let maxAbs = 0
    let elements = 0
    let quantizationConfig: Record<string, unknown> | undefined
    for (const entry of models) {
      const file: StoredSafetensors = await openStoredSafetensors(store, entry, options)
      const out = outputPath(entry.path, q)
      const dest = localPath(tmp, out)
      await fsp.mkdir(path.dirname(dest), { recursive: true })
      const sink = await createFileSink(dest)
      let report: QuantizeReport
      try {
        report = await quantizeModel({
          quantizer: q,
          tensors: file.tensors,
          source: streamStoredTensors(store, file, options),
          sink: sink.sink,
          originalBytes: entry.size,
          metadata: file.metadata,
          gguf: { name: `${resolved.repo.id}/${entry.path}` },
          signal: options.signal,
          onProgress: options.onProgress
        })
      } finally {
        await sink.close()
      }
      if (sink.bytesWritten !== report.bytes) throw new TenpakError(ErrorCode.CODEC, `internal: ${out} is ${sink.bytesWritten} bytes, planned ${report.bytes}`)
      sumSq += report.sumSquares
      sumErr += report.sumSquaredError
      if (report.maxAbsError > maxAbs || Number.isNaN(report.maxAbsError)) maxAbs = report.maxAbsError
      elements += report.elements
      quantizationConfig ??= report.quantizationConfig
      for (const t of report.tensors) tensors.push({ file: entry.path, ...t })
      files.push({
        path: entry.path,
        output: out,
        format: report.format,
        bytes: report.bytes,
        originalBytes: entry.size,
        tensorsQuantized: report.tensors.length,
        tensorsKept: report.kept.length,
        relativeRmsError: report.relativeRmsError,
        maxAbsError: report.maxAbsError,
        sqnrDb: report.sqnrDb,
        elements: report.elements
      })
    }

    const notes = [
      'relativeRmsError = ||x - x̂|| / ||x|| over every element of every quantized tensor of every file; tensors kept unchanged are exact and not counted.',
      'Weight error is a proxy for model quality, not a perplexity or task-accuracy measurement.'
    ]
    if (outputFormatOf(q) === 'gguf') notes.push('GGUF output carries tensors and general.* keys only; llama.cpp also needs architecture hyperparameters (use convert_hf_to_gguf.py for a runnable model).')
    const copied: string[] = []
    for (const f of manifest.files) {
      if (models.includes(f)) continue
      const dest = localPath(tmp, f.path)
      await fsp.mkdir(path.dirname(dest), { recursive: true })
      if (f.path === 'config.json' && quantizationConfig != null && f.size <= CONFIG_JSON_LIMIT) {
        const amended = amendConfig(await readStoredRange(store, f, 0, f.size, options), quantizationConfig)
        if (amended != null) {
          await fsp.writeFile(dest, amended)
          copied.push(f.path)
          notes.push('config.json: quantization_config added so transformers loads the quantized weights.')
          continue
        }
        notes.push('config.json is not a JSON object: copied unchanged, add quantization_config yourself.')
      }
      try {
        await pipeline(Readable.from(store.read(f, {}, options)), fs.createWriteStream(dest))
      } catch (err) {
        throw fromSystemError(err, `writing ${dest}`)
      }
      copied.push(f.path)
    }

    const target = targetName ?? resolved.repo.full
    const overall = figuresFromSums(sumSq, sumErr, maxAbs, elements)
    const bytes = files.reduce((s, f) => s + f.bytes, 0)
    const originalBytes = files.reduce((s, f) => s + f.originalBytes, 0)
    const message = options.message ?? `tenpak quantize --preset ${q} of ${resolved.repo.full}@${resolved.cid.toString()}: relative RMS weight error ${overall.relativeRmsError}, ${bytes} bytes`
    const commit = await store.add(target, tmp, { branch, message, signal: options.signal })
    return {
      ...overall,
      quantizer: q,
      preset: presetForNative(q)?.id ?? null,
      source: { repo: resolved.repo.full, commit: resolved.cid.toString() },
      bytes,
      originalBytes,
      compressionRatio: originalBytes / bytes,
      tensors,
      files,
      copied,
      ...(quantizationConfig != null ? { quantizationConfig } : {}),
      commit,
      notes
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true })
  }
}

function amendConfig (bytes: Uint8Array, quantizationConfig: Record<string, unknown>): string | null {
  try {
    const json: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    if (json == null || typeof json !== 'object' || Array.isArray(json)) return null
    return JSON.stringify({ ...json, quantization_config: quantizationConfig }, null, 2) + '\n'
  } catch {
    return null
  }
}

/** Options of {@link optimizeRevision}. */
export interface OptimizeRevisionOptions extends AbortOptions, ProgressOptions {
  repo: string
  rev?: string
  maxError?: number
  minCompression?: number
  maxPerplexityDelta?: number
  eval?: readonly EvalEntry[]
  quantizers?: readonly NativeQuantizerId[]
  sampleRows?: number
}

/** {@link OptimizeResult} plus what was measured. */
export interface OptimizeRevisionResult extends OptimizeResult {
  source: { repo: string, commit: string, files: string[] }
}

/**
 * Run the optimizer over the safetensors files of a stored revision (one
 * pass, tensors streamed from the store). Several files are measured as one
 * model: sizes are exact for a single file; for a sharded model the candidate
 * sizes count one header instead of one per shard. Throws ERR_UNSUPPORTED
 * without safetensors files and ERR_NO_PRESET_FITS when nothing fits.
 */
export async function optimizeRevision (store: Pick<Repo, 'resolve' | 'manifest' | 'read' | 'tensors'>, options: OptimizeRevisionOptions): Promise<OptimizeRevisionResult> {
  const resolved = await store.resolve(options.repo, options.rev)
  const manifest = await store.manifest(resolved)
  const models = safetensorsFiles(manifest.files)
  if (models.length === 0) throw new TenpakError(ErrorCode.UNSUPPORTED, `${resolved.repo.full}@${options.rev ?? 'main'} has no safetensors file to measure`)
  const opened: StoredSafetensors[] = []
  for (const m of models) opened.push(await openStoredSafetensors(store, m, options))
  const counts = new Map<string, number>()
  for (const f of opened) for (const t of f.tensors) counts.set(t.name, (counts.get(t.name) ?? 0) + 1)
  // names repeated across shards get the file path as prefix so the combined table stays unique
  const rename = (file: StoredSafetensors, name: string): string => (counts.get(name) ?? 0) > 1 ? `${file.entry.path}:${name}` : name
  const tensors = opened.flatMap(f => f.tensors.map(t => ({ name: rename(f, t.name), dtype: t.dtype, shape: t.shape })))
  async function * source (): AsyncGenerator<TensorInput> {
    for (const f of opened) {
      for await (const t of streamStoredTensors(store, f, options)) yield { ...t, name: rename(f, t.name) }
    }
  }
  const result = await optimizeModel({
    tensors,
    source: source(),
    originalBytes: models.reduce((s, f) => s + f.size, 0),
    maxError: options.maxError,
    minCompression: options.minCompression,
    maxPerplexityDelta: options.maxPerplexityDelta,
    eval: options.eval,
    quantizers: options.quantizers,
    sampleRows: options.sampleRows,
    signal: options.signal,
    onProgress: options.onProgress
  })
  return { ...result, source: { repo: resolved.repo.full, commit: resolved.cid.toString(), files: models.map(f => f.path) } }
}
