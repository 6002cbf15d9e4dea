/** `tenpak export REPO[@REV] DIR` — write a revision's files, byte-identical. */
import type { Command } from 'commander'
import { withStore, output, progressBar, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('export')
    .description('write the files of REPO at a revision into DIR')
    .argument('<repo>', 'REPO[@REV]')
    .argument('<dir>', 'output directory')
    .option('--json', 'print JSON')
    .action(async (repoRev: string, dir: string, opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo, rev } = parseRepoRev(repoRev)
      await withStore(g, async (r) => {
        const res = await r.resolve(repo.full, rev)
        const total = (await r.manifest(res)).files.reduce((s, f) => s + f.size, 0)
        const bar = progressBar(total, 'export')
        try {
          const out = await r.export(repo.full, res.cid.toString(), dir, { onProgress: bar.onProgress })
          bar.stop()
          output({ json: opts.json }, { commit: res.cid.toString(), ...out }, () => `exported ${out.files} files (${fmtBytes(out.bytes)}) of ${repo.full}@${res.cid.toString()} to ${dir}`)
        } finally { bar.stop() }
      })
    })
}
