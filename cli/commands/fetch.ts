/** `tenpak fetch REMOTE` — download the objects of every branch and tag the remote has; local refs do not move. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { parseCid, type CID } from '../../src/hash/cid.js'
import { resolveRemote, openRemote, writeTrackingRefs } from '../../src/sync/remotes.js'
import { fetchObjects } from '../../src/sync/pull.js'
import { lazyProgress } from './pull.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('fetch')
    .description('fetch the objects of every branch and tag of a remote (remote-tracking refs in <store>/remotes/NAME.json)')
    .argument('<remote>', 'remote name')
    .option('--json', 'print the summary as JSON')
    .action(async (remoteArg: string, opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withStore(g, async (repo) => {
        const { name, spec } = await resolveRemote(repo.dir, remoteArg)
        const remote = openRemote(spec)
        const bar = lazyProgress('fetch')
        try {
          const refs = await remote.refs()
          const roots: CID[] = refs.flatMap(r => [...Object.values(r.heads), ...Object.values(r.tags)].map(c => parseCid(c)))
          const res = roots.length > 0 ? await fetchObjects(repo, remote, roots, { onProgress: bar.onProgress }) : { objectsReceived: 0, bytesReceived: 0, bytesSkipped: 0, packsReceived: 0 }
          bar.stop()
          if (name != null) await writeTrackingRefs(repo.dir, name, refs)
          output({ ...g, json: opts.json }, { remote: remote.url, repos: refs, ...res }, () => `${remote.url}: ${refs.length} repositories, ${res.objectsReceived} objects, ${fmtBytes(res.bytesReceived)} received`)
        } finally {
          bar.stop()
          await remote.close()
        }
      })
    })
}
