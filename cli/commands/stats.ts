/** `tenpak stats` — logical vs stored bytes. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('stats')
    .description('logical bytes, stored bytes, chunks and packs of the store')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withStore(g, async (r) => {
        const s = await r.stats()
        output({ json: opts.json }, s, () => [
          `repos ${s.repos}, commits ${s.commits}, packs ${s.packs}, chunks ${s.chunks}`,
          `logical ${fmtBytes(s.logicalBytes)}, stored ${fmtBytes(s.storedBytes)} (${s.logicalBytes > 0 ? (100 * s.storedBytes / s.logicalBytes).toFixed(1) : '0'}%)`,
          `saved by dedup ${fmtBytes(s.dedupSavedBytes)}, by deltas ${fmtBytes(s.deltaSavedBytes)}, by compression ${fmtBytes(s.compressionSavedBytes)}`
        ].join('\n'))
      })
    })
}
