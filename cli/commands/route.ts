/** `tenpak route MODEL "PROMPT" [--quality-threshold Q]` — the cheapest model/preset/GPU good enough for a prompt, with cited reasoning. */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { output, type GlobalOptions } from '../context.js'
import { BadInputError, ErrorCode, fromSystemError } from '../../src/errors.js'
import { isUnverified, suggestOptimalModel, type CatalogConfig, type RouteDecision } from '../../src/advisor/index.js'

function num (flag: string, v: string | undefined, integer = false): number | undefined {
  if (v == null) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${flag} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`)
  return n
}

/** Names of the figures in the reasoning whose published source could not be confirmed. */
function unverifiedFigures (d: RouteDecision): string[] {
  const out = new Set<string>()
  for (const step of d.reasoning) {
    for (const v of Object.values(step.values)) {
      if (!('name' in v) && isUnverified(v.source)) out.add(`${v.value} ${v.unit} (${v.source.title})`)
    }
  }
  return [...out]
}

function text (d: RouteDecision): string {
  const unverified = unverifiedFigures(d)
  return [
    `${d.requestedModel} -> ${d.recommendedModel} as ${d.preset} on ${d.hardware.gpuCount} x ${d.hardware.gpu} (${d.hardware.provider} ${d.hardware.instanceType}, $${d.hardware.hourlyUsd}/h)`,
    `estimated $${d.estimatedCostPer1kTokens.toPrecision(4)} per 1k generated tokens; saves ${d.savingsPct.toFixed(1)}% vs ${d.baseline.model} as ${d.baseline.preset} on ${d.baseline.hardware.instanceType} ($${d.baseline.estimatedCostPer1kTokens.toPrecision(4)})`,
    `prompt: ${d.difficulty.tier} (score ${d.difficulty.score}, ${d.difficulty.category}, ~${d.difficulty.estimatedTokens} tokens)`,
    'reasoning:',
    ...d.reasoning.map((s, i) => `  ${i + 1}. ${s.text}`),
    ...(unverified.length > 0 ? ['unverified figures (no stored source confirmed them; see docs/advisor.md):', ...unverified.map(u => `  ${u}`)] : []),
    'Costs are memory-bandwidth roofline estimates at list prices: they rank options, they do not predict a bill.'
  ].join('\n')
}

/** Register the command. */
export function register (program: Command): void {
  program.command('route')
    .description('route a prompt for MODEL to the cheapest model, preset and GPU whose published score is good enough')
    .argument('<model>', 'requested model (catalog id or alias, e.g. llama-3.1-70b)')
    .argument('<prompt>', 'the prompt')
    .option('--quality-threshold <q>', 'fraction (0, 1] of the requested model\'s score a substitute must reach on a trivial prompt (default 0.8)')
    .option('--max-output-tokens <n>', 'tokens the answer may take, for the KV cache (default 512)')
    .option('--concurrency <n>', 'concurrent sequences sharing the GPUs (default 1)')
    .option('--catalog <file>', 'JSON GPU/offer overrides: { "gpus": [...], "offers": [...], "onlyOffers": [...] }')
    .option('--json', 'print JSON')
    .action(async (model: string, prompt: string, opts: { qualityThreshold?: string, maxOutputTokens?: string, concurrency?: string, catalog?: string, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      let catalog: CatalogConfig | undefined
      if (opts.catalog != null) {
        try {
          catalog = JSON.parse(await readFile(opts.catalog, 'utf8')) as CatalogConfig
        } catch (err) {
          if (err instanceof SyntaxError) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${opts.catalog} is not valid JSON (${err.message})`)
          throw fromSystemError(err, `reading ${opts.catalog}`)
        }
        const c = catalog as Record<string, unknown> | null
        if (c == null || typeof c !== 'object' || Array.isArray(c) || ['gpus', 'offers', 'onlyOffers'].some(k => c[k] != null && !Array.isArray(c[k]))) {
          throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${opts.catalog} must be a JSON object with optional "gpus", "offers" and "onlyOffers" arrays`)
        }
      }
      const d = suggestOptimalModel({
        requestedModel: model,
        prompt,
        qualityThreshold: num('--quality-threshold', opts.qualityThreshold),
        maxOutputTokens: num('--max-output-tokens', opts.maxOutputTokens, true),
        concurrency: num('--concurrency', opts.concurrency, true),
        catalog
      })
      output({ ...g, json: opts.json }, d, () => text(d))
    })
}
