/** `tenpak log REPO[@BRANCH]` — commit history, newest first. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('log')
    .description('show the commit history of REPO (first-parent, newest first)')
    .argument('<repo>', 'REPO[@BRANCH]')
    .option('-n, --limit <n>', 'at most n commits', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (repoRev: string, opts: { limit?: number, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo, rev } = parseRepoRev(repoRev)
      await withStore(g, async (r) => {
        const log = await r.log(repo.full, { branch: rev, limit: opts.limit })
        output({ json: opts.json }, log, () => log.map(c =>
          `commit ${c.commit}\nDate:   ${new Date(c.time).toISOString()}\nAuthor: ${c.author}\nFiles:  ${c.files} (${fmtBytes(c.logicalBytes)})\n\n    ${c.message}\n`).join('\n'))
      })
    })
}
