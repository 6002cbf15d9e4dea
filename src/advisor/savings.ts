/**
 * Savings calculator: pure arithmetic from the store's measured statistics
 * (logical vs stored bytes, with what deduplication, deltas and compression
 * each saved), scaled to N models and M downloads a month and priced with
 * per-GB storage and egress rates (defaults cited and dated, overridable).
 * No I/O: the store supplies the stats, the CLI prints the report.
 */

import { BadInputError, ErrorCode } from '../errors.js'
import { checked, published, type CitedValue } from './citations.js'

/** Store statistics, as `tenpak stats` measures them. */
export interface StoreStats {
  /** bytes of every file as users see them */
  logicalBytes: number
  /** bytes actually kept (packs) */
  storedBytes: number
  /** saved by storing identical chunks once */
  dedupSavedBytes: number
  /** saved by storing fine-tunes/derived datasets as deltas of their base */
  deltaSavedBytes: number
  /** saved by compression (zstd, byte grouping) */
  compressionSavedBytes: number
  /** bytes of DAG nodes, manifests and commits the store adds (a cost; `tenpak stats` reports it) */
  metadataBytes?: number
  /** pack headers and index trailers (a cost; `tenpak stats` reports it) */
  packOverheadBytes?: number
  /** how many models (repos) these stats cover; scaling is per model (default 1) */
  models?: number
}

/** Prices applied. */
export interface SavingsPrices {
  /** USD per GB-month of object storage */
  storageUsdPerGbMonth: number
  /** USD per GB transferred out to the internet */
  egressUsdPerGb: number
}

/** Options of {@link computeSavings}. */
export interface SavingsOptions {
  stats: StoreStats
  /** N: models to project to (default: stats.models ?? 1) */
  models?: number
  /** M: model downloads per month (default 0) */
  downloadsPerMonth?: number
  /** override the default prices */
  prices?: Partial<SavingsPrices>
  /** bytes per billed GB (default 2^30: AWS bills storage and transfer in binary GB) */
  bytesPerGb?: number
}

/** Default storage price: S3 Standard, first 50 TB/month, US East. */
export const DEFAULT_STORAGE_PRICE: CitedValue = {
  value: 0.023,
  unit: 'USD/GB-month',
  source: checked(published('Amazon S3 pricing — S3 Standard storage, US East (N. Virginia)', 'https://aws.amazon.com/s3/pricing/',
    'First 50 TB / Month: $0.023 per GB; storage is measured in binary gigabytes (1 GB = 2^30 bytes).', '2026-03'),
  'secondary', 'The S3 pricing table was not in the stored sources (a stored copy of the page lacks the table); $0.023 per GB-month for S3 Standard in US East is stated by cloudburn.io ("as of March 2026"), devnotes.tech and others. Binary GB: AWS\'s S3 FAQ examples divide KB by 1,048,576 to get GB.')
}

/** Default egress price: data transfer out to the internet, first 10 TB/month. */
export const DEFAULT_EGRESS_PRICE: CitedValue = {
  value: 0.09,
  unit: 'USD/GB',
  source: checked(published('Amazon S3 pricing — Data Transfer OUT From Amazon S3 To Internet, US East (N. Virginia)', 'https://aws.amazon.com/s3/pricing/',
    'First 10 TB / Month: $0.09 per GB (the free allowance of 100 GB/month across AWS is ignored here).', '2026-11'),
  'secondary', 'The S3 pricing table was not in the stored sources; "up to 10 TB: $0.09 per GB" after a free first 100 GB is stated by wring.co ("AWS Data Transfer Pricing, 2026"), finopsforge.com and devnotes.tech.')
}

/**
 * Bytes saved, by mechanism; costs are negative. With the store's
 * `metadataBytes` and `packOverheadBytes` given, the parts add up exactly:
 * logical − stored = dedup + delta + compression + metadata + packOverhead
 * (metadata = −metadataBytes, packOverhead = −packOverheadBytes), and
 * `unattributed` = (logical − stored) − (sum of the others) is 0.
 */
export interface SavedBreakdown {
  dedup: number
  delta: number
  compression: number
  /** −metadataBytes (DAG nodes, manifests, commits), 0 when not given */
  metadata: number
  /** −packOverheadBytes (pack headers, index trailers), 0 when not given */
  packOverhead: number
  unattributed: number
}

/** Result of {@link computeSavings}. */
export interface SavingsReport {
  measured: {
    models: number
    logicalBytes: number
    storedBytes: number
    savedBytes: number
    /** savedBytes / logicalBytes */
    savedFraction: number
    breakdown: SavedBreakdown
  }
  projection: {
    models: number
    downloadsPerMonth: number
    logicalBytes: number
    storedBytes: number
    savedBytes: number
    breakdown: SavedBreakdown
  }
  storage: { usdPerGbMonth: number, baselineUsdPerMonth: number, tenpakUsdPerMonth: number, savedUsdPerMonth: number }
  egress: { usdPerGb: number, baselineUsdPerMonth: number, tenpakUsdPerMonth: number, savedUsdPerMonth: number }
  totalSavedUsdPerMonth: number
  bytesPerGb: number
  prices: { storage: CitedValue, egress: CitedValue }
  assumptions: string[]
}

function checkCount (name: string, v: number, allowZero = true): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${name} must be a ${allowZero ? 'non-negative' : 'positive'} finite number`)
  }
}

/**
 * Compute storage and egress savings. Projection is linear per model:
 * projected bytes = N × measured bytes / measured models; storage cost =
 * bytes / bytesPerGb × price; egress = M × per-model bytes / bytesPerGb ×
 * price. Throws ERR_BAD_ARGUMENT for negative or non-finite inputs.
 */
export function computeSavings (options: SavingsOptions): SavingsReport {
  const s = options.stats
  for (const k of ['logicalBytes', 'storedBytes', 'dedupSavedBytes', 'deltaSavedBytes', 'compressionSavedBytes'] as const) checkCount(`stats.${k}`, s[k])
  for (const k of ['metadataBytes', 'packOverheadBytes'] as const) if (s[k] != null) checkCount(`stats.${k}`, s[k] as number)
  const measuredModels = s.models ?? 1
  checkCount('stats.models', measuredModels, false)
  const models = options.models ?? measuredModels
  checkCount('models', models)
  const downloads = options.downloadsPerMonth ?? 0
  checkCount('downloadsPerMonth', downloads)
  const bytesPerGb = options.bytesPerGb ?? 2 ** 30
  checkCount('bytesPerGb', bytesPerGb, false)
  const storagePrice: CitedValue = options.prices?.storageUsdPerGbMonth != null
    ? { value: options.prices.storageUsdPerGbMonth, unit: 'USD/GB-month', source: { kind: 'config', title: 'storage price flag' } }
    : DEFAULT_STORAGE_PRICE
  const egressPrice: CitedValue = options.prices?.egressUsdPerGb != null
    ? { value: options.prices.egressUsdPerGb, unit: 'USD/GB', source: { kind: 'config', title: 'egress price flag' } }
    : DEFAULT_EGRESS_PRICE
  checkCount('storage price', storagePrice.value)
  checkCount('egress price', egressPrice.value)

  const savedBytes = s.logicalBytes - s.storedBytes
  const metadata = 0 - (s.metadataBytes ?? 0) // 0 - 0 is +0, keeping JSON and deep-equality clean
  const packOverhead = 0 - (s.packOverheadBytes ?? 0)
  const breakdown: SavedBreakdown = {
    dedup: s.dedupSavedBytes,
    delta: s.deltaSavedBytes,
    compression: s.compressionSavedBytes,
    metadata,
    packOverhead,
    unattributed: savedBytes - (s.dedupSavedBytes + s.deltaSavedBytes + s.compressionSavedBytes + metadata + packOverhead)
  }
  const scale = (v: number): number => v * models / measuredModels
  const projLogical = scale(s.logicalBytes)
  const projStored = scale(s.storedBytes)
  const perModelLogical = s.logicalBytes / measuredModels
  const perModelStored = s.storedBytes / measuredModels

  const storageBaseline = projLogical / bytesPerGb * storagePrice.value
  const storageTenpak = projStored / bytesPerGb * storagePrice.value
  const egressBaseline = downloads * perModelLogical / bytesPerGb * egressPrice.value
  const egressTenpak = downloads * perModelStored / bytesPerGb * egressPrice.value

  return {
    measured: {
      models: measuredModels,
      logicalBytes: s.logicalBytes,
      storedBytes: s.storedBytes,
      savedBytes,
      savedFraction: s.logicalBytes === 0 ? 0 : savedBytes / s.logicalBytes,
      breakdown
    },
    projection: {
      models,
      downloadsPerMonth: downloads,
      logicalBytes: projLogical,
      storedBytes: projStored,
      savedBytes: projLogical - projStored,
      breakdown: { dedup: scale(breakdown.dedup), delta: scale(breakdown.delta), compression: scale(breakdown.compression), metadata: scale(breakdown.metadata), packOverhead: scale(breakdown.packOverhead), unattributed: scale(breakdown.unattributed) }
    },
    storage: { usdPerGbMonth: storagePrice.value, baselineUsdPerMonth: storageBaseline, tenpakUsdPerMonth: storageTenpak, savedUsdPerMonth: storageBaseline - storageTenpak },
    egress: { usdPerGb: egressPrice.value, baselineUsdPerMonth: egressBaseline, tenpakUsdPerMonth: egressTenpak, savedUsdPerMonth: egressBaseline - egressTenpak },
    totalSavedUsdPerMonth: (storageBaseline - storageTenpak) + (egressBaseline - egressTenpak),
    bytesPerGb,
    prices: { storage: storagePrice, egress: egressPrice },
    assumptions: [
      'Projection is linear: N models are assumed to save what the measured models save, per model.',
      'Egress savings assume downloads move stored bytes (tenpak pull / chunk-level transfer to a client that already holds shared chunks); plain file downloads over the Hub-compatible API transfer logical bytes and save no egress.',
      'Storage baseline keeps every file in full (logical bytes) in the same storage class.',
      'Tiered and free-allowance pricing is ignored: one flat rate per GB.'
    ]
  }
}
