import { join } from 'node:path'
import { stat } from 'node:fs/promises'
import t from 'tap'
import { NoPresetFitsError, optimizeModel, parseEvalFile, PROXY_NOTE, type OptimizeOptions } from '../../src/advisor/optimize.js'
import { readSafetensorsHeader, streamTensors } from './helpers/safetensors.js'

const CHECKPOINT = join(import.meta.dirname, '../../../shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors')

async function optimize (o: Partial<OptimizeOptions>) {
  const header = await readSafetensorsHeader(CHECKPOINT)
  const originalBytes = (await stat(CHECKPOINT)).size
  return await optimizeModel({ tensors: header.tensors, source: streamTensors(CHECKPOINT, header), originalBytes, ...o })
}

t.test('picks different presets under different constraints (peft checkpoint)', async t => {
  const strict = await optimize({ maxError: 0.01, minCompression: 2 })
  t.equal(strict.chosen.id, 'int8', 'max 1% error: int8 (q8_0 also fits but is larger; fp8 is smaller but 2.6% error)')
  t.equal(strict.note, PROXY_NOTE)
  t.match(strict.note, /proxy/)
  const fp8 = strict.candidates.find(c => c.id === 'fp8')!
  t.notOk(fp8.accepted)
  t.match(fp8.reasons.join(' '), /weight error 2\.64% > max 1\.00%/)
  t.ok(strict.candidates.every((c, i, a) => i === 0 || a[i - 1].bytes <= c.bytes), 'candidates listed smallest first')
  t.ok(strict.candidates.every(c => c.bytesSource === 'exact'))

  const mid = await optimize({ maxError: 0.03 })
  t.equal(mid.chosen.id, 'fp8', 'max 3% error: fp8 is the smallest that fits')

  const small = await optimize({ maxError: 0.1, minCompression: 2.98 })
  t.equal(small.chosen.id, 'nf4', 'max 10% error and ≥2.98×: nf4')
  const q40 = small.candidates.find(c => c.id === 'q4_0')!
  t.match(q40.reasons.join(' '), /compression 2\.977× < required 2\.980×/)
  t.comment(small.candidates.map(c => `${c.id}: ${c.bytes} B, ${c.compressionRatio.toFixed(3)}×, rel RMS ${c.relativeRmsError} → ${c.accepted ? 'ok' : c.reasons.join('; ')}`).join('\n'))
})

t.test('refuses with ERR_NO_PRESET_FITS and a clear message when nothing fits', async t => {
  const err = await optimize({ maxError: 0.001, minCompression: 2 }).catch(e => e)
  t.ok(err instanceof NoPresetFitsError)
  t.equal(err.code, 'ERR_NO_PRESET_FITS')
  t.match(err.message, /no preset meets weight error ≤ 0\.100% and compression ≥ 2\.000×/)
  t.match(err.message, /int8: .*weight error 0\.780% > max 0\.100%/)
  t.match(err.message, /proxy for model quality, not perplexity/)
  t.equal(err.candidates.length, 5)
  await t.rejects(optimize({ minCompression: 4 }), { code: 'ERR_NO_PRESET_FITS' })
  await t.rejects(optimize({ maxError: -1 }), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('eval-file presets (GPTQ/AWQ) are used as constraints with their measured figures', async t => {
  const evalResults = parseEvalFile({
    results: [
      { preset: 'gptq-int4-g128', perplexityDelta: 0.08, bytes: 900000, source: 'lm-eval wikitext, 2025-01' },
      { preset: 'awq-int4-g128', perplexityDelta: 0.3 },
      { preset: 'int8', perplexityDelta: 0.001 }
    ]
  })
  const withPpl = await optimize({ maxError: 0.1, maxPerplexityDelta: 0.1, eval: evalResults })
  t.equal(withPpl.chosen.id, 'gptq-int4-g128', 'the eval-measured GPTQ model is smallest and within +0.1 ppl')
  t.equal(withPpl.chosen.bytesSource, 'eval')
  const awq = withPpl.candidates.find(c => c.id === 'awq-int4-g128')!
  t.equal(awq.bytesSource, 'estimated', 'no bytes in the eval file: estimated from 4.15625 bits per weight')
  t.match(awq.reasons.join(' '), /perplexity \+0\.3 > max \+0\.1/)
  t.equal(withPpl.candidates.find(c => c.id === 'int8')!.perplexityDelta, 0.001, 'eval figures for native presets are attached')

  const rmsOnly = await optimize({ maxError: 0.1, eval: evalResults })
  t.equal(rmsOnly.chosen.id, 'nf4', 'without a perplexity constraint the eval-only presets cannot be judged')
  t.match(rmsOnly.candidates.find(c => c.id === 'gptq-int4-g128')!.reasons.join(' '), /no measurement for the given quality constraint/)
})

t.test('eval files are validated', async t => {
  t.throws(() => parseEvalFile({}), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => parseEvalFile([{ preset: 'gptq-int4-g128' }]), { code: 'ERR_BAD_ARGUMENT' })
  t.throws(() => parseEvalFile([{ preset: 'my-custom', perplexityDelta: 0.1 }]), { code: 'ERR_BAD_ARGUMENT' })
  t.same(parseEvalFile([{ preset: 'my-custom', perplexityDelta: 0.1, bytes: 10 }]), [{ preset: 'my-custom', perplexityDelta: 0.1, bytes: 10 }])
  t.throws(() => parseEvalFile([{ preset: 'int8', relativeRmsError: -1 }]), { code: 'ERR_BAD_ARGUMENT' })
})

t.test('row sampling keeps sizes exact and flags the result', async t => {
  const full = await optimize({ maxError: 0.1 })
  const sampled = await optimize({ maxError: 0.1, sampleRows: 64 })
  t.equal(sampled.sampled, true)
  t.equal(full.sampled, false)
  for (const c of sampled.candidates) {
    const f = full.candidates.find(x => x.id === c.id)!
    t.equal(c.bytes, f.bytes, `${c.id} size unchanged by sampling`)
    t.ok(Math.abs(c.relativeRmsError! - f.relativeRmsError!) / f.relativeRmsError! < 0.25, `${c.id} sampled error ${c.relativeRmsError} close to full ${f.relativeRmsError}`)
  }
})
