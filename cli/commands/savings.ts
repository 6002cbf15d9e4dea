/** `tenpak savings [--models N] [--downloads M] [--price-storage X] [--price-egress Y]` — storage and egress savings from the store's measured bytes. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { BadInputError, ErrorCode } from '../../src/errors.js'
import { computeSavings, type SavingsReport } from '../../src/advisor/index.js'
import type { StoreStats } from '../../src/repo/repo.js'

function num (flag: string, v: string | undefined): number | undefined {
  if (v == null) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${flag} must be a non-negative number, got ${JSON.stringify(v)}`)
  return n
}

const usd = (v: number): string => `$${v.toFixed(2)}`
const rate = (v: number): string => `$${v}`

function text (r: SavingsReport & { stats: StoreStats }): string {
  const m = r.measured
  const p = r.projection
  const b = m.breakdown
  const src = (c: SavingsReport['prices']['storage']): string => c.source.kind === 'config' ? 'from the command line' : `${c.source.title}, ${c.source.asOf ?? 'undated'}${c.source.verified === false ? ', UNVERIFIED' : ''}`
  return [
    `measured on ${m.models} repositories: ${fmtBytes(m.logicalBytes)} logical, ${fmtBytes(m.storedBytes)} stored, ${fmtBytes(m.savedBytes)} saved (${(m.savedFraction * 100).toFixed(1)}%)`,
    `  dedup ${fmtBytes(b.dedup)}, deltas ${fmtBytes(b.delta)}, compression ${fmtBytes(b.compression)}, metadata ${fmtBytes(b.metadata)}, pack overhead ${fmtBytes(b.packOverhead)}${b.unattributed !== 0 ? `, unattributed ${fmtBytes(b.unattributed)}` : ''}`,
    `projected to ${p.models} models and ${p.downloadsPerMonth} downloads/month:`,
    `  storage at ${rate(r.storage.usdPerGbMonth)}/GB-month (${src(r.prices.storage)}): ${usd(r.storage.baselineUsdPerMonth)} -> ${usd(r.storage.tenpakUsdPerMonth)}, saves ${usd(r.storage.savedUsdPerMonth)}/month`,
    `  egress at ${rate(r.egress.usdPerGb)}/GB (${src(r.prices.egress)}): ${usd(r.egress.baselineUsdPerMonth)} -> ${usd(r.egress.tenpakUsdPerMonth)}, saves ${usd(r.egress.savedUsdPerMonth)}/month`,
    `  total ${usd(r.totalSavedUsdPerMonth)}/month`,
    ...r.assumptions.map(a => `assumption: ${a}`)
  ].join('\n')
}

/** Register the command. */
export function register (program: Command): void {
  program.command('savings')
    .description('storage and egress savings computed from the store\'s measured logical vs stored bytes')
    .option('--models <n>', 'number of models to project to (default: repositories in the store)')
    .option('--downloads <m>', 'model downloads per month (default 0)')
    .option('--price-storage <usd>', 'USD per GB-month (default: S3 Standard, cited)')
    .option('--price-egress <usd>', 'USD per GB transferred out (default: S3 to internet, cited)')
    .option('--json', 'print JSON')
    .action(async (opts: { models?: string, downloads?: string, priceStorage?: string, priceEgress?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const models = num('--models', opts.models)
      const downloadsPerMonth = num('--downloads', opts.downloads)
      const storageUsdPerGbMonth = num('--price-storage', opts.priceStorage)
      const egressUsdPerGb = num('--price-egress', opts.priceEgress)
      await withStore(g, async (r) => {
        const stats = await r.stats()
        const report = computeSavings({
          stats: { ...stats, models: Math.max(1, stats.repos) },
          models,
          downloadsPerMonth,
          prices: { storageUsdPerGbMonth, egressUsdPerGb }
        })
        const value = { ...report, stats }
        output({ ...g, json: opts.json }, value, () => text(value))
      })
    })
}
