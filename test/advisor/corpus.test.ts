import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createFileSink } from '../../src/advisor/quantize/file-sink.js'
import { quantizeModel, type QuantizeReport } from '../../src/advisor/quantize/quantize-model.js'
import type { TensorInput } from '../../src/advisor/quantize/types.js'
import { NF4_CODE } from '../../src/advisor/quantize/nf4.js'
import { parseSafetensors, safetensorsHeaderLength } from '../../src/formats/safetensors.js'
import { readAll, readSafetensorsHeader, streamTensors, f32 } from './helpers/safetensors.js'
import { refError } from './helpers/reference.js'

const CHECKPOINT = join(import.meta.dirname, '../../../shared/corpus/models/peft-finegates-roberta-mrpc-checkpoints/checkpoint-0230.adapter_model.safetensors')

function figures (r: QuantizeReport): string {
  const pct = (v: number): string => `${(v * 100).toFixed(4)}%`
  return `relativeRmsError ${pct(r.relativeRmsError)} (${r.relativeRmsError}), maxAbsError ${r.maxAbsError}, SQNR ${r.sqnrDb.toFixed(2)} dB, ${r.bytes} bytes (${r.compressionRatio.toFixed(3)}× vs ${r.originalBytes}), ${r.tensors.length} tensors quantized, ${r.kept.length} kept`
}

t.test('peft checkpoint (F32): INT8 relative RMS < 1%, NF4 < 10%, written tensor by tensor, figures recomputed from the files', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'tenpak-corpus-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const header = await readSafetensorsHeader(CHECKPOINT)
  const originalBytes = (await stat(CHECKPOINT)).size
  t.equal(header.tensors.length, 148)
  const results: Record<string, QuantizeReport> = {}

  for (const q of ['int8', 'nf4', 'fp8', 'q8_0', 'q4_0'] as const) {
    const out = join(dir, q === 'q8_0' || q === 'q4_0' ? `out-${q}.gguf` : `out-${q}.safetensors`)
    const file = await createFileSink(out)
    // record the interleaving of reads and writes to show the pipeline holds one tensor at a time
    const events: string[] = []
    async function * source (): AsyncGenerator<TensorInput> {
      for await (const tensor of streamTensors(CHECKPOINT, header)) {
        events.push(`read ${tensor.name}`)
        yield tensor
      }
    }
    let writes = 0
    const report = await quantizeModel({
      quantizer: q,
      tensors: header.tensors,
      source: source(),
      sink: async chunk => { writes++; events.push('write'); await file.sink(chunk) },
      originalBytes,
      metadata: header.metadata
    })
    await file.close()
    results[q] = report
    t.equal((await stat(out)).size, report.bytes, `${q}: file size equals reported bytes`)
    // every read is followed by that tensor's writes before the next read
    const reads = events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('read'))
    for (let k = 0; k + 1 < reads.length; k++) {
      if (!events.slice(reads[k][1] + 1, reads[k + 1][1]).includes('write')) t.fail(`${q}: tensor ${k} not written before the next was read`)
    }
    t.ok(writes > header.tensors.length, `${q}: ${writes} sequential writes`)
    t.comment(`${q}: ${figures(report)}`)
    for (const tr of report.tensors) t.comment(`  ${q} ${tr.name}: relRMS ${tr.relativeRmsError}, maxAbs ${tr.maxAbsError}, SQNR ${tr.sqnrDb.toFixed(2)} dB`)
  }

  t.ok(results.int8.relativeRmsError < 0.01, `INT8 relative RMS ${results.int8.relativeRmsError} < 1%`)
  t.ok(results.nf4.relativeRmsError < 0.10, `NF4 relative RMS ${results.nf4.relativeRmsError} < 10%`)
  t.same(results.int8.tensors.map(x => x.name), ['base_model.model.classifier.dense.weight', 'base_model.model.classifier.out_proj.weight'], 'only the 2-D linear weights are quantized')
  t.equal(results.int8.kept.length, 146, '146 1-D tensors kept in F32')

  // independent recomputation of the overall figure from the written INT8 and NF4 files
  const src = await readAll(CHECKPOINT)
  const i8 = await readAll(join(dir, 'out-int8.safetensors'))
  const nf = await readAll(join(dir, 'out-nf4.safetensors'))
  const xs: number[] = []
  const y8: number[] = []
  const y4: number[] = []
  for (const name of ['base_model.model.classifier.dense.weight', 'base_model.model.classifier.out_proj.weight']) {
    const x = f32(src.tensors.get(name)!.data)
    const [rows, cols] = src.tensors.get(name)!.shape
    const q = new Int8Array(i8.tensors.get(name)!.data.slice().buffer)
    const scb = f32(i8.tensors.get(name.replace(/weight$/, 'SCB'))!.data)
    const packed = nf.tensors.get(name)!.data
    const absmax = f32(nf.tensors.get(`${name}.absmax`)!.data)
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c
        xs.push(x[i])
        y8.push(q[i] * scb[r] / 127)
        const code = i % 2 === 0 ? packed[i >> 1] >> 4 : packed[i >> 1] & 15
        y4.push(NF4_CODE[code] * absmax[Math.floor(i / 64)])
      }
    }
  }
  const e8 = refError(xs, y8)
  const e4 = refError(xs, y4)
  t.ok(Math.abs(e8.rel - results.int8.relativeRmsError) < 1e-6, `INT8 recomputed from file: ${e8.rel}`)
  t.ok(Math.abs(e4.rel - results.nf4.relativeRmsError) < 1e-6, `NF4 recomputed from file: ${e4.rel}`)
  t.equal(i8.tensors.get('base_model.model.classifier.dense.bias')!.data.length, 3072)
  t.same(i8.tensors.get('base_model.model.classifier.dense.bias')!.data, src.tensors.get('base_model.model.classifier.dense.bias')!.data, 'biases kept bit-exact')
})

t.test('safetensors outputs pass the store\'s strict parser (contiguous offsets, sizes match shapes)', async t => {
  const header = await readSafetensorsHeader(CHECKPOINT)
  for (const q of ['int8', 'nf4', 'fp8'] as const) {
    const chunks: Uint8Array[] = []
    const report = await quantizeModel({ quantizer: q, tensors: header.tensors, source: streamTensors(CHECKPOINT, header), sink: c => { chunks.push(c.slice()) } })
    const file = Buffer.concat(chunks)
    t.equal(file.length, report.bytes)
    const n = safetensorsHeaderLength(file.subarray(0, 8), file.length)
    const layout = parseSafetensors(file.subarray(8, 8 + n), file.length)
    t.equal(layout.format, 'safetensors')
    t.equal(layout.tensors?.length, header.tensors.length + (q === 'int8' ? 4 : q === 'nf4' ? 6 : 2), `${q}: tensor count`)
  }
})
