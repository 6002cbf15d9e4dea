/** `tenpak clone URL REPO` — add URL as remote `origin` (if absent) and pull every branch of REPO. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseRepoName } from '../../src/repo/names.js'
import { readRemotes, addRemote, openRemote, checkRemoteUrl } from '../../src/sync/remotes.js'
import { pull, type PullResult } from '../../src/sync/pull.js'
import { NotFoundError, ErrorCode } from '../../src/errors.js'
import { lazyProgress } from './pull.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('clone')
    .description('copy every branch of REPO from URL into the store (URL is remembered as remote "origin")')
    .argument('<url>', 'http(s)://host:port or s3://bucket/prefix')
    .argument('<repo>', 'repository to clone')
    .option('--origin <name>', 'name for the remote', 'origin')
    .option('--token <token>', 'bearer token remembered with the remote')
    .option('--json', 'print the summary as JSON')
    .action(async (url: string, repoArg: string, opts: { origin: string, token?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const name = parseRepoName(repoArg)
      await withStore(g, async (repo) => {
        const remotes = await readRemotes(repo.dir)
        if (!Object.hasOwn(remotes, opts.origin)) await addRemote(repo.dir, opts.origin, { url: checkRemoteUrl(url), token: opts.token })
        const remote = openRemote({ url: checkRemoteUrl(url), token: opts.token })
        const bar = lazyProgress('clone')
        try {
          const r = (await remote.refs()).find(x => x.repo === name.full)
          if (r == null || Object.keys(r.heads).length === 0) throw new NotFoundError(`${remote.url} has no repository ${name.full}`, ErrorCode.REPO_NOT_FOUND)
          const results: PullResult[] = []
          for (const branch of Object.keys(r.heads).sort()) results.push(await pull(repo, remote, name.full, branch, { onProgress: bar.onProgress }))
          bar.stop()
          output({ ...g, json: opts.json }, { repo: name.full, branches: results }, () => results.map(x => `${x.repo}@${x.branch}: ${x.commit} (${x.objectsReceived} objects, ${fmtBytes(x.bytesReceived)})`).join('\n'))
        } finally {
          bar.stop()
          await remote.close()
        }
      })
    })
}
