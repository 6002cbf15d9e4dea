/** Text output of lossy operations (`add --lossy`, `delta compress|estimate --lossy`). */
import type { LossyReport } from '../src/repo/lossy-ingest.js'

const pct = (v: number | null): string => v == null ? 'n/a' : `${(v * 100).toFixed(4)}%`
const sci = (v: number): string => v.toExponential(3)

/** The one-line summary of a lossy report (also in the stderr notice). */
export function lossySummary (l: LossyReport): string {
  return `lossy ${l.mode}: ${l.overall.tensors} tensors (${l.overall.elements} elements) quantised, overall relative RMS error ${pct(l.overall.relRms)}, max abs error ${sci(l.overall.maxAbs)}`
}

/** Per-tensor table of a lossy report, then its summary line. */
export function lossyTable (l: LossyReport): string {
  const files = new Set(l.tensors.map(t => t.file))
  const rows = l.tensors.map(t => [pct(t.relRms), sci(t.maxAbs), String(t.elements), files.size > 1 ? `${t.file}:${t.name}` : t.name])
  const head = ['rel RMS', 'max abs', 'elements', 'tensor']
  const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const line = (r: string[]): string => r.map((c, i) => i === r.length - 1 ? c : c.padStart(w[i])).join('  ')
  return [line(head), ...rows.map(line), lossySummary(l)].join('\n')
}

/**
 * The stderr line every lossy operation prints, whatever the output format:
 * a lossy result is never silent (nor is a --lossy that changed nothing).
 */
export function lossyNotice (l: LossyReport, what: string): string {
  return l.overall.tensors > 0
    ? `tenpak: warning: this ${what} is LOSSY (${lossySummary(l)})\n`
    : `tenpak: warning: --lossy ${l.mode}: no tensor has a float base piece to quantise against; the ${what} is lossless\n`
}
