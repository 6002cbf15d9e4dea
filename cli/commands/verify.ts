/** `tenpak verify [--rebuild-index]` — re-hash everything; non-zero exit when anything is bad. */
import type { Command } from 'commander'
import { withStore, output, EXIT, type GlobalOptions } from '../context.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('verify')
    .description('re-hash every pack entry and everything reachable; list what is bad')
    .option('--rebuild-index', 'recreate the LevelDB index from the packs first')
    .option('--json', 'print JSON')
    .action(async (opts: { rebuildIndex?: boolean, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withStore(g, async (r) => {
        const rep = await r.verify({ rebuildIndex: opts.rebuildIndex })
        output({ json: opts.json }, rep, () => rep.ok
          ? `ok: ${rep.packs} packs, ${rep.entries} entries, ${rep.reachable} reachable blocks verified`
          : [`BAD: ${rep.bad.length} problem(s) in ${rep.packs} packs, ${rep.entries} entries`, ...rep.bad.map(b => `${b.kind}\t${b.id}\t${b.error}`)].join('\n'))
        if (!rep.ok) process.exitCode = EXIT.BAD
      })
    })
}
