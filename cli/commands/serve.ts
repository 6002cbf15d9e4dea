/** `tenpak serve [--host H] [--port P] [--config FILE] [--write-token T]…` — the HTTP origin (daemon/). */
import type { Command } from 'commander'
import type { GlobalOptions } from '../context.js'
import { loadConfig, type ServeFlags } from '../../daemon/config.js'
import { startServer } from '../../daemon/server.js'
import { createJsonLogger } from '../../daemon/logger.js'

/** Register the command. */
export function register (program: Command): void {
  program.command('serve')
    .description('serve the store over HTTP: Hub-compatible API, IPFS gateway subset, reconstruction API')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port (default 7070; 0 picks a free one)')
    .option('--config <file>', 'JSON config file (see docs/deploy.md)')
    .option('--write-token <token>', 'bearer token allowed to write (repeatable; also $TENPAK_WRITE_TOKENS)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--cache <size>', 'decoded-chunk cache, e.g. 256MiB (default 64MiB)')
    .option('--public-url <url>', 'URL clients reach this server at (for Link headers)')
    .option('--quiet', 'log only errors and lifecycle events, not every request')
    .action(async (opts: Omit<ServeFlags, 'store'>, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const config = loadConfig({ ...opts, store: g.store })
      const logger = createJsonLogger(process.stderr)
      const server = await startServer(config, { logger })
      // first signal: graceful; a second one while draining: stop now
      await new Promise<void>(resolve => {
        let stopping = false
        const onSignal = (sig: NodeJS.Signals): void => {
          if (stopping) { logger.warn('second signal, exiting', { signal: sig }); process.exit(130) }
          stopping = true
          server.close(sig).then(resolve, (err: unknown) => { logger.error('shutdown failed', { err: String(err) }); resolve() })
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
      })
    })
}
