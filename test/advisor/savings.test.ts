import t from 'tap'
import { computeSavings, DEFAULT_EGRESS_PRICE, DEFAULT_STORAGE_PRICE } from '../../src/advisor/savings.js'

const GiB = 2 ** 30
const stats = {
  logicalBytes: 10 * GiB,
  storedBytes: 4 * GiB,
  dedupSavedBytes: 3 * GiB,
  deltaSavedBytes: 2 * GiB,
  compressionSavedBytes: 0.5 * GiB,
  models: 2
}

t.test('measured figures and projection to N models / M downloads are exact', async t => {
  const r = computeSavings({ stats, models: 10, downloadsPerMonth: 100, prices: { storageUsdPerGbMonth: 0.25, egressUsdPerGb: 0.125 } })
  t.same(r.measured, {
    models: 2,
    logicalBytes: 10 * GiB,
    storedBytes: 4 * GiB,
    savedBytes: 6 * GiB,
    savedFraction: 0.6,
    breakdown: { dedup: 3 * GiB, delta: 2 * GiB, compression: 0.5 * GiB, metadata: 0, packOverhead: 0, unattributed: 0.5 * GiB }
  })
  t.same(r.projection, {
    models: 10,
    downloadsPerMonth: 100,
    logicalBytes: 50 * GiB,
    storedBytes: 20 * GiB,
    savedBytes: 30 * GiB,
    breakdown: { dedup: 15 * GiB, delta: 10 * GiB, compression: 2.5 * GiB, metadata: 0, packOverhead: 0, unattributed: 2.5 * GiB }
  })
  // dyadic prices make every product exact in binary floating point
  t.same(r.storage, { usdPerGbMonth: 0.25, baselineUsdPerMonth: 12.5, tenpakUsdPerMonth: 5, savedUsdPerMonth: 7.5 })
  // each download moves one average model: 5 GiB logical vs 2 GiB stored
  t.same(r.egress, { usdPerGb: 0.125, baselineUsdPerMonth: 62.5, tenpakUsdPerMonth: 25, savedUsdPerMonth: 37.5 })
  t.equal(r.totalSavedUsdPerMonth, 45)
  t.equal(r.prices.storage.source.kind, 'config')
})

t.test('default prices are cited and dated; arithmetic follows the documented formula', async t => {
  t.equal(DEFAULT_STORAGE_PRICE.value, 0.023)
  t.equal(DEFAULT_EGRESS_PRICE.value, 0.09)
  for (const p of [DEFAULT_STORAGE_PRICE, DEFAULT_EGRESS_PRICE]) {
    t.match(p.source.url, /^https:\/\/aws\.amazon\.com\//)
    t.match(p.source.asOf, /^\d{4}-\d{2}/)
  }
  const r = computeSavings({ stats, downloadsPerMonth: 3 })
  t.equal(r.projection.models, 2, 'N defaults to the measured model count')
  t.equal(r.storage.baselineUsdPerMonth, 10 * 0.023)
  t.equal(r.storage.tenpakUsdPerMonth, 4 * 0.023)
  t.equal(r.egress.baselineUsdPerMonth, 3 * 5 * GiB / GiB * 0.09)
  t.equal(r.egress.tenpakUsdPerMonth, 3 * 2 * GiB / GiB * 0.09)
  t.equal(r.totalSavedUsdPerMonth, (10 * 0.023 - 4 * 0.023) + (3 * 5 * 0.09 - 3 * 2 * 0.09))
  t.ok(r.assumptions.some(a => /Egress savings assume/.test(a)))
})

t.test('decimal GB and zero downloads', async t => {
  const r = computeSavings({ stats: { ...stats, models: 1 }, bytesPerGb: 1e9, prices: { storageUsdPerGbMonth: 1 } })
  t.equal(r.storage.baselineUsdPerMonth, 10 * GiB / 1e9)
  t.equal(r.egress.savedUsdPerMonth, 0)
})

t.test('invalid stats are refused', async t => {
  t.throws(() => computeSavings({ stats: { ...stats, storedBytes: -1 } }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => computeSavings({ stats: { ...stats, models: 0 } }), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => computeSavings({ stats, downloadsPerMonth: NaN }), { code: 'ERR_BAD_ARGUMENT' })
})
