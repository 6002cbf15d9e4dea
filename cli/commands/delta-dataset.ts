/** `tenpak delta-dataset compress|decompress|estimate` — a dataset version as a bundle against its base version. */
import type { Command } from 'commander'
import { output, fmtBytes, withOptionalStore, type GlobalOptions } from '../context.js'
import { compressDatasetDelta, decompressDatasetDelta, estimateDatasetDeltaSavings, type DatasetDeltaEstimate } from '../../src/repo/dataset-delta.js'


const warn = (e: { warnings: string[] }): void => {
  for (const w of e.warnings) process.stderr.write(`tenpak: warning: ${w}\n`)
}

const summary = (e: DatasetDeltaEstimate): string =>
  `base ${fmtBytes(e.baseBytes)}, derived ${fmtBytes(e.derivedBytes)}, delta ${fmtBytes(e.deltaBytes)} (${e.savingsPct.toFixed(1)}% saved)`

const SOURCE = 'file, directory, store repo datasets/org/name[@rev], or cached HF dataset [datasets/]org/name[@rev]'

/** Register the command. */
export function register (program: Command): void {
  const cmd = program.command('delta-dataset').description('store a dataset version as a lossless delta of another version')
  cmd.command('compress')
    .description('write a delta bundle (pack + manifest.json) of DERIVED against BASE')
    .argument('<base>', SOURCE)
    .argument('<derived>', 'same kinds as BASE')
    .requiredOption('-o, --output <dir>', 'bundle directory')
    .option('--json', 'print JSON')
    .action(async (base: string, derived: string, opts: { output: string, json?: boolean }, c: Command) => {
      await withOptionalStore(c.optsWithGlobals<GlobalOptions>(), async (o) => {
        const r = await compressDatasetDelta(base, derived, opts.output, o)
        warn(r)
        const { manifest, ...rest } = r
        output({ json: opts.json }, { ...rest, base: manifest.base.tree, derived: manifest.finetune.tree }, () => `${summary(r)}\nbundle written to ${opts.output}`)
      })
    })
  cmd.command('decompress')
    .description('rebuild DERIVED byte-for-byte from BASE and a bundle')
    .argument('<base>', 'the base the bundle was made against')
    .argument('<bundle>', 'bundle directory')
    .requiredOption('-o, --output <dir>', 'output directory (must not exist or be empty)')
    .option('--json', 'print JSON')
    .action(async (base: string, bundle: string, opts: { output: string, json?: boolean }, c: Command) => {
      await withOptionalStore(c.optsWithGlobals<GlobalOptions>(), async (o) => {
        const r = await decompressDatasetDelta(base, bundle, opts.output, o)
        output({ json: opts.json }, r, () => `rebuilt ${r.files} files (${fmtBytes(r.bytes)}) in ${opts.output}, every CID and sha256 checked`)
      })
    })
  cmd.command('estimate')
    .description('print base, derived and delta sizes without writing anything')
    .argument('<base>', SOURCE)
    .argument('<derived>', 'same kinds as BASE')
    .option('--json', 'print JSON')
    .action(async (base: string, derived: string, opts: { json?: boolean }, c: Command) => {
      await withOptionalStore(c.optsWithGlobals<GlobalOptions>(), async (o) => {
        const r = await estimateDatasetDeltaSavings(base, derived, o)
        warn(r)
        output({ json: opts.json }, r, () => summary(r))
      })
    })
}
