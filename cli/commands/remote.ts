/** `tenpak remote add|remove|list` — named remotes of the store (http(s):// peers, s3:// buckets). */
import type { Command } from 'commander'
import { output, type GlobalOptions } from '../context.js'
import { defaultStoreDir } from '../../src/repo/repo.js'
import { addRemote, removeRemote, readRemotes } from '../../src/sync/remotes.js'

/** Register the command. */
export function register (program: Command): void {
  const remote = program.command('remote').description('manage remotes: other tenpak servers (http://host:port) and S3 buckets (s3://bucket/prefix)')
  remote.command('add')
    .description('add a remote')
    .argument('<name>', 'remote name')
    .argument('<url>', 'http(s)://host:port or s3://bucket/prefix')
    .option('--token <token>', 'bearer token for pushes (default: $TENPAK_TOKEN)')
    .option('--endpoint <url>', 'S3 endpoint (S3-compatible services; default $AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (default $AWS_REGION or us-east-1)')
    .option('--replace', 'replace an existing remote of that name')
    .action(async (name: string, url: string, opts: { token?: string, endpoint?: string, region?: string, replace?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const dir = g.store ?? defaultStoreDir()
      await addRemote(dir, name, { url, token: opts.token, endpoint: opts.endpoint, region: opts.region }, opts.replace === true)
    })
  remote.command('remove')
    .description('remove a remote')
    .argument('<name>', 'remote name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await removeRemote(g.store ?? defaultStoreDir(), name)
    })
  remote.command('list')
    .description('list remotes')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const remotes = await readRemotes(g.store ?? defaultStoreDir())
      // tokens and keys are never printed
      const shown = Object.fromEntries(Object.entries(remotes).map(([k, v]) => [k, { url: v.url, endpoint: v.endpoint, region: v.region, token: v.token != null ? 'set' : undefined }]))
      output({ ...g, json: opts.json }, shown, () => Object.entries(shown).map(([k, v]) => `${k}\t${v.url}`).join('\n'))
    })
}
