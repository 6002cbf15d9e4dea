/** `tenpak add REPO PATH` — ingest a file or directory as a new commit. */
import type { Command } from 'commander'
import { withStore, output, progressBar, fmtBytes, type GlobalOptions } from '../context.js'
import { listSource } from '../../src/repo/add.js'
import { parseLossyMode } from '../../src/repo/lossy-ingest.js'
import { lossyNotice, lossyTable } from '../lossy-report.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('add')
    .description('ingest a file or directory as a new commit of REPO')
    .argument('<repo>', 'org/name, models/org/name or datasets/org/name')
    .argument('<path>', 'file or directory to add')
    .option('-m, --message <msg>', 'commit message')
    .option('--branch <branch>', 'branch to commit to', 'main')
    .option('--base <repo>', 'store the files as deltas of REPO[@REV] (default: the branch head, else the stored model whose tensors overlap most)')
    .option('--no-base', 'store without deltas')
    .option('--lossy <mode>', 'make a NEW, lossy revision: quantise each tensor\'s delta from the base as int8, int4 or 1bit and report the error (never implied)')
    .option('--json', 'print the result as JSON')
    .action(async (repo: string, src: string, opts: { message?: string, branch: string, base?: string | false, lossy?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      if (opts.lossy != null) parseLossyMode(opts.lossy)
      const total = (await listSource(src)).reduce((s, f) => s + f.size, 0)
      await withStore(g, async (r) => {
        const bar = progressBar(total, 'add')
        try {
          const res = await r.add(repo, src, { message: opts.message, branch: opts.branch, base: opts.base, lossy: opts.lossy, onProgress: bar.onProgress })
          bar.stop()
          // said on stderr whatever the output format: a lossy revision is never silent
          if (res.lossy != null) process.stderr.write(lossyNotice(res.lossy, 'revision'))
          if (res.repackError != null) process.stderr.write(`tenpak: warning: the commit is stored, but merging small packs failed: ${res.repackError}\n`)
          output({ ...g, json: opts.json }, res, () => res.unchanged
            ? `${res.repo}@${res.branch}: unchanged (${res.commit}), ${res.files} files, ${fmtBytes(res.logicalBytes)}, 0 new bytes stored`
            : `${res.repo}@${res.branch}: ${res.commit}\n${res.files} files, ${fmtBytes(res.logicalBytes)} logical, ${fmtBytes(res.newStoredBytes)} newly stored` +
              (res.base != null ? `\nstored as deltas of ${res.base.repo}@${res.base.commit} (${res.base.chosen === 'auto' ? 'chosen: most tensors in common' : res.base.chosen}): ${fmtBytes(res.deltaLogicalBytes)} in ${fmtBytes(res.deltaStoredBytes)}` : '') +
              (res.lossy != null && res.lossy.overall.tensors > 0 ? `\n${lossyTable(res.lossy)}` : '') +
              (res.repack != null ? `\nmerged ${res.repack.packsMerged} small packs into one: ${fmtBytes(res.repack.bytesBefore)} → ${fmtBytes(res.repack.bytesAfter)}` : ''))
        } finally {
          bar.stop()
        }
      })
    })
}
