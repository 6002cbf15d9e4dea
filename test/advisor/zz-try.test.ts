import t from 'tap'
import { quantizeModel } from '../../src/advisor/quantize/quantize-model.js'
import { readSafetensorsHeader, streamTensors } from './helpers/safetensors.js'
const p = '/work/shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors'
t.test('try', async t => {
const h = await readSafetensorsHeader(p)
for (const q of ['int8','nf4','fp8','q8_0','q4_0'] as const) {
  const r = await quantizeModel({ quantizer: q, tensors: h.tensors, source: streamTensors(p, h), originalBytes: 3053008 })
  console.log(q, r.relativeRmsError, r.maxAbsError, r.sqnrDb, r.bytes, r.compressionRatio, r.tensors.length, r.kept.length, JSON.stringify(r.tensors.map(x=>[x.name.slice(-30), x.relativeRmsError])))
}
t.pass()
})
