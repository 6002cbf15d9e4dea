import t from 'tap'
import { e4m3ToF32, f16BitsToF32, f32ToE4M3, f32ToF16Bits, roundHalfEven, roundHalfAway, decodeFloats } from '../../src/advisor/float.js'
import { refE4M3, refHalf } from './helpers/reference.js'

t.test('E4M3 decoding matches the OCP spec for all 256 codes, max 448, one NaN per sign', async t => {
  let nan = 0
  const bad: number[] = []
  for (let b = 0; b < 256; b++) {
    const v = e4m3ToF32(b)
    if (Number.isNaN(refE4M3(b))) { if (Number.isNaN(v)) nan++; else bad.push(b); continue }
    if (!Object.is(v, refE4M3(b))) bad.push(b)
  }
  t.same(bad, [])
  t.equal(nan, 2)
  t.equal(e4m3ToF32(0x7e), 448)
  t.equal(e4m3ToF32(0x01), 2 ** -9)
})

t.test('E4M3 encoding rounds to the nearest representable value, ties to even, saturating at 448', async t => {
  const finite: Array<{ code: number, v: number }> = []
  for (let b = 0; b < 0x7f; b++) finite.push({ code: b, v: refE4M3(b) })
  const brute = (x: number): number => {
    const a = Math.abs(x)
    if (a >= 448) return (x < 0 ? 0x80 : 0) | 0x7e
    let best = 0
    let bestD = Infinity
    for (const f of finite) {
      const d = Math.abs(a - f.v)
      if (d < bestD || (d === bestD && (f.code & 1) === 0)) { bestD = d; best = f.code }
    }
    return (x < 0 || Object.is(x, -0) ? 0x80 : 0) | best
  }
  const bad: string[] = []
  for (const f of finite) {
    if (f32ToE4M3(f.v) !== f.code) bad.push(`exact ${f.v}`)
    if (f32ToE4M3(-f.v) !== (f.code | 0x80)) bad.push(`exact -${f.v}`)
  }
  // midpoints between neighbours and a sweep of arbitrary values
  for (let i = 0; i + 1 < finite.length; i++) {
    const mid = Math.fround((finite[i].v + finite[i + 1].v) / 2)
    if (f32ToE4M3(mid) !== brute(mid)) bad.push(`tie at ${mid}`)
  }
  for (let k = 0; k < 5000; k++) {
    const x = Math.fround((Math.sin(k * 12.9898) * 43758.5453 % 1) * 500)
    if (f32ToE4M3(x) !== brute(x)) bad.push(`value ${x}`)
  }
  t.same(bad, [], 'every value encodes to the brute-force nearest code')
  t.equal(f32ToE4M3(1e9), 0x7e)
  t.equal(f32ToE4M3(-1e9), 0xfe)
  t.equal(f32ToE4M3(NaN), 0x7f)
  t.equal(f32ToE4M3(1.0625), 0x38, '1.0625 ties to 1.0 (even mantissa)')
  t.equal(f32ToE4M3(1.1875), 0x3a, '1.1875 ties to 1.25 (even mantissa)')
  t.equal(f32ToE4M3(2 ** -10), 0x00, 'half the smallest subnormal ties to zero')
})

t.test('fp32 → fp16 rounds to nearest even and decodes exactly', async t => {
  t.equal(f32ToF16Bits(1), 0x3c00)
  t.equal(f32ToF16Bits(65504), 0x7bff)
  t.equal(f32ToF16Bits(65520), 0x7c00, 'tie above max rounds to inf')
  t.equal(f32ToF16Bits(2 ** -24), 0x0001)
  t.equal(f32ToF16Bits(2 ** -25), 0x0000, 'tie to even zero')
  t.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00)
  t.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02)
  t.equal(f32ToF16Bits(-0), 0x8000)
  const bad: string[] = []
  for (let h = 0; h < 0x7c00; h++) {
    if (f16BitsToF32(h) !== refHalf(h)) bad.push(`decode ${h}`)
    if (f32ToF16Bits(refHalf(h)) !== h) bad.push(`round trip ${h}`)
  }
  for (let k = 0; k < 20000; k++) {
    const x = Math.fround(Math.tan(k * 0.37) * 3)
    const h = f32ToF16Bits(x)
    const d = Math.abs(refHalf(h) - x)
    if (Math.abs(x) < 65504) {
      if (Math.abs(refHalf(h - 1) - x) < d || Math.abs(refHalf(h + 1) - x) < d) bad.push(`not nearest for ${x}`)
    }
  }
  t.same(bad, [], 'every finite half round-trips and encoding picks the nearest half')
})

t.test('rounding helpers and float decoding', async t => {
  t.same([2.5, 3.5, -2.5, -3.5, 0.4].map(roundHalfEven), [2, 4, -2, -4, 0])
  t.same([2.5, -2.5, 0.49].map(roundHalfAway), [3, -3, 0])
  const bytes = new Uint8Array([0x00, 0x3c, 0x80, 0x3f]) // F16 1.0, BF16 1.0 read as...
  t.same([...decodeFloats('F16', bytes)], [1, refHalf(0x3f80)])
  t.same([...decodeFloats('BF16', new Uint8Array([0x80, 0x3f]))], [1])
  t.throws(() => decodeFloats('I64', new Uint8Array(8)), { code: 'ERR_UNSUPPORTED' })
})
