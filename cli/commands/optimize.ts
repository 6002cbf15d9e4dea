/** `tenpak optimize REPO[@REV] --max-error E --min-compression C [--eval FILE]` — pick the smallest preset meeting the constraints. */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'
import { BadInputError, ErrorCode, fromSystemError } from '../../src/errors.js'
import { NoPresetFitsError, optimizeRevision, parseEvalFile, PROXY_NOTE, type Candidate, type EvalEntry, type OptimizeRevisionResult } from '../../src/advisor/index.js'

function num (flag: string, v: string | undefined, integer = false): number | undefined {
  if (v == null) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${flag} must be a non-negative ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`)
  return n
}

const pct = (v: number | undefined): string => v == null ? '—' : `${(v * 100).toFixed(3)}%`

function row (c: Candidate, chosen: boolean): string {
  const mark = chosen ? '*' : c.accepted ? '+' : '-'
  const ppl = c.perplexityDelta != null ? `, ppl +${c.perplexityDelta}` : ''
  return `${mark} ${c.id.padEnd(16)} ${fmtBytes(c.bytes).padStart(10)} (${c.bytesSource}) ${c.compressionRatio.toFixed(3)}x, weight error ${pct(c.relativeRmsError)}${ppl}: ${c.reasons.join('; ')}`
}

function text (r: OptimizeRevisionResult): string {
  return [
    `chosen: ${r.chosen.id} (${r.chosen.name}) for ${r.source.repo}@${r.source.commit}`,
    `constraints: ${JSON.stringify(r.constraints)}; original ${fmtBytes(r.originalBytes)}${r.sampled ? '; error measured on a row sample' : ''}`,
    'candidates, smallest first (* chosen, + fits, - rejected):',
    ...r.candidates.map(c => '  ' + row(c, c === r.chosen)),
    `note: ${r.note}`
  ].join('\n')
}

/** Register the command. */
export function register (program: Command): void {
  program.command('optimize')
    .description('measure the native quantizers on a stored model and pick the smallest that meets the constraints')
    .argument('<repo>', 'REPO[@REV]')
    .option('--max-error <e>', 'largest relative RMS weight error, e.g. 0.01 for 1%')
    .option('--min-compression <c>', 'smallest original/quantized size ratio, e.g. 2')
    .option('--max-perplexity-delta <d>', 'largest perplexity increase (applies to candidates with an --eval figure)')
    .option('--eval <file>', 'JSON results of an evaluation harness for presets tenpak cannot run (GPTQ, AWQ, …)')
    .option('--sample-rows <n>', 'measure at most N evenly spaced rows per tensor (faster; sizes stay exact)')
    .option('--json', 'print JSON')
    .action(async (repoRev: string, opts: { maxError?: string, minCompression?: string, maxPerplexityDelta?: string, eval?: string, sampleRows?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo, rev } = parseRepoRev(repoRev)
      const maxError = num('--max-error', opts.maxError)
      const minCompression = num('--min-compression', opts.minCompression)
      const maxPerplexityDelta = num('--max-perplexity-delta', opts.maxPerplexityDelta)
      const sampleRows = num('--sample-rows', opts.sampleRows, true)
      let evalEntries: EvalEntry[] | undefined
      if (opts.eval != null) {
        let json: unknown
        try {
          json = JSON.parse(await readFile(opts.eval, 'utf8'))
        } catch (err) {
          if (err instanceof SyntaxError) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${opts.eval} is not valid JSON (${err.message})`)
          throw fromSystemError(err, `reading ${opts.eval}`)
        }
        evalEntries = parseEvalFile(json)
      }
      await withStore(g, async (r) => {
        try {
          const res = await optimizeRevision(r, { repo: repo.full, rev, maxError, minCompression, maxPerplexityDelta, eval: evalEntries, sampleRows })
          output({ ...g, json: opts.json }, res, () => text(res))
        } catch (err) {
          // the refusal is one line on stderr (reportError); --json also gets the candidates on stdout
          if (err instanceof NoPresetFitsError && opts.json === true) {
            output({ json: true }, { error: { code: err.code, message: err.message }, candidates: err.candidates, note: PROXY_NOTE }, () => '')
          }
          throw err
        }
      })
    })
}
