/** `tenpak ls REPO[@REV] [PATH]` — list files of a revision (or all repos without arguments). */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('ls')
    .description('list the files of REPO at a revision, or every repository when REPO is omitted')
    .argument('[repo]', 'REPO[@REV]')
    .argument('[path]', 'directory or file inside the repo', '')
    .option('--json', 'print JSON')
    .action(async (repoRev: string | undefined, p: string, opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withStore(g, async (r) => {
        if (repoRev == null) {
          const repos = await r.listRepos()
          const value = repos.map(x => ({ repo: x.name.full, branches: Object.fromEntries(Object.entries(x.heads).map(([k, v]) => [k, v.toString()])), tags: Object.fromEntries(Object.entries(x.tags).map(([k, v]) => [k, v.toString()])) }))
          output({ json: opts.json }, value, () => value.map(x => `${x.repo}\t${Object.keys(x.branches).join(',')}`).join('\n'))
          return
        }
        const { repo, rev } = parseRepoRev(repoRev)
        const entries = await r.ls(repo.full, rev, p)
        output({ json: opts.json }, entries, () => entries.map(e => e.type === 'directory'
          ? `${'dir'.padEnd(11)} ${fmtBytes(e.size).padStart(11)}  ${e.path}/`
          : `${(e.format ?? 'file').padEnd(11)} ${fmtBytes(e.size).padStart(11)}  ${e.path}  ${e.cid ?? ''}`).join('\n'))
      })
    })
}
