/**
 * `tenpak savings` on a store holding several corpus folders: every byte
 * figure is the `tenpak stats` figure or exact arithmetic on them.
 */
import t from 'tap'
import { join } from 'node:path'
import { runCli, tempDir } from '../helpers/store.js'
import { corpusPath } from '../helpers/corpus.js'

t.test('savings --json matches stats --json arithmetic exactly, field by field', async t => {
  const store = join(tempDir(t, 'tenpak-cli-savings-'), 'store')
  const folders: Array<[string, string]> = [
    ['mediapipe/palm-detection', 'models/mediapipe-palm_detection_full-repack'],
    ['safetensors/fixtures', 'models/safetensors-format-fixtures'],
    ['datasets/openai/gsm8k', 'datasets/gsm8k-test-socratic'],
    ['peft/roberta-mrpc', 'models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors']
  ]
  for (const [repo, rel] of folders) {
    const r = runCli(['add', repo, corpusPath(rel)], { store })
    t.equal(r.status, 0, r.stderr.toString())
  }
  // a second revision sharing most chunks with the first, so dedup is non-zero
  t.equal(runCli(['add', 'peft/roberta-mrpc', corpusPath('models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0460.adapter_model.safetensors')], { store }).status, 0)

  const stats = JSON.parse(runCli(['stats', '--json'], { store }).stdout.toString())
  const sr = runCli(['savings', '--models', '10', '--downloads', '100', '--json'], { store })
  t.equal(sr.status, 0, sr.stderr.toString())
  const s = JSON.parse(sr.stdout.toString())

  t.same(s.stats, stats, 'the stats savings used are exactly `tenpak stats --json`')
  const m = s.measured
  t.equal(m.models, stats.repos)
  t.equal(m.logicalBytes, stats.logicalBytes)
  t.equal(m.storedBytes, stats.storedBytes)
  t.equal(m.savedBytes, stats.logicalBytes - stats.storedBytes)
  t.equal(m.savedFraction, (stats.logicalBytes - stats.storedBytes) / stats.logicalBytes)
  t.equal(m.breakdown.dedup, stats.dedupSavedBytes)
  t.equal(m.breakdown.delta, stats.deltaSavedBytes)
  t.equal(m.breakdown.compression, stats.compressionSavedBytes)
  t.equal(m.breakdown.metadata, -stats.metadataBytes)
  t.equal(m.breakdown.packOverhead, -stats.packOverheadBytes)
  t.equal(m.breakdown.unattributed, 0, 'nothing unattributed: the parts add up exactly')
  // the store's identity: stored = logical − dedup + metadata − compression − delta + packOverhead
  t.equal(stats.storedBytes, stats.logicalBytes - stats.dedupSavedBytes + stats.metadataBytes - stats.compressionSavedBytes - stats.deltaSavedBytes + stats.packOverheadBytes)
  t.equal(m.savedBytes, m.breakdown.dedup + m.breakdown.delta + m.breakdown.compression + m.breakdown.metadata + m.breakdown.packOverhead)
  t.ok(stats.dedupSavedBytes > 0, 'dedup measured')
  t.ok(stats.compressionSavedBytes > 0, 'compression measured')

  const p = s.projection
  const scale = (v: number): number => v * 10 / stats.repos
  t.equal(p.models, 10)
  t.equal(p.downloadsPerMonth, 100)
  t.equal(p.logicalBytes, scale(stats.logicalBytes))
  t.equal(p.storedBytes, scale(stats.storedBytes))
  t.equal(p.savedBytes, scale(stats.logicalBytes) - scale(stats.storedBytes))
  t.equal(p.breakdown.dedup, scale(stats.dedupSavedBytes))
  t.equal(p.breakdown.compression, scale(stats.compressionSavedBytes))

  const GB = 2 ** 30
  t.equal(s.bytesPerGb, GB)
  t.equal(s.storage.usdPerGbMonth, 0.023)
  t.equal(s.storage.baselineUsdPerMonth, scale(stats.logicalBytes) / GB * 0.023)
  t.equal(s.storage.tenpakUsdPerMonth, scale(stats.storedBytes) / GB * 0.023)
  t.equal(s.egress.usdPerGb, 0.09)
  t.equal(s.egress.baselineUsdPerMonth, 100 * (stats.logicalBytes / stats.repos) / GB * 0.09)
  t.equal(s.egress.tenpakUsdPerMonth, 100 * (stats.storedBytes / stats.repos) / GB * 0.09)
  t.equal(s.totalSavedUsdPerMonth, s.storage.savedUsdPerMonth + s.egress.savedUsdPerMonth)
  t.match(s.prices.storage.source.url, /^https:\/\/aws\.amazon\.com\/s3\/pricing/)
  t.type(s.prices.storage.source.verified, 'boolean')
  t.ok(s.assumptions.length >= 3)

  // prices from flags are used and cited as config
  const flagged = JSON.parse(runCli(['savings', '--price-storage', '0.5', '--price-egress', '0.25', '--downloads', '4', '--json'], { store }).stdout.toString())
  t.equal(flagged.storage.baselineUsdPerMonth, stats.logicalBytes / GB * 0.5)
  t.equal(flagged.egress.tenpakUsdPerMonth, 4 * (stats.storedBytes / stats.repos) / GB * 0.25)
  t.equal(flagged.prices.storage.source.kind, 'config')
  t.equal(flagged.projection.models, stats.repos, 'N defaults to the repositories in the store')

  const text = runCli(['savings'], { store })
  t.equal(text.status, 0)
  t.match(text.stdout.toString(), /measured on 4 repositories/)
  t.match(text.stdout.toString(), /assumption: Egress savings assume/)

  const bad = runCli(['savings', '--models', '-3'], { store })
  t.not(bad.status, 0)
  t.match(bad.stderr.toString(), /^tenpak: ERR_BAD_ARGUMENT: --models must be a non-negative number/)
})
