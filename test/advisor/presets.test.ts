import t from 'tap'
import { getPreset, listPresets, PRESETS, presetForNative, Q4_0_INFO } from '../../src/advisor/presets.js'

t.test('nine presets with every field, cited quality and exact bits per weight', async t => {
  t.same(PRESETS.map(p => p.id), ['gptq-int4-g128', 'gptq-int8-g128', 'awq-int4-g128', 'bnb-nf4', 'bnb-fp4', 'bnb-int8', 'gguf-q4_k_m', 'gguf-q8_0', 'fp8-e4m3'])
  for (const p of PRESETS) {
    t.ok(p.bitsPerWeight > 0 && p.bitsPerWeight < 16, `${p.id} bits`)
    t.equal(p.sizeVsBf16, p.bitsPerWeight / 16, `${p.id} size vs bf16`)
    t.ok(p.bitsPerWeightDerivation.length > 20)
    t.type(p.needsCalibration, 'boolean')
    t.ok(p.runtimes.length > 0)
    t.ok(p.quality.citations.length > 0)
    for (const c of p.quality.citations) {
      t.equal(c.kind, 'published')
      t.match(c.url, /^https:\/\//)
      t.ok((c.says ?? '').length > 20, `${p.id} citation says what the source states`)
    }
    t.ok(p.produce.cli != null || p.produce.python != null, `${p.id} has an upstream command`)
  }
  t.equal(getPreset('gptq-int4-g128')?.bitsPerWeight, 4.15625)
  t.equal(getPreset('gptq-int8-g128')?.bitsPerWeight, 8.1875)
  t.equal(getPreset('awq-int4-g128')?.bitsPerWeight, 4.15625)
  t.equal(getPreset('bnb-nf4')?.bitsPerWeight, 4.5)
  t.equal(getPreset('bnb-int8')?.bitsPerWeight, 8 + 32 / 4096)
  t.equal(getPreset('gguf-q8_0')?.bitsPerWeight, 8.5)
  t.equal(getPreset('gguf-q4_k_m')?.bitsPerWeight, 4.8944)
  t.equal(getPreset('fp8-e4m3')?.bitsPerWeight, 8)
  t.equal(Q4_0_INFO.bitsPerWeight, 4.5)
  t.match(getPreset('bnb-nf4')?.bitsPerWeightDerivation, /4\.127/)
  t.same(PRESETS.filter(p => p.needsCalibration).map(p => p.id), ['gptq-int4-g128', 'gptq-int8-g128', 'awq-int4-g128'])
  t.equal(presetForNative('nf4')?.id, 'bnb-nf4')
  t.equal(presetForNative('int8')?.id, 'bnb-int8')
  t.equal(presetForNative('fp8')?.id, 'fp8-e4m3')
  t.equal(presetForNative('q8_0')?.id, 'gguf-q8_0')
  t.equal(presetForNative('q4_0'), undefined)
  t.same(JSON.parse(JSON.stringify(listPresets())).length, 9, 'JSON-serialisable')
})
