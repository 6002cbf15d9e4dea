/** `tenpak presets` — the nine quantization presets, their cost, runtimes, cited quality impact and upstream commands. */
import type { Command } from 'commander'
import { output, type GlobalOptions } from '../context.js'
import { listPresets, type QuantPreset } from '../../src/advisor/index.js'

function describe (p: QuantPreset): string {
  const lines = [
    `${p.id} — ${p.name}`,
    `  ${p.bitsPerWeight.toFixed(4)} bits/weight (${(p.sizeVsBf16 * 100).toFixed(1)}% of bf16); calibration data: ${p.needsCalibration ? 'yes' : 'no'}; runtimes: ${p.runtimes.join(', ')}`,
    `  bits/weight: ${p.bitsPerWeightDerivation}`,
    `  quality: ${p.quality.summary}`,
    ...p.quality.citations.map(c => `    source: ${c.title} <${c.url ?? ''}>${c.verified === false ? ' [UNVERIFIED]' : ''}`),
    ...(p.runtimeNotes ?? []).map(n => `  note: ${n}`),
    `  produce with ${p.produce.tool}:`,
    ...(p.produce.cli != null ? [`    $ ${p.produce.cli}`] : []),
    ...(p.produce.python != null ? p.produce.python.split('\n').map(l => `    >>> ${l}`) : []),
    ...(p.tenpakCommand != null ? [`  native: ${p.tenpakCommand}`] : [])
  ]
  return lines.join('\n')
}

/** Register the command. */
export function register (program: Command): void {
  program.command('presets')
    .description('list the quantization presets: size, runtimes, cited quality impact, commands that produce them')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const presets = listPresets()
      output({ ...g, json: opts.json }, presets, () => presets.map(describe).join('\n\n'))
    })
}
