/**
 * Dataset delta bundles (`tenpak delta-dataset compress|decompress|estimate`):
 * a derived dataset version as the blocks its base lacks, written exactly as
 * model bundles are (delta-bundle.ts does the work; the manifest says
 * `"kind": "dataset"`). This module owns what differs for datasets: sources
 * resolve to a path, a `datasets/` repo in the store, or a dataset snapshot in
 * the local Hugging Face cache (`datasets--org--name`), and the sizes are
 * named base / derived rather than base / fine-tune.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { compressDelta, decompressDelta, estimateDeltaSavings, hfHomeOf, hfSnapshot, type DeltaEstimate, type DeltaManifest, type ResolvedSource } from './delta-bundle.js'
import { parseRepoRev } from './names.js'
import type { Repo } from './repo.js'
import { NotFoundError, ErrorCode, fromSystemError, isTenpakError } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'

/** Options shared by the dataset delta calls. */
export interface DatasetDeltaOptions extends AbortOptions, ProgressOptions {
  /** a store to resolve `datasets/org/name[@rev]` (or bare `org/name[@rev]`) sources in */
  store?: Repo
  /** Hugging Face home (default $HF_HOME or ~/.cache/huggingface) */
  hfHome?: string
}

/** Sizes a dataset delta compress or estimate reports: the model delta's, with the derived dataset's bytes as `derivedBytes`. */
export type DatasetDeltaEstimate = Omit<DeltaEstimate, 'finetuneBytes' | 'lossy'> & { derivedBytes: number }

/** What {@link compressDatasetDelta} returns. */
export interface DatasetDeltaResult extends DatasetDeltaEstimate {
  /** the bundle directory written */
  output: string
  manifest: DeltaManifest
}

/** What {@link decompressDatasetDelta} returns. */
export interface DatasetDecompressResult { files: number, bytes: number }

/**
 * Resolve a dataset source: an existing path; else a repo in the store
 * (`datasets/org/name[@rev]`; a bare `org/name` means `datasets/org/name`);
 * else a dataset snapshot in the Hugging Face cache (`[datasets/]org/name[@rev]`).
 * ERR_PATH_NOT_FOUND when none of them exists.
 */
export async function resolveDatasetSource (s: string, options: DatasetDeltaOptions = {}): Promise<ResolvedSource> {
  if (fs.existsSync(s)) return { kind: 'path', path: path.resolve(s) }
  const at = s.indexOf('@')
  const id = at < 0 ? s : s.slice(0, at)
  const rev = at < 0 || at === s.length - 1 ? undefined : s.slice(at + 1)
  const isModel = id.startsWith('models/')
  const full = isModel || id.startsWith('datasets/') ? id : `datasets/${id}`
  if (options.store != null) {
    let name: { repo: string, rev?: string } | undefined
    try {
      const p = parseRepoRev(rev != null ? `${full}@${rev}` : full)
      name = { repo: p.repo.full, rev: p.rev }
    } catch { /* not a repo name: only a path could have matched */ }
    if (name != null) {
      try {
        await options.store.resolve(name.repo, name.rev)
        return { kind: 'store', repo: name.repo, ...(name.rev != null ? { rev: name.rev } : {}) }
      } catch (err) {
        // a missing repo may still be cached; a missing revision of a stored repo is the answer
        if (!isTenpakError(err, ErrorCode.REPO_NOT_FOUND)) throw err
      }
    }
  }
  if (!isModel) {
    const snap = hfSnapshot(hfHomeOf(options.hfHome), 'datasets', full.slice('datasets/'.length), rev)
    if (snap != null) return { kind: 'path', path: snap }
  }
  throw new NotFoundError(`${s}: no such file or directory, store repo, or cached Hugging Face dataset`, ErrorCode.PATH_NOT_FOUND)
}

// the estimate fields only (a compress result's manifest is placed by its caller)
const toDataset = ({ baseBytes, finetuneBytes, lossy: _lossy, manifest: _manifest, ...rest }: DeltaEstimate & { manifest?: DeltaManifest }): DatasetDeltaEstimate => ({ baseBytes, derivedBytes: finetuneBytes, ...rest })

/** Estimate the delta of DERIVED against BASE without writing anything. */
export async function estimateDatasetDeltaSavings (base: string, derived: string, options: DatasetDeltaOptions = {}): Promise<DatasetDeltaEstimate> {
  const b = await resolveDatasetSource(base, options)
  const d = await resolveDatasetSource(derived, options)
  return toDataset(await estimateDeltaSavings(b, d, { ...options, kind: 'dataset' }))
}

/**
 * Write a dataset delta bundle (delta.pack + manifest.json) of DERIVED against
 * BASE into `output`. The bundle is built aside and moved in when complete, so
 * a failure leaves nothing new at `output`.
 */
export async function compressDatasetDelta (base: string, derived: string, output: string, options: DatasetDeltaOptions = {}): Promise<DatasetDeltaResult> {
  const b = await resolveDatasetSource(base, options)
  const d = await resolveDatasetSource(derived, options)
  const dest = path.resolve(output)
  const staging = `${dest}.tenpak-partial-${process.pid}`
  try {
    const r = await compressDelta(b, d, staging, { ...options, kind: 'dataset' })
    try {
      await fsp.mkdir(dest, { recursive: true })
      // manifest.json last: a bundle dir without it is not mistaken for a bundle
      await fsp.rename(path.join(staging, r.manifest.pack.file), path.join(dest, r.manifest.pack.file))
      await fsp.rename(path.join(staging, 'manifest.json'), path.join(dest, 'manifest.json'))
    } catch (err) {
      throw fromSystemError(err, `writing the bundle to ${output}`)
    }
    return { ...toDataset(r), output, manifest: r.manifest }
  } finally {
    await fsp.rm(staging, { recursive: true, force: true })
  }
}

/**
 * Rebuild DERIVED byte-for-byte from BASE and a bundle into `output`, checking
 * every CID and every file's sha256. Nothing is written at `output` unless all
 * of it is good (ERR_BASE_MISMATCH for a wrong base; ERR_BAD_PACK,
 * ERR_HASH_MISMATCH or ERR_BAD_FORMAT for a damaged bundle).
 */
export async function decompressDatasetDelta (base: string, bundleDir: string, output: string, options: DatasetDeltaOptions = {}): Promise<DatasetDecompressResult> {
  const b = await resolveDatasetSource(base, options)
  const r = await decompressDelta(b, bundleDir, output, { ...options, kind: 'dataset' })
  return { files: r.files, bytes: r.bytes }
}
