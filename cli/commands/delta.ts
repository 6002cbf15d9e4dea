/** `tenpak delta compress|decompress|estimate` — fine-tunes as bundles against their base. */
import type { Command } from 'commander'
import { output, fmtBytes, openStore, type GlobalOptions } from '../context.js'
import { compressDelta, decompressDelta, estimateDeltaSavings, type DeltaOptions } from '../../src/repo/delta-bundle.js'
import type { Repo } from '../../src/repo/repo.js'
import fs from 'node:fs'
import { defaultStoreDir } from '../../src/repo/repo.js'

// The store is opened only when it exists, so paths and HF-cache models work without one.
async function withOptionalStore<T> (g: GlobalOptions, fn: (opts: DeltaOptions) => Promise<T>): Promise<T> {
  const dir = g.store ?? defaultStoreDir()
  let store: Repo | undefined
  if (fs.existsSync(dir)) store = await openStore(g)
  try {
    return await fn({ store })
  } finally {
    await store?.close()
  }
}

const warn = (e: { warnings: string[] }): void => { for (const w of e.warnings) process.stderr.write(`tenpak: warning: ${w}\n`) }

const summary = (e: { baseBytes: number, finetuneBytes: number, deltaBytes: number, savingsPct: number }): string =>
  `base ${fmtBytes(e.baseBytes)}, fine-tune ${fmtBytes(e.finetuneBytes)}, delta ${fmtBytes(e.deltaBytes)} (${e.savingsPct.toFixed(1)}% saved)`

/** Register the command. */
export function register (program: Command): void {
  const delta = program.command('delta').description('store a fine-tune as a lossless delta of its base model')
  delta.command('compress')
    .description('write a delta bundle (pack + manifest.json) of FINETUNE against BASE')
    .argument('<base>', 'directory, file, cached HF model org/name[@rev], or store repo REPO[@REV]')
    .argument('<finetune>', 'same kinds as BASE')
    .requiredOption('-o, --output <dir>', 'bundle directory')
    .option('--json', 'print JSON')
    .action(async (base: string, ft: string, opts: { output: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withOptionalStore(g, async (o) => {
        const r = await compressDelta(base, ft, opts.output, o)
        warn(r)
        const { manifest, ...rest } = r
        output({ json: opts.json }, { ...rest, output: opts.output, base: manifest.base.tree, finetune: manifest.finetune.tree }, () => `${summary(r)}\nbundle written to ${opts.output}`)
      })
    })
  delta.command('decompress')
    .description('rebuild FINETUNE byte-for-byte from BASE and a bundle')
    .argument('<base>', 'the base the bundle was made against')
    .argument('<bundle>', 'bundle directory')
    .requiredOption('-o, --output <dir>', 'output directory (must not exist or be empty)')
    .option('--json', 'print JSON')
    .action(async (base: string, bundle: string, opts: { output: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withOptionalStore(g, async (o) => {
        const r = await decompressDelta(base, bundle, opts.output, o)
        output({ json: opts.json }, r, () => `rebuilt ${r.files} files (${fmtBytes(r.bytes)}) in ${opts.output}, every CID and sha256 checked`)
      })
    })
  delta.command('estimate')
    .description('print base, fine-tune and delta sizes without writing anything')
    .argument('<base>')
    .argument('<finetune>')
    .option('--json', 'print JSON')
    .action(async (base: string, ft: string, opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      await withOptionalStore(g, async (o) => {
        const r = await estimateDeltaSavings(base, ft, o)
        warn(r)
        output({ json: opts.json }, r, () => summary(r))
      })
    })
}
