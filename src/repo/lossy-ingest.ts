/**
 * Lossy ingest (`add --lossy`): which pieces of a file become lossy, how
 * they are stored, and the error report. A tensor piece paired with a base
 * piece of the same float dtype (F32/F16/BF16) and length is replaced by its
 * reconstruction (base + dequantised delta, src/codec/lossy.ts); its CID is
 * the BLAKE3 of that reconstruction and its pack entry the quantised delta.
 * Everything else stays lossless. The report is what the user is shown, so
 * it is computed from the same values the revision will hold.
 */
import type { CID } from '../hash/cid.js'
import { encodeChunk } from '../codec/codecs.js'
import { quantizeDelta, type LossyMode, type LossyStats } from '../codec/lossy.js'
import type { EncodeHint } from '../codec/types.js'
import { BadInputError, ErrorCode } from '../errors.js'

export type { LossyMode }

/** The accepted `--lossy` modes, in order of decreasing fidelity. */
export const LOSSY_MODES: readonly LossyMode[] = ['int8', 'int4', '1bit']

/** Check a `--lossy` value; ERR_BAD_ARGUMENT for anything but int8, int4 or 1bit. */
export function parseLossyMode (mode: string): LossyMode {
  if ((LOSSY_MODES as readonly string[]).includes(mode)) return mode as LossyMode
  throw new BadInputError(ErrorCode.BAD_ARGUMENT, `unknown lossy mode ${JSON.stringify(mode)}; expected one of ${LOSSY_MODES.join(', ')}`)
}

/** Error figures: relRms = ‖x̂ − x‖₂ / ‖x‖₂ (float64; null when ‖x‖₂ = 0 but the error is not), maxAbs = max |x̂ − x|. */
export interface LossyError {
  relRms: number | null
  maxAbs: number
  /** elements quantised */
  elements: number
}

/** One quantised tensor of a lossy revision. */
export interface LossyTensorReport extends LossyError {
  /** file path inside the revision */
  file: string
  name: string
  dtype: string
}

/** What `add --lossy` reports next to the usual add result. */
export interface LossyReport {
  mode: LossyMode
  /** over every quantised element of the revision */
  overall: LossyError & { tensors: number }
  /** quantised tensors, in file then tensor order */
  tensors: LossyTensorReport[]
  /** logical bytes replaced by reconstructions, and the bytes their new entries took */
  logicalBytes: number
  storedBytes: number
}

/** A lossy piece, ready to be put: its new logical bytes, its entry and its error. */
export interface LossyPiece {
  bytes: Uint8Array
  encoded: { codec: number, data: Uint8Array, base?: CID }
  stats: LossyStats
}

/**
 * Quantise one tensor piece against its paired base piece. Undefined when the
 * piece is not a float tensor of the base's dtype and length (kept lossless).
 * When the base's delta chain is already at its limit (`deltaAllowed` false),
 * the reconstruction is stored standalone: the revision stays the same.
 */
export function quantizePiece (bytes: Uint8Array, hint: EncodeHint, base: { cid: CID, bytes: Uint8Array, dtype?: string }, mode: LossyMode, deltaAllowed: boolean): LossyPiece | undefined {
  if (hint.kind !== 'tensor') return undefined
  const q = quantizeDelta(bytes, base.bytes, { dtype: hint.dtype, baseDtype: base.dtype, kind: hint.kind }, mode)
  if (q == null) return undefined
  const encoded = deltaAllowed ? { ...q.encoded, base: base.cid } : encodeChunk(q.reconstructed, hint)
  return { bytes: q.reconstructed, encoded, stats: q.stats }
}

interface Sums { sumSqErr: number, sumSqRef: number, maxAbs: number, elements: number }

function figures (s: Sums): LossyError {
  const relRms = s.sumSqRef > 0 ? Math.sqrt(s.sumSqErr / s.sumSqRef) : s.sumSqErr === 0 ? 0 : null
  return { relRms, maxAbs: s.maxAbs, elements: s.elements }
}

/** Collects the error of every lossy piece of an add, per tensor and overall. */
export interface LossyCollector {
  readonly mode: LossyMode
  /** record a stored (or deduplicated) lossy piece of `file`'s tensor `name` */
  add: (file: string, name: string, dtype: string, piece: LossyPiece, storedBytes: number) => void
  report: () => LossyReport
}

/** A fresh collector for one add. */
export function createLossyCollector (mode: LossyMode): LossyCollector {
  const tensors = new Map<string, Sums & { file: string, name: string, dtype: string }>()
  const all: Sums = { sumSqErr: 0, sumSqRef: 0, maxAbs: 0, elements: 0 }
  let logicalBytes = 0
  let storedBytes = 0
  const fold = (s: Sums, p: LossyStats): void => {
    s.sumSqErr += p.sumSqErr
    s.sumSqRef += p.sumSqRef
    if (p.maxAbsErr > s.maxAbs) s.maxAbs = p.maxAbsErr
    s.elements += p.count
  }
  return {
    mode,
    add (file, name, dtype, piece, stored) {
      const key = JSON.stringify([file, name])
      let t = tensors.get(key)
      if (t == null) { t = { file, name, dtype, sumSqErr: 0, sumSqRef: 0, maxAbs: 0, elements: 0 }; tensors.set(key, t) }
      fold(t, piece.stats)
      fold(all, piece.stats)
      logicalBytes += piece.bytes.length
      storedBytes += stored
    },
    report () {
      return {
        mode,
        overall: { ...figures(all), tensors: tensors.size },
        tensors: [...tensors.values()].map(t => ({ file: t.file, name: t.name, dtype: t.dtype, ...figures(t) })),
        logicalBytes,
        storedBytes
      }
    }
  }
}
