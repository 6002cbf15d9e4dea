/**
 * Delta bundles (`tenpak delta compress|decompress|estimate`): a fine-tune as
 * the blocks its base lacks, in their encoded form (a tenpak pack), plus a
 * JSON manifest naming the base's and the fine-tune's root CIDs. BASE and
 * FINETUNE may be local files or directories, models in the local Hugging
 * Face cache, or repos in a store.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { createRepo, type AddResult, type Repo } from './repo.js'
import { parseRepoRev } from './names.js'
import { CID, Codec, isInline, parseCid } from '../hash/cid.js'
import { toHex } from '../util/bytes.js'
import { createSha256 } from '../hash/sha256.js'
import { encodeChunk } from '../codec/codecs.js'
import { writePackFile, importPackFile, packFileSize, type EncodedEntry } from '../store/pack-file.js'
import { BadInputError, NotFoundError, TenpakError, ErrorCode, fromSystemError } from '../errors.js'
import type { AbortOptions, ProgressOptions } from '../util/options.js'
import { parseLossyMode, type LossyReport } from './lossy-ingest.js'

/** Bundle manifest version. */
export const DELTA_BUNDLE_VERSION = 1

/** A file as the bundle manifest lists it. */
export interface BundleFile { path: string, cid: string, size: number, sha256: string }

/** manifest.json of a delta bundle (docs/formats.md). */
export interface DeltaManifest {
  format: 'tenpak-delta'
  version: number
  base: { tree: string, files: BundleFile[] }
  finetune: { tree: string, files: BundleFile[] }
  pack: { file: string, entries: number, bytes: number }
  /** present only on lossy bundles: the mode; the fine-tune files are then the reconstruction */
  lossy?: string
  /** present only on dataset bundles (`delta-dataset`); absent means a model bundle */
  kind?: 'dataset'
}

/** Sizes a delta compress or estimate reports. */
export interface DeltaEstimate {
  baseBytes: number
  finetuneBytes: number
  /** bytes the fine-tune needs beyond its base (the bundle's pack) */
  deltaBytes: number
  /** 1 − deltaBytes / finetuneBytes, in percent */
  savingsPct: number
  /** fine-tune bytes stored as deltas of base chunks */
  deltaLogicalBytes: number
  /** fine-tune bytes identical to base chunks */
  dedupBytes: number
  baseFilePairs: number
  /** e.g. a base that shares little with the fine-tune (the result is still exact) */
  warnings: string[]
  /** with `lossy`: the error of the lossy fine-tune, per tensor and overall */
  lossy?: LossyReport
}

/** Options shared by the delta calls. */
export interface DeltaOptions extends AbortOptions, ProgressOptions {
  /** a store to resolve `REPO[@REV]` sources in */
  store?: Repo
  /** Hugging Face home (default $HF_HOME or ~/.cache/huggingface) */
  hfHome?: string
  /**
   * compress/estimate only: make the fine-tune lossy (`int8`, `int4`, `1bit`,
   * as `add --lossy`); the bundle then rebuilds the reconstruction, not the input
   */
  lossy?: string
  /** what the sources hold: the workspace repo type and the manifest's `kind` (default 'model') */
  kind?: 'model' | 'dataset'
}

/** Where a BASE or FINETUNE argument points. */
export type ResolvedSource = { kind: 'path', path: string } | { kind: 'store', repo: string, rev?: string }

/** The Hugging Face home: `hfHome`, else $HF_HOME, else ~/.cache/huggingface. */
export function hfHomeOf (hfHome: string | undefined): string {
  return hfHome ?? process.env.HF_HOME ?? path.join(os.homedir(), '.cache', 'huggingface')
}

/**
 * The snapshot directory of `org/name` (a model or a dataset) in the Hugging
 * Face cache at `rev` (a snapshot commit, or a ref file such as `main`), if
 * present. Ids and snapshots that could leave the cache (`..`, extra `/`)
 * find nothing.
 */
export function hfSnapshot (hfHome: string, type: 'models' | 'datasets', id: string, rev: string | undefined): string | undefined {
  const parts = id.split('/')
  if (parts.length !== 2 || parts.some(p => p === '' || p === '.' || p === '..')) return undefined
  const dir = path.join(hfHome, 'hub', `${type}--${parts[0]}--${parts[1]}`)
  if (!fs.existsSync(dir)) return undefined
  let snap = rev
  if (snap == null || snap.includes('/') || !fs.existsSync(path.join(dir, 'snapshots', snap))) {
    const ref = path.join(dir, 'refs', rev ?? 'main')
    snap = fs.existsSync(ref) ? fs.readFileSync(ref, 'utf8').trim() : undefined
  }
  if (snap == null || snap === '' || snap.includes('/') || snap === '..') return undefined
  const p = path.join(dir, 'snapshots', snap)
  return fs.existsSync(p) ? p : undefined
}

/**
 * Resolve a source: an existing path; else a model snapshot in the Hugging
 * Face cache (`org/name[@rev]`); else a repo in the store.
 */
export function resolveSource (s: string, options: DeltaOptions = {}): ResolvedSource {
  if (fs.existsSync(s)) return { kind: 'path', path: path.resolve(s) }
  const at = s.indexOf('@')
  const id = at < 0 ? s : s.slice(0, at)
  const rev = at < 0 ? undefined : s.slice(at + 1)
  const parts = id.split('/')
  const isData = parts[0] === 'datasets'
  const bare = parts[0] === 'models' || isData ? parts.slice(1) : parts
  const snap = hfSnapshot(hfHomeOf(options.hfHome), isData ? 'datasets' : 'models', bare.join('/'), rev)
  if (snap != null) return { kind: 'path', path: snap }
  if (options.store != null) {
    const { repo, rev: r } = parseRepoRev(s)
    return { kind: 'store', repo: repo.full, rev: r }
  }
  throw new NotFoundError(`${s}: no such file or directory, cached Hugging Face model, or store repo`, ErrorCode.PATH_NOT_FOUND)
}

/** A source as given (resolved by {@link resolveSource}) or already resolved (dataset-delta.ts resolves its own). */
export type DeltaSource = string | ResolvedSource

const resolveAny = (s: DeltaSource, options: DeltaOptions): ResolvedSource => typeof s === 'string' ? resolveSource(s, options) : s
const labelOf = (s: DeltaSource): string => typeof s === 'string' ? s : s.kind === 'path' ? s.path : `${s.repo}${s.rev != null ? `@${s.rev}` : ''}`
const repoNames = (options: DeltaOptions): { base: string, finetune: string } => {
  const t = options.kind === 'dataset' ? 'datasets' : 'models'
  return { base: `${t}/tenpak-delta/base`, finetune: `${t}/tenpak-delta/finetune` }
}

interface Workspace {
  repo: Repo
  dispose: () => Promise<void>
}

async function tempWorkspace (): Promise<Workspace> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tenpak-delta-'))
  const repo = await createRepo({ dir })
  return { repo, dispose: async () => { await repo.close(); await fsp.rm(dir, { recursive: true, force: true }) } }
}

/** Put a source into the workspace store as `name`; returns its commit. */
async function load (ws: Workspace, src: ResolvedSource, name: string, options: DeltaOptions, base?: string): Promise<AddResult> {
  const lossy = base != null ? options.lossy : undefined
  if (src.kind === 'path') {
    return await ws.repo.add(name, src.path, { message: name, base: base ?? false, lossy, signal: options.signal })
  }
  // a store repo: export it to a temp dir first (its bytes, not its store encoding, define it)
  const store = options.store as Repo
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tenpak-delta-src-'))
  try {
    await store.export(src.repo, src.rev, tmp, options)
    return await ws.repo.add(name, tmp, { message: name, base: base ?? false, lossy, signal: options.signal })
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true })
  }
}

async function filesOf (repo: Repo, name: string): Promise<{ tree: CID, files: BundleFile[] }> {
  const res = await repo.resolve(name)
  const m = await repo.manifest(res)
  return { tree: res.commit.tree, files: m.files.map(f => ({ path: f.path, cid: f.cid.toString(), size: f.size, sha256: toHex(f.sha256) })) }
}

/** Every block under the given roots (UnixFS trees), as CID strings. */
function reachableFrom (repo: Repo, roots: CID[]): Map<string, CID> {
  const out = new Map<string, CID>()
  const stack = [...roots]
  while (stack.length > 0) {
    const c = stack.pop() as CID
    const k = c.toString()
    if (out.has(k)) continue
    out.set(k, c)
    if (c.code === Codec.DAG_PB) for (const l of dagPb.decode(repo.blocks.getSync(c)).Links) stack.push(l.Hash)
  }
  return out
}

/** The blocks of the fine-tune's tree that its base lacks, encoded as stored (deltas kept when their base travels or is in the base). */
function bundleEntries (repo: Repo, baseTree: CID, ftTree: CID): EncodedEntry[] {
  const have = reachableFrom(repo, [baseTree])
  // inline leaves are inside their nodes: nothing to carry
  const need = [...reachableFrom(repo, [ftTree]).values()].filter(c => !have.has(c.toString()) && !isInline(c))
  const needSet = new Set(need.map(c => c.toString()))
  const out: EncodedEntry[] = []
  for (const cid of need) {
    const { location, data } = repo.blocks.getEncoded(cid)
    const baseOk = location.base == null || have.has(location.base.toString()) || needSet.has(location.base.toString())
    if (baseOk) {
      out.push({ cid, codec: location.codec, data, logicalLength: location.logicalLength, base: location.base })
    } else {
      // its base is elsewhere in the store: expand it
      const bytes = repo.blocks.getSync(cid)
      const enc = encodeChunk(bytes, {})
      out.push({ cid, codec: enc.codec, data: enc.data, logicalLength: bytes.length })
    }
  }
  return out
}

async function build (base: DeltaSource, finetune: DeltaSource, options: DeltaOptions): Promise<{ ws: Workspace, baseInfo: { tree: CID, files: BundleFile[] }, ftInfo: { tree: CID, files: BundleFile[] }, entries: EncodedEntry[], estimate: DeltaEstimate }> {
  if (options.lossy != null) parseLossyMode(options.lossy)
  const b = resolveAny(base, options)
  const f = resolveAny(finetune, options)
  const names = repoNames(options)
  const ws = await tempWorkspace()
  try {
    await load(ws, b, names.base, options)
    const ft = await load(ws, f, names.finetune, options, names.base)
    const baseInfo = await filesOf(ws.repo, names.base)
    const ftInfo = await filesOf(ws.repo, names.finetune)
    const entries = bundleEntries(ws.repo, baseInfo.tree, ftInfo.tree)
    const baseBytes = baseInfo.files.reduce((s, x) => s + x.size, 0)
    const finetuneBytes = ftInfo.files.reduce((s, x) => s + x.size, 0)
    // what `compress` writes: the bundle's pack, index trailer and header included
    const deltaBytes = packFileSize(entries)
    const deltaLogicalBytes = entries.filter(e => e.base != null).reduce((s, e) => s + e.logicalLength, 0)
    const newLogical = entries.filter(e => e.cid.code === Codec.RAW).reduce((s, e) => s + e.logicalLength, 0)
    const savingsPct = finetuneBytes > 0 ? 100 * (1 - deltaBytes / finetuneBytes) : 0
    const warnings: string[] = []
    if (deltaLogicalBytes + Math.max(0, finetuneBytes - newLogical) < 0.1 * finetuneBytes) {
      const what = options.kind === 'dataset' ? 'the derived dataset' : 'the fine-tune'
      warnings.push(`${labelOf(base)} shares little with ${labelOf(finetune)}: under 10% of ${what} pairs with the base (the delta is exact, just large) — is this the right base?`)
    }
    return {
      ws,
      baseInfo,
      ftInfo,
      entries,
      estimate: {
        warnings,
        baseBytes,
        finetuneBytes,
        deltaBytes,
        savingsPct,
        deltaLogicalBytes,
        dedupBytes: Math.max(0, finetuneBytes - newLogical),
        baseFilePairs: ftInfo.files.filter(x => baseInfo.files.some(y => y.path === x.path)).length,
        ...(ft.lossy != null ? { lossy: ft.lossy } : {})
      }
    }
  } catch (err) {
    await ws.dispose()
    throw err
  }
}

/** Estimate the delta of FINETUNE against BASE without writing anything. */
export async function estimateDeltaSavings (base: DeltaSource, finetune: DeltaSource, options: DeltaOptions = {}): Promise<DeltaEstimate> {
  const r = await build(base, finetune, options)
  await r.ws.dispose()
  return r.estimate
}

/** Write a delta bundle for FINETUNE against BASE into `output`. */
export async function compressDelta (base: DeltaSource, finetune: DeltaSource, output: string, options: DeltaOptions = {}): Promise<DeltaEstimate & { manifest: DeltaManifest }> {
  const r = await build(base, finetune, options)
  try {
    await fsp.mkdir(output, { recursive: true })
    const packFile = path.join(output, 'delta.pack')
    const pack = writePackFile(packFile, r.entries)
    const manifest: DeltaManifest = {
      format: 'tenpak-delta',
      version: DELTA_BUNDLE_VERSION,
      base: { tree: r.baseInfo.tree.toString(), files: r.baseInfo.files },
      finetune: { tree: r.ftInfo.tree.toString(), files: r.ftInfo.files },
      pack: { file: 'delta.pack', entries: pack.entries, bytes: pack.size }
    }
    if (r.estimate.lossy != null && r.estimate.lossy.overall.tensors > 0) manifest.lossy = r.estimate.lossy.mode
    if (options.kind === 'dataset') manifest.kind = 'dataset'
    await fsp.writeFile(path.join(output, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
    return { ...r.estimate, deltaBytes: pack.size, savingsPct: r.estimate.finetuneBytes > 0 ? 100 * (1 - pack.size / r.estimate.finetuneBytes) : 0, manifest }
  } catch (err) {
    throw fromSystemError(err, `writing the bundle to ${output}`)
  } finally {
    await r.ws.dispose()
  }
}

function readManifest (dir: string): DeltaManifest {
  let m: DeltaManifest
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as DeltaManifest
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${dir} has no manifest.json: not a tenpak delta bundle`, ErrorCode.PATH_NOT_FOUND)
    throw new BadInputError(ErrorCode.BAD_FORMAT, `${dir}/manifest.json is not valid JSON`, { cause: err })
  }
  if (m?.format !== 'tenpak-delta' || m.version !== DELTA_BUNDLE_VERSION || m.base?.tree == null || !Array.isArray(m.finetune?.files) || typeof m.pack?.file !== 'string' || m.pack.file.includes('/')) {
    throw new BadInputError(ErrorCode.BAD_FORMAT, `${dir}/manifest.json is not a tenpak delta bundle manifest (v${DELTA_BUNDLE_VERSION})`)
  }
  return m
}

/**
 * Rebuild the fine-tune from BASE and a bundle into `output`, checking every
 * CID and every file's sha256. Nothing is written at `output` unless all of it is good.
 */
export async function decompressDelta (base: DeltaSource, bundleDir: string, output: string, options: DeltaOptions = {}): Promise<{ files: number, bytes: number, lossy?: string }> {
  const manifest = readManifest(bundleDir)
  const b = resolveAny(base, options)
  const baseName = repoNames(options).base
  const ws = await tempWorkspace()
  const staging = `${path.resolve(output)}.tenpak-partial-${process.pid}`
  try {
    await load(ws, b, baseName, options)
    const res = await ws.repo.resolve(baseName)
    if (res.commit.tree.toString() !== manifest.base.tree) {
      throw new TenpakError(ErrorCode.BASE_MISMATCH, `this bundle was made against base tree ${manifest.base.tree}, but ${labelOf(base)} is ${res.commit.tree.toString()}`)
    }
    await importPackFile(path.join(bundleDir, manifest.pack.file), ws.repo.blocks, path.join(ws.repo.dir, 'tmp'))
    let bytes = 0
    for (const f of manifest.finetune.files) {
      const cid = parseCid(f.cid)
      const parts = f.path.split('/')
      if (parts.some(p => p === '' || p === '.' || p === '..')) throw new BadInputError(ErrorCode.BAD_FORMAT, `bad path ${f.path} in the bundle manifest`)
      const dest = path.join(staging, ...parts)
      await fsp.mkdir(path.dirname(dest), { recursive: true })
      const out = fs.createWriteStream(dest)
      const sha = createSha256()
      for await (const chunk of ws.repo.read({ cid, size: f.size })) {
        sha.update(chunk)
        if (!out.write(chunk)) await new Promise<void>(resolve => out.once('drain', () => resolve()))
        bytes += chunk.length
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => err != null ? reject(err) : resolve()))
      if (toHex(sha.digest()) !== f.sha256) throw new TenpakError(ErrorCode.HASH_MISMATCH, `${f.path}: sha256 does not match the bundle manifest`)
    }
    if (fs.existsSync(output) && fs.readdirSync(output).length > 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${output} exists and is not empty`)
    await fsp.rm(output, { recursive: true, force: true })
    await fsp.mkdir(path.dirname(path.resolve(output)), { recursive: true })
    await fsp.rename(staging, output)
    return { files: manifest.finetune.files.length, bytes, ...(typeof manifest.lossy === 'string' ? { lossy: manifest.lossy } : {}) }
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true })
    if ((err as { code?: string }).code === 'ERR_NOT_FOUND' && /delta base/.test((err as Error).message)) {
      throw new TenpakError(ErrorCode.BASE_MISMATCH, `bundle needs a base chunk that ${labelOf(base)} does not have: ${(err as Error).message}`, { cause: err })
    }
    throw err
  } finally {
    await ws.dispose()
  }
}
