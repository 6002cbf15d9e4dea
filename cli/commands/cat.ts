/** `tenpak cat REPO[@REV] PATH [--range START-END]` — file bytes to stdout (END inclusive). */
import type { Command } from 'commander'
import { withStore, type GlobalOptions } from '../context.js'
import { parseRepoRev } from '../../src/repo/names.js'
import { BadInputError, ErrorCode } from '../../src/errors.js'

/** Parse `START-END` (END inclusive) or `START-` into a half-open range. */
export function parseRange (s: string, size: number): { start: number, end: number } {
  const m = /^(\d+)-(\d*)$/.exec(s)
  if (m == null) throw new BadInputError(ErrorCode.BAD_RANGE, `invalid range ${JSON.stringify(s)} (expected START-END, END inclusive)`)
  const start = Number(m[1])
  const end = m[2] === '' ? size : Number(m[2]) + 1
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= end || start >= size || end > size) {
    throw new BadInputError(ErrorCode.BAD_RANGE, `range ${s} is outside a file of ${size} bytes`)
  }
  return { start, end }
}

/** Register the command. */
export function register (program: Command): void {
  program.command('cat')
    .description('write a file of REPO to stdout')
    .argument('<repo>', 'REPO[@REV]')
    .argument('<path>', 'file path inside the repo')
    .option('--range <start-end>', 'only bytes START..END (inclusive)')
    .action(async (repoRev: string, p: string, opts: { range?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const { repo, rev } = parseRepoRev(repoRev)
      await withStore(g, async (r) => {
        const f = await r.stat(repo.full, rev, p)
        const range = opts.range != null ? parseRange(opts.range, f.size) : { start: 0, end: f.size }
        for await (const chunk of r.read(f, range)) {
          if (!process.stdout.write(chunk)) await new Promise<void>(resolve => process.stdout.once('drain', () => resolve()))
        }
      })
    })
}
