/**
 * Reading models out of a tenpak store for the advisor: a revision's
 * safetensors files, each file's tensor table (the one stored at ingest) and
 * `__metadata__`, and a stream of its tensors one at a time by byte range, so
 * memory stays bounded by the largest tensor whatever the file size.
 */

import type { FileEntry, Repo } from '../repo/repo.js'
import { parseSafetensors, safetensorsHeaderLength } from '../formats/safetensors.js'
import { ErrorCode, IntegrityError } from '../errors.js'
import { throwIfAborted, type AbortOptions } from '../util/options.js'
import type { TensorInput, TensorSpec } from './quantize/types.js'

/** What reading a stored model needs from the repo. */
export type ModelReader = Pick<Repo, 'read' | 'tensors'>

/** A tensor of a stored file, with its absolute byte range. */
export interface StoredTensor extends TensorSpec {
  /** absolute file offset of the first data byte */
  start: number
  /** absolute file offset after the last data byte */
  end: number
}

/** A stored safetensors file, ready to stream. */
export interface StoredSafetensors {
  entry: FileEntry
  /** tensors in file order (ascending offsets) */
  tensors: StoredTensor[]
  /** the header's `__metadata__` (empty when absent) */
  metadata: Record<string, string>
}

/** The safetensors files of a manifest, in path order. */
export function safetensorsFiles (files: readonly FileEntry[]): FileEntry[] {
  return files.filter(f => f.format === 'safetensors').sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

/** Bytes [start, end) of a stored file as one buffer (callers keep ranges tensor-sized). */
export async function readStoredRange (repo: Pick<Repo, 'read'>, file: Pick<FileEntry, 'cid' | 'size'>, start: number, end: number, options: AbortOptions = {}): Promise<Uint8Array> {
  const out = new Uint8Array(end - start)
  let off = 0
  for await (const chunk of repo.read(file, { start, end }, options)) {
    if (off + chunk.length > out.length) throw new IntegrityError(`read of ${start}-${end} returned more than ${out.length} bytes`, ErrorCode.CORRUPT)
    out.set(chunk, off)
    off += chunk.length
  }
  if (off !== out.length) throw new IntegrityError(`read of ${start}-${end} returned ${off} of ${out.length} bytes`, ErrorCode.CORRUPT)
  return out
}

/**
 * Open a stored safetensors file: read and check its header (for
 * `__metadata__`) and take the tensor table stored at ingest (the parsed
 * header's table when the store has none). ERR_BAD_SAFETENSORS for a
 * malformed header.
 */
export async function openStoredSafetensors (repo: ModelReader, entry: FileEntry, options: AbortOptions = {}): Promise<StoredSafetensors> {
  const first8 = await readStoredRange(repo, entry, 0, Math.min(8, entry.size), options)
  const n = safetensorsHeaderLength(first8, entry.size)
  const layout = parseSafetensors(await readStoredRange(repo, entry, 8, 8 + n, options), entry.size)
  const table = (await repo.tensors(entry)) ?? layout.tensors ?? []
  const tensors = table
    .map(t => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], start: t.start, end: t.end }))
    .sort((a, b) => a.start - b.start || a.end - b.end)
  return { entry, tensors, metadata: layout.metadata ?? {} }
}

/**
 * Stream a stored file's tensors in table order, each read by its byte range
 * only when the consumer asks for it: one tensor in memory at a time.
 */
export async function * streamStoredTensors (repo: Pick<Repo, 'read'>, file: StoredSafetensors, options: AbortOptions = {}): AsyncGenerator<TensorInput> {
  for (const t of file.tensors) {
    throwIfAborted(options)
    const data = t.end > t.start ? await readStoredRange(repo, file.entry, t.start, t.end, options) : new Uint8Array(0)
    yield { name: t.name, dtype: t.dtype, shape: t.shape, data }
  }
}
