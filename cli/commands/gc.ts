/** `tenpak gc` — remove what no ref reaches. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('gc')
    .description('remove blocks and packs that no branch or tag reaches, then merge small packs into one')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withStore(g, async (r) => {
        const rep = await r.gc()
        output({ json: opts.json }, rep, () => `gc: ${rep.blocksRemoved} blocks removed, ${rep.packsRemoved} packs deleted, ${rep.packsRewritten} rewritten, ${rep.packsMerged} small packs merged, ${fmtBytes(rep.bytesFreed)} freed`)
      })
    })
}
