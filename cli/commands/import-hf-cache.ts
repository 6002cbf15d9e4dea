/** `tenpak import-hf-cache [--dry-run] [--cache DIR]` — add the local Hugging Face cache's snapshots to the store. */
import type { Command } from 'commander'
import { withStore, output, fmtBytes, type GlobalOptions } from '../context.js'
import { defaultHfCacheDir, importHfCache, scanHfCache, type HfCacheScan } from '../../src/advisor/index.js'

function listing (scan: HfCacheScan): string[] {
  return [
    ...scan.snapshots.map(s => `${s.repo}@${s.revision}${s.refs.length > 0 ? ` (${s.refs.join(', ')})` : ''}: ${s.files} files, ${fmtBytes(s.bytes)}${s.missing.length > 0 ? `, ${s.missing.length} missing` : ''}`),
    ...scan.skipped.map(s => `skipped ${s.path}: ${s.reason}`)
  ]
}

/** Register the command. */
export function register (program: Command): void {
  program.command('import-hf-cache')
    .description('import the snapshots of the local Hugging Face cache (models and datasets) into the store')
    .option('--cache <dir>', 'hub cache directory (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)')
    .option('--dry-run', 'list what would be imported, with sizes, and change nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { cache?: string, dryRun?: boolean, json?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const scan = await scanHfCache(opts.cache ?? defaultHfCacheDir())
      const total = scan.snapshots.reduce((s, x) => s + x.bytes, 0)
      if (opts.dryRun === true) {
        output({ ...g, json: opts.json }, { dryRun: true, ...scan, bytes: total }, () => [
          `would import ${scan.snapshots.length} snapshots (${fmtBytes(total)}) from ${scan.cacheDir}:`,
          ...listing(scan).map(l => `  ${l}`)
        ].join('\n'))
        return
      }
      await withStore(g, async (r) => {
        const imported = await importHfCache(r, scan)
        const value = {
          dryRun: false,
          cacheDir: scan.cacheDir,
          bytes: total,
          imported: imported.map(i => ({
            repo: i.repo,
            revision: i.revision,
            tag: i.tag,
            commit: i.commit,
            alreadyImported: i.alreadyImported,
            unchanged: i.alreadyImported || i.result?.unchanged === true,
            files: i.result?.files ?? null,
            logicalBytes: i.result?.logicalBytes ?? null,
            newStoredBytes: i.result?.newStoredBytes ?? 0
          })),
          skipped: scan.skipped
        }
        output({ ...g, json: opts.json }, value, () => [
          `imported ${imported.length} snapshots (${fmtBytes(total)}) from ${scan.cacheDir}:`,
          ...value.imported.map(i => i.alreadyImported
            ? `  ${i.repo}@${i.revision}: already imported (${i.commit})`
            : `  ${i.repo}@${i.revision}: ${i.unchanged ? 'unchanged' : i.commit}, ${i.files ?? 0} files, ${fmtBytes(i.newStoredBytes)} newly stored`),
          ...scan.skipped.map(s => `  skipped ${s.path}: ${s.reason}`),
          'see `tenpak savings` for what the store saves on them'
        ].join('\n'))
      })
    })
}
