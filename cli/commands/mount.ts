/**
 * `tenpak mount DIR [--cache-size SIZE] [--decode-threads N] [--readahead SIZE] [--ref-ttl MS]
 * [--kernel-readahead KIB] [--allow-other] [--no-auto-unmount]` — a read-only FUSE view of the store at DIR
 * (DIR/models/ORG/NAME[@REV]/…, DIR/datasets/…) until SIGINT or SIGTERM.
 *
 * $TENPAK_FUSE_DEVICE names the FUSE device checked before mounting (default
 * /dev/fuse); tests point it at a missing path to see the "FUSE unavailable" error.
 */
import type { Command } from 'commander'
import { openStore, type GlobalOptions } from '../context.js'
import { parseSize } from '../../daemon/config.js'
import { mountStore } from '../../src/fuse/mount.js'
import { findMount } from '../../src/fuse/binding.js'
import { BadInputError, ErrorCode } from '../../src/errors.js'

interface MountFlags {
  cacheSize?: string
  decodeThreads?: string
  readahead?: string
  refTtl?: string
  kernelReadahead?: string
  allowOther?: boolean
  autoUnmount?: boolean
  debug?: boolean
}

function count (s: string | undefined, what: string): number | undefined {
  if (s == null) return undefined
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid ${what} ${JSON.stringify(s)}`)
  return n
}

/** Register the command. */
export function register (program: Command): void {
  program.command('mount')
    .description('mount a read-only view of every repo and revision at DIR (until Ctrl-C or SIGTERM)')
    .argument('<dir>', 'mount point (created if missing)')
    .option('--cache-size <size>', 'decoded-chunk cache, e.g. 512MiB (default 256MiB)')
    .option('--decode-threads <n>', 'worker threads decoding chunks (default: CPUs - 1, at most 4; 0: main thread)')
    .option('--readahead <size>', 'largest readahead for sequential readers (default 16MiB; 0 disables)')
    .option('--ref-ttl <ms>', 'how long branch heads are trusted before re-reading them (default 1000)')
    .option('--kernel-readahead <kib>', 'kernel readahead of the mount in KiB (default 1024; needs root)')
    .option('--allow-other', 'let other users read the mount (FUSE allow_other)')
    .option('--no-auto-unmount', 'do not have fusermount unmount when this process dies (a killed mount is then cleared at the next mount)')
    .option('--debug', 'libfuse debug output on stderr')
    .action(async (dir: string, opts: MountFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const options = {
        cacheBytes: opts.cacheSize != null ? parseSize(opts.cacheSize) : undefined,
        decodeThreads: count(opts.decodeThreads, '--decode-threads'),
        maxReadahead: opts.readahead != null ? parseSize(opts.readahead) : undefined,
        refTtlMs: count(opts.refTtl, '--ref-ttl'),
        kernelReadaheadKb: count(opts.kernelReadahead, '--kernel-readahead'),
        allowOther: opts.allowOther === true,
        autoUnmount: opts.autoUnmount !== false,
        debug: opts.debug === true,
        fuseDevice: process.env.TENPAK_FUSE_DEVICE != null && process.env.TENPAK_FUSE_DEVICE !== '' ? process.env.TENPAK_FUSE_DEVICE : undefined,
        onError: (err: unknown, op: string, p: string) => {
          const e = err as { code?: string, message?: string }
          process.stderr.write(`tenpak: mount: ${op} ${p}: ${e?.code ?? 'ERR_INTERNAL'}: ${e?.message ?? String(err)}\n`)
        }
      }
      const repo = await openStore(g)
      let handle
      try {
        handle = await mountStore(repo, dir, options)
      } catch (err) {
        await repo.close()
        throw err
      }
      process.stdout.write(`mounted ${repo.dir} at ${handle.dir}${handle.clearedStale ? ' (cleared a stale mount left there first)' : ''}; Ctrl-C or SIGTERM unmounts\n`)
      const why = await new Promise<string>(resolve => {
        const onSignal = (sig: NodeJS.Signals): void => { resolve(sig) }
        process.once('SIGINT', onSignal)
        process.once('SIGTERM', onSignal)
        // someone ran `fusermount -u DIR`: nothing left to serve
        const poll = setInterval(() => { if (findMount(handle.dir) == null) resolve('unmounted externally') }, 2000)
        poll.unref()
      })
      try {
        await handle.unmount()
      } finally {
        await repo.close()
      }
      process.stdout.write(`unmounted ${handle.dir} (${why})\n`)
      // the binding keeps libuv handles of its FUSE threads; nothing else is pending, so leave now
      process.exit(0)
    })
}
