/**
 * The `tenpak` command line: one file per command under cli/commands, each
 * only wiring library calls. Errors become one line on stderr with their
 * stable code, and a non-zero exit.
 */
import { Command, CommanderError } from 'commander'
import { reportError, EXIT } from './context.js'
import * as add from './commands/add.js'
import * as ls from './commands/ls.js'
import * as log from './commands/log.js'
import * as cat from './commands/cat.js'
import * as exp from './commands/export.js'
import * as verify from './commands/verify.js'
import * as gc from './commands/gc.js'
import * as stats from './commands/stats.js'
import * as delta from './commands/delta.js'
import * as serve from './commands/serve.js'
import * as mount from './commands/mount.js'
import * as presets from './commands/presets.js'
import * as quantize from './commands/quantize.js'
import * as optimize from './commands/optimize.js'
import * as route from './commands/route.js'
import * as savings from './commands/savings.js'
import * as importHfCache from './commands/import-hf-cache.js'
import * as remote from './commands/remote.js'
import * as push from './commands/push.js'
import * as pull from './commands/pull.js'
import * as clone from './commands/clone.js'
import * as fetch from './commands/fetch.js'

/** Build the program (exported for tests of argument parsing). */
export function buildProgram (): Command {
  const program = new Command()
  program.name('tenpak')
    .description('content-addressed storage for ML models and datasets')
    .version('0.1.0')
    .option('--store <dir>', 'store directory (default: $TENPAK_HOME or ~/.tenpak)')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(`tenpak: ERR_USAGE: ${str.replace(/^error: /, '').trim()}\n`) })
  for (const c of [add, ls, log, cat, exp, verify, gc, stats, delta, serve, mount, presets, quantize, optimize, route, savings, importHfCache, remote, push, pull, clone, fetch]) c.register(program)
  return program
}

/** Run the CLI with `argv` (process.argv form). */
export async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK
      return EXIT.USAGE
    }
    return reportError(err)
  }
}
