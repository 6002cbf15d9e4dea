/** `tenpak delta compress|decompress|estimate` — fine-tunes as bundles against their base. */
import type { Command } from 'commander'
import { output, fmtBytes, withOptionalStore, type GlobalOptions } from '../context.js'
import { compressDelta, decompressDelta, estimateDeltaSavings } from '../../src/repo/delta-bundle.js'
import { parseLossyMode } from '../../src/repo/lossy-ingest.js'
import type { LossyReport } from '../../src/repo/lossy-ingest.js'
import { lossyNotice, lossyTable } from '../lossy-report.js'


const warn = (e: { warnings: string[], lossy?: LossyReport }, what: string): void => {
  for (const w of e.warnings) process.stderr.write(`tenpak: warning: ${w}\n`)
  if (e.lossy != null) process.stderr.write(lossyNotice(e.lossy, what))
}

const lossyText = (e: { lossy?: LossyReport }): string => e.lossy != null && e.lossy.overall.tensors > 0 ? `\n${lossyTable(e.lossy)}` : ''

const LOSSY_HELP = 'quantise the fine-tune\'s delta as int8, int4 or 1bit: the bundle rebuilds a LOSSY reconstruction, whose error is reported'

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
    .option('--lossy <mode>', LOSSY_HELP)
    .option('--json', 'print JSON')
    .action(async (base: string, ft: string, opts: { output: string, lossy?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      if (opts.lossy != null) parseLossyMode(opts.lossy)
      await withOptionalStore(g, async (o) => {
        const r = await compressDelta(base, ft, opts.output, { ...o, lossy: opts.lossy })
        warn(r, 'bundle')
        const { manifest, ...rest } = r
        output({ json: opts.json }, { ...rest, output: opts.output, base: manifest.base.tree, finetune: manifest.finetune.tree }, () => `${summary(r)}\nbundle written to ${opts.output}${lossyText(r)}`)
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
        if (r.lossy != null) process.stderr.write(`tenpak: warning: this bundle is LOSSY (${r.lossy}): the files rebuilt are its reconstruction, not the original fine-tune\n`)
        output({ json: opts.json }, r, () => `rebuilt ${r.files} files (${fmtBytes(r.bytes)}) in ${opts.output}, every CID and sha256 checked`)
      })
    })
  delta.command('estimate')
    .description('print base, fine-tune and delta sizes without writing anything')
    .argument('<base>')
    .argument('<finetune>')
    .option('--lossy <mode>', LOSSY_HELP)
    .option('--json', 'print JSON')
    .action(async (base: string, ft: string, opts: { lossy?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      if (opts.lossy != null) parseLossyMode(opts.lossy)
      await withOptionalStore(g, async (o) => {
        const r = await estimateDeltaSavings(base, ft, { ...o, lossy: opts.lossy })
        warn(r, 'estimated fine-tune')
        output({ json: opts.json }, r, () => summary(r) + lossyText(r))
      })
    })
}
