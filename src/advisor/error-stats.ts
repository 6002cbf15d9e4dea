/**
 * Quantization error measurement. One accumulator per tensor and one for the
 * whole run; figures are always computed from sums over elements, so the
 * overall relative RMS is ||x − x̂|| / ||x|| over every element of every
 * quantized tensor — not an average of per-tensor ratios.
 */

/** Error figures of a tensor or of a whole run. */
export interface ErrorFigures {
  /** ||x − x̂||₂ / ||x||₂ (0 when both are 0; Infinity when x is all zeros but x̂ is not). */
  relativeRmsError: number
  /** max |x − x̂| */
  maxAbsError: number
  /** 10·log10(Σx² / Σ(x − x̂)²) in dB; Infinity when the error is exactly 0 (JSON: null). */
  sqnrDb: number
  /** elements measured */
  elements: number
}

/** Running sums for {@link ErrorFigures}; sums are kept in float64. */
export class ErrorAccumulator {
  private sumSq = 0
  private sumErrSq = 0
  private maxAbs = 0
  private n = 0

  /** Add one original/reconstructed pair. */
  add (x: number, xHat: number): void {
    const e = x - xHat
    this.sumSq += x * x
    this.sumErrSq += e * e
    const a = Math.abs(e)
    if (a > this.maxAbs || Number.isNaN(a)) this.maxAbs = a
    this.n++
  }

  /** Fold another accumulator's sums into this one. */
  merge (other: ErrorAccumulator): void {
    this.sumSq += other.sumSq
    this.sumErrSq += other.sumErrSq
    if (other.maxAbs > this.maxAbs || Number.isNaN(other.maxAbs)) this.maxAbs = other.maxAbs
    this.n += other.n
  }

  /** Σx² so far. */
  get signalEnergy (): number { return this.sumSq }

  /** Σ(x − x̂)² so far. */
  get errorEnergy (): number { return this.sumErrSq }

  /** The figures for everything added so far. */
  figures (): ErrorFigures {
    return figuresFromSums(this.sumSq, this.sumErrSq, this.maxAbs, this.n)
  }
}

/** Compute {@link ErrorFigures} from raw sums. */
export function figuresFromSums (sumSq: number, sumErrSq: number, maxAbs: number, elements: number): ErrorFigures {
  let relativeRmsError: number
  if (sumSq === 0) relativeRmsError = sumErrSq === 0 ? 0 : Infinity
  else relativeRmsError = Math.sqrt(sumErrSq / sumSq)
  let sqnrDb: number
  if (sumErrSq === 0) sqnrDb = Infinity
  else if (sumSq === 0) sqnrDb = -Infinity
  else sqnrDb = 10 * Math.log10(sumSq / sumErrSq)
  return { relativeRmsError, maxAbsError: maxAbs, sqnrDb, elements }
}
