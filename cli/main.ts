/**
 * The `tenpak` command line: one file per command under cli/commands, each
 * only wiring library calls. Errors become one line on stderr with their
 * stable code, and a non-zero exit.
 */
import { Command, CommanderError } from 'commander'
import { reportError, EXIT } from './context.js'

/** A command module: registers its command on the program. */
interface CommandModule { register: (program: Command) => void }

/**
 * Command modules by command name, loaded on demand: a command pulls in only
 * its own dependencies (the S3 SDK, the FUSE binding and the HTTP server are
 * not loaded for `tenpak add`), which keeps start-up short.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  'add': async () => await import('./commands/add.js'),
  'ls': async () => await import('./commands/ls.js'),
  'log': async () => await import('./commands/log.js'),
  'cat': async () => await import('./commands/cat.js'),
  'export': async () => await import('./commands/export.js'),
  'verify': async () => await import('./commands/verify.js'),
  'gc': async () => await import('./commands/gc.js'),
  'stats': async () => await import('./commands/stats.js'),
  'delta': async () => await import('./commands/delta.js'),
  'delta-dataset': async () => await import('./commands/delta-dataset.js'),
  'serve': async () => await import('./commands/serve.js'),
  'mount': async () => await import('./commands/mount.js'),
  'presets': async () => await import('./commands/presets.js'),
  'quantize': async () => await import('./commands/quantize.js'),
  'optimize': async () => await import('./commands/optimize.js'),
  'route': async () => await import('./commands/route.js'),
  'savings': async () => await import('./commands/savings.js'),
  'import-hf-cache': async () => await import('./commands/import-hf-cache.js'),
  'remote': async () => await import('./commands/remote.js'),
  'push': async () => await import('./commands/push.js'),
  'pull': async () => await import('./commands/pull.js'),
  'clone': async () => await import('./commands/clone.js'),
  'fetch': async () => await import('./commands/fetch.js'),
}

/** The command an argv names (first word that is not a global option or its value). */
function commandName (argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--store') { i++; continue }
    if (a.startsWith('-')) continue
    return a
  }
  return undefined
}

/** Load the modules `argv` needs: its command's, or all of them (help, unknown commands). */
async function loadCommands (argv: string[]): Promise<CommandModule[]> {
  const name = commandName(argv)
  if (name != null && Object.hasOwn(COMMANDS, name)) return [await COMMANDS[name]()]
  return await Promise.all(Object.values(COMMANDS).map(async load => await load()))
}

/** Build the program with the given command modules (exported for tests of argument parsing). */
export function buildProgram (modules: CommandModule[]): Command {
  const program = new Command()
  program.name('tenpak')
    .description('content-addressed storage for ML models and datasets')
    .version('0.1.0')
    .option('--store <dir>', 'store directory (default: $TENPAK_HOME or ~/.tenpak)')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(`tenpak: ERR_USAGE: ${str.replace(/^error: /, '').trim()}\n`) })
  for (const c of modules) c.register(program)
  return program
}

/** Run the CLI with `argv` (process.argv form). */
export async function main (argv: string[]): Promise<number> {
  const program = buildProgram(await loadCommands(argv))
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
