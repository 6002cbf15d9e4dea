/** `tenpak quantize REPO[@REV] --preset int8|nf4|fp8|q8_0|q4_0 [--to REPO2]` — quantize a stored model into a new revision. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'
import { quantizeRevision, resolveNativeQuantizer, type QuantizeRevisionResult } from '../../src/advisor/index.js'

const pct = (v: number): string => `${(v * 100).toFixed(4)}%`
const db = (v: number): string => Number.isFinite(v) ? `${v.toFixed(2)} dB` : 'exact'

function text (r: QuantizeRevisionResult): string {
  return [
    `${r.commit.repo}@${r.commit.branch}: ${r.commit.commit}${r.commit.unchanged ? ' (unchanged)' : ''}`,
    `${r.quantizer}${r.preset != null ? ` (${r.preset})` : ''} of ${r.source.repo}@${r.source.commit}`,
    `relative RMS error ${pct(r.relativeRmsError)} (${r.relativeRmsError}), max abs error ${r.maxAbsError}, SQNR ${db(r.sqnrDb)}`,
    `${fmtBytes(r.originalBytes)} -> ${fmtBytes(r.bytes)} (${r.bytes} bytes, ${r.compressionRatio.toFixed(3)}x)`,
    ...r.files.map(f => `  ${f.path} -> ${f.output}: ${f.bytes} bytes, ${f.tensorsQuantized} tensors quantized, ${f.tensorsKept} kept, relative RMS ${pct(f.relativeRmsError)}`),
    ...r.tensors.map(t => `    ${t.name}: relative RMS ${pct(t.relativeRmsError)}, max abs ${t.maxAbsError}, SQNR ${db(t.sqnrDb)}`),
    ...r.notes.map(n => `note: ${n}`)
  ].join('\n')
}

/** Register the command. */
export function register (program: Command): void {
  program.command('quantize')
    .description('quantize the safetensors files of REPO at a revision into a new revision (native, calibration-free)')
    .argument('<repo>', 'REPO[@REV]')
    .requiredOption('--preset <preset>', 'int8 | nf4 | fp8 | q8_0 | q4_0 (or bnb-int8, bnb-nf4, fp8-e4m3, gguf-q8_0)')
    .option('--to <repo>', 'write the result to this repository (branch main) instead of a quantized-<preset> branch')
    .option('--branch <branch>', 'target branch (default: quantized-<preset>, or main with --to)')
    .option('-m, --message <msg>', 'commit message')
    .option('--json', 'print JSON')
    .action(async (repoRev: string, opts: { preset: string, to?: string, branch?: string, message?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo, rev } = parseRepoRev(repoRev)
      const quantizer = resolveNativeQuantizer(opts.preset)
      await withStore(g, async (r) => {
        const res = await quantizeRevision(r, { repo: repo.full, rev, quantizer, to: opts.to, branch: opts.branch, message: opts.message })
        output({ ...g, json: opts.json }, res, () => text(res))
      })
    })
}
