/** `tenpak pull REMOTE REPO[@BRANCH]` — fetch a branch's missing objects and fast-forward the local branch. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, progressBar, type GlobalOptions } from '../context.js'
import type { ProgressEvent } from '../../src/util/options.js'
import { parseRepoRev } from '../../src/repo/names.js'
import { resolveRemote, openRemote } from '../../src/sync/remotes.js'
import { pull } from '../../src/sync/pull.js'

/** A progress bar created when the transfer's total is known (the `*:start` event). */
export function lazyProgress (label: string): { onProgress: (e: ProgressEvent) => void, stop: () => void } {
  let bar: ReturnType<typeof progressBar> | undefined
  return {
    onProgress: (e) => {
      if (e.type.endsWith(':start')) { bar?.stop(); bar = progressBar(e.total ?? 0, label); return }
      if (e.type.endsWith(':pack')) bar?.onProgress?.(e)
    },
    stop: () => { bar?.stop(); bar = undefined }
  }
}

/** Register the command. */
export function register (program: Command): void {
  program.command('pull')
    .description('pull REPO[@BRANCH] from a remote: fetch what the store lacks, then fast-forward the branch')
    .argument('<remote>', 'remote name or URL')
    .argument('<repo>', 'REPO[@BRANCH] (branch default main)')
    .option('--force', 'move the local branch even when that is not a fast-forward')
    .option('--json', 'print the summary as JSON')
    .action(async (remoteArg: string, repoArg: string, opts: { force?: boolean, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo: name, rev } = parseRepoRev(repoArg)
      await withStore(g, async (repo) => {
        const { spec } = await resolveRemote(repo.dir, remoteArg)
        const remote = openRemote(spec)
        const bar = lazyProgress('pull')
        try {
          const res = await pull(repo, remote, name.full, rev ?? 'main', { force: opts.force, onProgress: bar.onProgress })
          bar.stop()
          output({ ...g, json: opts.json }, res, () => res.upToDate
            ? `${res.repo}@${res.branch}: up to date (${res.commit})`
            : `${res.repo}@${res.branch} ← ${remote.url}: ${res.previous ?? '(new)'} → ${res.commit}\n${res.objectsReceived} objects, ${fmtBytes(res.bytesReceived)} received, ${fmtBytes(res.bytesSkipped)} already here` + (res.tags.length > 0 ? `\ntags: ${res.tags.join(', ')}` : '') + (res.tagsSkipped.length > 0 ? `\ntags left alone (they differ; --force moves them): ${res.tagsSkipped.join(', ')}` : ''))
        } finally {
          bar.stop()
          await remote.close()
        }
      })
    })
}
