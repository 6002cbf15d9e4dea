/**
 * Format detection: pick a file's layout from its name (extension) and the
 * fewest bytes of its head (or, for model formats whose metadata is spread
 * through the file, small ranged reads), read through callbacks so the caller
 * (repo add, holding a file handle) never reads the whole file here.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import { parseSafetensors, safetensorsHeaderLength } from './safetensors.js'
import { parseGguf } from './gguf.js'
import { onnxExternalDataLayout, parseOnnx } from './onnx.js'
import { parseTflite } from './tflite.js'
import { parseArrowIpc } from './arrow.js'
import { jsonArrayLayout } from './json-array.js'
import { parseParquet } from './parquet.js'
import type { ReadAt } from './read-at.js'
export type { ReadAt } from './read-at.js'
import { firstLineEnd, MAX_HEADER_LINE, recordsLayout } from './records.js'
import type { RecordFormat } from './records.js'
import type { FileLayout, TensorInfo } from './types.js'

/**
 * Reads the first `length` bytes of the file (fewer only if the file is
 * shorter). Called at most a couple of times, with lengths bounded by the
 * format (safetensors: 8 + header length; CSV/TSV: {@link MAX_HEADER_LINE}),
 * except for GGUF/ONNX/TFLite when no {@link DetectOptions.read} is given.
 */
export type ReadHead = (length: number) => Promise<Uint8Array>

/** Options of {@link detectLayout}. */
export interface DetectOptions {
  /**
   * Ranged reads of the same file. GGUF, ONNX and TFLite metadata is spread
   * through the file (TFLite's buffer tables sit between the weights), so
   * their parsers read it in small pages through this; without it they fall
   * back to doubling `readHead` prefixes, which may read the whole file
   * (fine for small files only).
   */
  read?: ReadAt
  /**
   * The tensors an ONNX model keeps in this file (from `onnxExternalTensors`
   * on the model, resolved to this path; lists from several models sharing
   * the file concatenated). When given, the file is laid out as ONNX external
   * data ('onnx-data') whatever its name.
   */
  externalTensors?: readonly TensorInfo[]
}

const MODEL_EXTENSIONS: Readonly<Record<string, 'gguf' | 'onnx' | 'tflite'>> = Object.freeze({
  gguf: 'gguf',
  onnx: 'onnx',
  tflite: 'tflite'
})

/** Data formats laid out from their own structure; a file that does not parse is plain bytes. */
const DATA_EXTENSIONS: Readonly<Record<string, 'json' | 'parquet' | 'arrow'>> = Object.freeze({
  json: 'json',
  parquet: 'parquet',
  pq: 'parquet',
  arrow: 'arrow',
  arrows: 'arrow',
  feather: 'arrow',
  ipc: 'arrow'
})

const RECORD_EXTENSIONS: Readonly<Record<string, RecordFormat>> = Object.freeze({
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  csv: 'csv',
  tsv: 'tsv'
})

/** The format {@link detectLayout} picks for a file name: by extension, case-insensitive. */
export function formatForName (name: string): 'safetensors' | 'gguf' | 'onnx' | 'tflite' | RecordFormat | 'json' | 'parquet' | 'arrow' | 'bytes' {
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1)
  const dot = base.lastIndexOf('.')
  if (dot <= 0) return 'bytes'
  const ext = base.slice(dot + 1).toLowerCase()
  if (ext === 'safetensors') return 'safetensors'
  if (Object.hasOwn(MODEL_EXTENSIONS, ext)) return MODEL_EXTENSIONS[ext]
  if (Object.hasOwn(DATA_EXTENSIONS, ext)) return DATA_EXTENSIONS[ext]
  return Object.hasOwn(RECORD_EXTENSIONS, ext) ? RECORD_EXTENSIONS[ext] : 'bytes'
}

/** Layout of an opaque file: one 'bytes' segment (none when empty). */
export function bytesLayout (fileSize: number): FileLayout {
  return { format: 'bytes', segments: fileSize > 0 ? [{ start: 0, end: fileSize, kind: 'bytes' }] : [] }
}

/**
 * Lay out a file of `fileSize` bytes named `name`. `head` is any prefix of the
 * file the caller already holds (may be empty); `readHead` is called only when
 * more is needed. `.safetensors` is parsed strictly (ERR_BAD_SAFETENSORS
 * propagates, also for an empty file); `.gguf`, `.onnx` and `.tflite` too
 * (ERR_BAD_FORMAT), reading through `options.read`; with
 * `options.externalTensors` any file is laid out as ONNX external data;
 * `.jsonl`/`.ndjson` → 'jsonl' records; `.csv`/`.tsv` → a 'header' segment
 * for the first line, then records; `.json` holding a top-level array →
 * 'json-array' (elements as records); `.parquet`/`.pq` → 'parquet' (a segment
 * per page, from the footer); `.arrow`/`.arrows`/`.feather`/`.ipc` → 'arrow'
 * (a segment per IPC message). JSON, Parquet and Arrow files that do not
 * parse (other JSON, damaged files) fall back to 'bytes' rather than failing:
 * unlike a model, such a file is still data the user wants stored, and plain
 * CDC stores it fine. Anything else → 'bytes'. Zero-length files of the
 * other formats have no segments.
 */
export async function detectLayout (name: string, head: Uint8Array, fileSize: number, readHead: ReadHead, options: DetectOptions = {}): Promise<FileLayout> {
  if (options.externalTensors !== undefined) return onnxExternalDataLayout(options.externalTensors, fileSize)
  const format = formatForName(name)
  switch (format) {
    case 'gguf':
      return await parseGguf(readerFor(head, readHead, options), fileSize)
    case 'onnx':
      return (await parseOnnx(readerFor(head, readHead, options), fileSize)).layout
    case 'tflite':
      return await parseTflite(readerFor(head, readHead, options), fileSize)
    case 'safetensors': {
      const first8 = head.length >= 8 || head.length >= fileSize ? head : await readHead(Math.min(8, fileSize))
      const n = safetensorsHeaderLength(first8, fileSize)
      const all = head.length >= 8 + n ? head : await readHead(8 + n)
      if (all.length < 8 + n) {
        // The file shrank between being sized and being read.
        throw new BadInputError(ErrorCode.BAD_SAFETENSORS, `safetensors file is truncated: its ${n}-byte header could not be read (got ${Math.max(all.length - 8, 0)} bytes)`)
      }
      return parseSafetensors(all.subarray(8, 8 + n), fileSize)
    }
    case 'json':
      return await jsonArrayLayout(head, fileSize, readerFor(head, readHead, options)) ?? bytesLayout(fileSize)
    case 'parquet':
      return await parseParquet(readerFor(head, readHead, options), fileSize) ?? bytesLayout(fileSize)
    case 'arrow':
      return await parseArrowIpc(readerFor(head, readHead, options), fileSize) ?? bytesLayout(fileSize)
    case 'jsonl':
      return recordsLayout(format, fileSize)
    case 'csv':
    case 'tsv': {
      if (fileSize === 0) return recordsLayout(format, 0)
      let end = firstLineEnd(head.subarray(0, Math.min(head.length, MAX_HEADER_LINE)))
      if (end === undefined && head.length < Math.min(fileSize, MAX_HEADER_LINE)) {
        const more = await readHead(Math.min(fileSize, MAX_HEADER_LINE))
        end = firstLineEnd(more)
      }
      // No '\n' at all: the whole (short) file is its header line.
      if (end === undefined && fileSize <= MAX_HEADER_LINE) end = fileSize
      return recordsLayout(format, fileSize, end)
    }
    default:
      return bytesLayout(fileSize)
  }
}

/**
 * The ranged reader parsers use: `options.read`, else one serving what `head`
 * holds and reading ever longer (doubling) prefixes through `readHead`.
 */
function readerFor (head: Uint8Array, readHead: ReadHead, options: DetectOptions): ReadAt {
  if (options.read !== undefined) return options.read
  let prefix = head
  return async (offset, length) => {
    if (offset + length > prefix.length) {
      // Doubling keeps the bytes re-read within twice the prefix finally needed.
      const more = await readHead(Math.max(offset + length, 2 * prefix.length, 64 * 1024))
      if (more.length > prefix.length) prefix = more
    }
    return prefix.subarray(Math.min(offset, prefix.length), Math.min(offset + length, prefix.length))
  }
}
