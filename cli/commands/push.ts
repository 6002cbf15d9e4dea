/** `tenpak push REMOTE REPO[@BRANCH]` — send a branch and the objects the remote lacks. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'
import { resolveRemote, openRemote } from '../../src/sync/remotes.js'
import { push } from '../../src/sync/push.js'
import { lazyProgress } from './pull.js'
import { BadInputError, ErrorCode } from '../../src/errors.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('push')
    .description('push REPO[@BRANCH] to a remote, sending only the objects it lacks')
    .argument('<remote>', 'remote name or URL')
    .argument('<repo>', 'REPO[@BRANCH] (branch default main)')
    .option('--force', 'allow a non-fast-forward update of the remote branch')
    .option('--max-pack <bytes>', 'largest transfer pack in bytes (default 64 MiB)')
    .option('--json', 'print {objectsSent, bytesSent, bytesSkipped, …} as JSON')
    .action(async (remoteArg: string, repoArg: string, opts: { force?: boolean, maxPack?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo: name, rev } = parseRepoRev(repoArg)
      const maxPack = opts.maxPack != null ? Number(opts.maxPack) : undefined
      if (maxPack != null && !(Number.isInteger(maxPack) && maxPack > 0)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `--max-pack must be a positive byte count, got ${JSON.stringify(opts.maxPack)}`)
      await withStore(g, async (repo) => {
        const { spec } = await resolveRemote(repo.dir, remoteArg)
        const remote = openRemote(spec)
        const bar = lazyProgress('push')
        try {
          const res = await push(repo, remote, name.full, rev ?? 'main', { force: opts.force, maxPackBytes: maxPack, onProgress: bar.onProgress })
          bar.stop()
          output({ ...g, json: opts.json }, res, () => res.upToDate
            ? `${res.repo}@${res.branch}: up to date at ${remote.url} (${res.commit})`
            : `${res.repo}@${res.branch} → ${remote.url}: ${res.previous ?? '(new)'} → ${res.commit}\n${res.objectsSent} objects in ${res.packsSent} packs, ${fmtBytes(res.bytesSent)} sent, ${fmtBytes(res.bytesSkipped)} already there` + (res.tags.length > 0 ? `\ntags: ${res.tags.join(', ')}` : '') + (res.tagsSkipped.length > 0 ? `\ntags left alone (they differ; --force moves them): ${res.tagsSkipped.join(', ')}` : ''))
        } finally {
          bar.stop()
          await remote.close()
        }
      })
    })
}
