/**
 * Gear-hash content-defined chunking (FastCDC with normalized chunking, Xia et
 * al. 2016/2020) as a streaming cutter: fed successive buffers, it reports cut
 * positions, identical however the stream is split. Optionally snaps every
 * content-defined cut forward to the end of the record it falls in: a line
 * ('\n'), or an element of a JSON array (a top-level ',').
 *
 * The gear table decides chunk boundaries, so it is part of the storage format
 * in effect: changing it (or the mask rule) changes the chunks, and so the CIDs,
 * of every newly added file and stops it deduplicating against stored data.
 */
import { BadInputError, ErrorCode } from '../errors.js'
import type { ChunkParams } from './types.js'

/**
 * Seed of the gear table: the ASCII bytes "tenpak-1" as a big-endian u64.
 * Entry i of the table is the high 32 bits of the (i+1)-th output of
 * SplitMix64 (Steele, Lea & Flood 2014; the `java.util.SplittableRandom`
 * mixer) started from this seed, read as a signed 32-bit integer.
 */
export const GEAR_SEED = 0x74656e70616b2d31n

const GEAR: Int32Array = makeGearTable(GEAR_SEED)

function makeGearTable (seed: bigint): Int32Array {
  const M64 = (1n << 64n) - 1n
  const out = new Int32Array(256)
  let state = seed & M64
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & M64
    let z = state
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64
    z = z ^ (z >> 31n)
    out[i] = Number(z >> 32n) | 0
  }
  return out
}

/** A copy of the 256-entry gear table (for documentation and tests). */
export function gearTable (): Int32Array {
  return GEAR.slice()
}

/** The content-defined chunking sizes (bytes) the cutter needs. */
export type CdcParams = Pick<ChunkParams, 'cdcMin' | 'cdcAvg' | 'cdcMax'>

/** Options of a gear cutter. */
export interface GearCutterOptions {
  /**
   * Snap each content-defined cut forward to just after the next '\n' (if one
   * comes before cdcMax), so chunks end at record ends.
   */
  records?: boolean
  /**
   * What ends a record when `records` is set: 'lines' (default) a '\n';
   * 'json-array' a ',' between the elements of a JSON array whose '[' came
   * before the stream began (strings, escapes and nesting tracked across
   * pushes, so a ',' inside an element never counts).
   */
  syntax?: RecordSyntax
}

/** What ends a record (see {@link GearCutterOptions.syntax}). */
export type RecordSyntax = 'lines' | 'json-array'

/**
 * Finds record ends for a records cutter. `seek` scans buf[from, lim) and
 * returns the offset just after the first record end there, or -1 when there
 * is none; `skip` feeds bytes that cannot hold a cut (so stateful syntaxes
 * stay in step). Every byte of the stream is fed exactly once, in order.
 */
interface RecordScanner {
  seek: (buf: Uint8Array, from: number, lim: number) => number
  skip: (buf: Uint8Array, from: number, to: number) => void
  reset: () => void
}

const lineScanner: RecordScanner = {
  seek (buf, from, lim) {
    const k = buf.subarray(from, lim).indexOf(0x0a)
    return k < 0 ? -1 : from + k + 1
  },
  skip () {},
  reset () {}
}

/**
 * Record ends of a JSON array's elements: just after each ',' outside strings
 * at nesting depth 0 (the stream starts after the array's '['). O(1) state; a
 * damaged file (an unclosed string) only stops snapping, cuts then fall at
 * cdcMax, never anything worse.
 */
function jsonArrayScanner (): RecordScanner {
  let inString = false
  let escape = false
  let depth = 0
  const scan = (buf: Uint8Array, from: number, to: number, stopAtEnd: boolean): number => {
    // Locals, not the closure's variables, in the loop: measured ~2x faster in V8.
    let s = inString
    let e = escape
    let d = depth
    let found = -1
    for (let i = from; i < to; i++) {
      const k = JSON_CLASS[buf[i]]
      if (k === 0) { e = false; continue } // most bytes: nothing structural
      if (s) {
        if (e) e = false
        else if (k === BACKSLASH) e = true
        else if (k === QUOTE) s = false
      } else if (k === QUOTE) s = true
      else if (k === OPEN) d++
      else if (k === CLOSE) { if (d > 0) d-- }
      else if (k === COMMA && d === 0 && stopAtEnd) { found = i + 1; break }
    }
    inString = s; escape = e; depth = d
    return found
  }
  return {
    seek: (buf, from, lim) => scan(buf, from, lim, true),
    skip: (buf, from, to) => { scan(buf, from, to, false) },
    reset () { inString = false; escape = false; depth = 0 }
  }
}

const QUOTE = 1
const BACKSLASH = 2
const OPEN = 3
const CLOSE = 4
const COMMA = 5
/** The JSON syntax class of each byte value (0: none that matters for record ends). */
const JSON_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(256)
  t[0x22] = QUOTE
  t[0x5c] = BACKSLASH
  t[0x7b] = OPEN; t[0x5b] = OPEN
  t[0x7d] = CLOSE; t[0x5d] = CLOSE
  t[0x2c] = COMMA
  return t
})()

/** A stateful content-defined cutter over one stream of bytes. */
export interface GearCutter {
  /**
   * Feed the next bytes of the stream. Returns the cut positions that fall in
   * `buf`, ascending, relative to `buf`: each p in (0, buf.length] means a
   * chunk ends just before `buf[p]`. The tail after the last cut stays pending
   * (the caller ends the stream's last chunk itself).
   */
  push: (buf: Uint8Array) => number[]
  /** Start a new stream: the next byte pushed begins a chunk. */
  reset: () => void
}

/**
 * The two FastCDC masks for an average size: "small" (harder, 2 more bits)
 * before cdcAvg bytes and "large" (easier, 2 fewer bits) after, which
 * concentrates chunk sizes around cdcAvg (normalization level 2). The masks
 * take the hash's HIGH bits because with h = (h << 1) + gear[b], bit k depends
 * only on the last k+1 bytes: high bits see a 32-byte window.
 */
export function gearMasks (cdcAvg: number): { maskS: number, maskL: number } {
  const bits = Math.round(Math.log2(cdcAvg))
  const top = (n: number): number => (n <= 0 ? 0 : (0xffffffff << (32 - n)) | 0)
  return { maskS: top(Math.min(bits + 2, 31)), maskL: top(Math.max(bits - 2, 1)) }
}

/** Throws ERR_BAD_ARGUMENT unless 0 < cdcMin <= cdcAvg <= cdcMax are safe integers and 16 <= cdcAvg <= 2^28. */
export function checkCdcParams (p: CdcParams): void {
  const { cdcMin, cdcAvg, cdcMax } = p
  if (![cdcMin, cdcAvg, cdcMax].every(x => Number.isSafeInteger(x) && x > 0) ||
    cdcMin > cdcAvg || cdcAvg > cdcMax || cdcAvg < 16 || cdcAvg > 2 ** 28) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT,
      `bad chunk sizes min ${cdcMin} / avg ${cdcAvg} / max ${cdcMax}: need 0 < min <= avg <= max and 16 <= avg <= 2^28`)
  }
}

/**
 * Create a streaming gear cutter. Chunks never exceed cdcMax; content-defined
 * cuts fall at >= cdcMin + 1 bytes (the first cdcMin bytes of a chunk are
 * skipped without hashing, as in FastCDC), forced cuts at exactly cdcMax.
 */
export function createGearCutter (params: CdcParams, options: GearCutterOptions = {}): GearCutter {
  checkCdcParams(params)
  const { cdcMin: min, cdcAvg: avg, cdcMax: max } = params
  const { maskS, maskL } = gearMasks(avg)
  const records = options.records === true
  const scanner = !records ? undefined : options.syntax === 'json-array' ? jsonArrayScanner() : lineScanner
  const G = GEAR

  // Stream state, carried between pushes: bytes already in the current chunk,
  // the rolling hash, and whether a cut was found and we now look for '\n'.
  let len = 0
  let hash = 0
  let seeking = false

  function push (buf: Uint8Array): number[] {
    const cuts: number[] = []
    const n = buf.length
    let i = 0
    let h = hash
    // Bytes of buf fed to the record scanner so far (records only).
    let scanned = 0
    while (i < n) {
      if (seeking) {
        const sc = scanner as RecordScanner
        if (scanned < i) sc.skip(buf, scanned, i)
        const lim = Math.min(n, i + (max - len))
        const k = sc.seek(buf, i, lim)
        scanned = k >= 0 ? k : lim
        if (k >= 0) {
          i = k
          cuts.push(i)
          len = 0; h = 0; seeking = false
        } else {
          len += lim - i
          i = lim
          if (len >= max) { cuts.push(i); len = 0; h = 0; seeking = false }
        }
        continue
      }
      if (len < min) {
        // FastCDC: no cut can fall this early, so these bytes are not hashed.
        const skip = Math.min(min - len, n - i)
        i += skip
        len += skip
        if (len < min) break
      }
      const base = i - len // where the current chunk began, relative to buf (may be negative)
      const stopS = Math.min(n, base + avg)
      const stopL = Math.min(n, base + max)
      // The hot loop: two bytes per iteration (measured ~20% faster in V8 than
      // one), same hash and test per byte. On a hit, j is the cut byte.
      let j = i
      let found = false
      for (const s1 = stopS - 1; j < s1; j += 2) {
        h = ((h << 1) + G[buf[j]]) | 0
        if ((h & maskS) === 0) { found = true; break }
        h = ((h << 1) + G[buf[j + 1]]) | 0
        if ((h & maskS) === 0) { j++; found = true; break }
      }
      if (!found && j < stopS) {
        h = ((h << 1) + G[buf[j]]) | 0
        if ((h & maskS) === 0) found = true
        else j++
      }
      if (!found) {
        for (const s1 = stopL - 1; j < s1; j += 2) {
          h = ((h << 1) + G[buf[j]]) | 0
          if ((h & maskL) === 0) { found = true; break }
          h = ((h << 1) + G[buf[j + 1]]) | 0
          if ((h & maskL) === 0) { j++; found = true; break }
        }
        if (!found && j < stopL) {
          h = ((h << 1) + G[buf[j]]) | 0
          if ((h & maskL) === 0) found = true
          else j++
        }
      }
      if (found) {
        if (records) {
          // Look for the record end from the cut byte itself onwards.
          seeking = true
          len = j - base
          i = j
        } else {
          i = j + 1
          cuts.push(i)
          len = 0; h = 0
        }
        continue
      }
      i = j
      len = j - base
      if (len >= max) { cuts.push(i); len = 0; h = 0 }
    }
    hash = h
    if (scanner !== undefined && scanned < n) scanner.skip(buf, scanned, n)
    return cuts
  }

  function reset (): void {
    len = 0; hash = 0; seeking = false
    scanner?.reset()
  }

  return { push, reset }
}

/**
 * Chunk ends (absolute, ascending, the last one `data.length`) of `data` cut
 * as one stream. For tests and benchmarks; the chunker streams instead.
 */
export function gearCuts (data: Uint8Array, params: CdcParams, options: GearCutterOptions = {}): number[] {
  const cuts = createGearCutter(params, options).push(data)
  if (data.length > 0 && cuts[cuts.length - 1] !== data.length) cuts.push(data.length)
  return cuts
}

/** Bytes of the window an anchor hash covers: the gear hash's full 32-bit state depends on exactly the last 32 bytes. */
export const ANCHOR_WINDOW = 32
/**
 * Bytes before a cut compared on an anchor hit. A hit whose last
 * ANCHOR_VERIFY bytes equal the base chunk's is taken wherever it falls; a
 * hit on the 32-byte window alone only when it is plausible: one of the next
 * {@link ANCHOR_SKIP} base chunk ends after the last anchor taken, near
 * where the base put it ({@link ANCHOR_DRIFT}). 32 bytes alone are too
 * few in repetitive data (every line of a CSV of long decimal expansions ends
 * alike: on the oil-price series, unchecked 32-byte anchors cut a file into
 * thousands of false 60-byte chunks), while records whose text changed
 * but whose ends did not (gsm8k's rewritten answers all end in "#### N\"}")
 * still align on the window alone.
 */
export const ANCHOR_VERIFY = 128
/**
 * How far a window-only anchor hit may lie from its expected place (see
 * {@link ANCHOR_VERIFY}): this many bytes plus half the distance from the
 * last anchor taken, so records rewritten longer (gsm8k's socratic answers
 * are ~30% longer) still align while a look-alike window a chunk away does not.
 */
export const ANCHOR_DRIFT = 4 * 1024
/** How many base chunk ends a window-only anchor hit may skip; see {@link ANCHOR_VERIFY}. */
export const ANCHOR_SKIP = 4
/** No anchor cut closer than this to the previous cut (repeated content must not shred a file). */
export const ANCHOR_MIN_CHUNK = 256

/** One base chunk end. */
export interface AnchorEnd {
  /** the base chunk's index */
  index: number
  /** offset in the base stream where the chunk ends */
  end: number
  /** its last {@link ANCHOR_VERIFY} bytes (fewer if it is shorter) */
  tail: Uint8Array
  /** the window also occurs elsewhere in the chunk: repetitive data, so only a verified tail counts */
  repeated: boolean
}

/**
 * Cut points carried over from a base file: for each of its chunk ends, the
 * gear hash of the {@link ANCHOR_WINDOW} bytes before it. A derived file
 * chunked with these anchors also cuts wherever a base chunk's end
 * reappears, so its chunks do not straddle the base's chunk boundaries where
 * the content around them survived, and each new chunk lies inside one base
 * chunk (the best source a single-base delta can have). A prefilter bitmap
 * keeps the per-byte cost to one table probe.
 */
export interface Anchors {
  /** 2^16 bits, indexed by the hash's high 16 bits */
  filter: Uint8Array
  /** anchor hash → the base chunk ends with that hash */
  ends: Map<number, AnchorEnd[]>
}

/** The anchor hash of a base chunk's end: the gear hash of its last {@link ANCHOR_WINDOW} bytes (undefined if shorter). */
export function anchorHash (chunk: Uint8Array): number | undefined {
  if (chunk.length < ANCHOR_WINDOW) return undefined
  let h = 0
  for (let i = chunk.length - ANCHOR_WINDOW; i < chunk.length; i++) h = ((h << 1) + GEAR[chunk[i]]) | 0
  return h
}

/** Build {@link Anchors} from base chunks (index, bytes, end offset), in file order; leave out the chunk that ends the file. */
export function createAnchors (chunks: Iterable<{ index: number, bytes: Uint8Array, end: number }>): Anchors {
  const filter = new Uint8Array(8192)
  const ends = new Map<number, AnchorEnd[]>()
  for (const { index, bytes, end } of chunks) {
    const h = anchorHash(bytes)
    if (h === undefined) continue
    let list = ends.get(h)
    if (list == null) { list = []; ends.set(h, list) }
    if (list.length >= 64) continue // a window repeated this often anchors nothing
    let seen = 0
    let g = 0
    for (let i = 0; i < bytes.length; i++) {
      g = ((g << 1) + GEAR[bytes[i]]) | 0
      if (g === h && i >= ANCHOR_WINDOW - 1) seen++
    }
    list.push({ index, end, tail: bytes.slice(Math.max(0, bytes.length - ANCHOR_VERIFY)), repeated: seen > 1 })
    const b = h >>> 16
    filter[b >>> 3] |= 1 << (b & 7)
  }
  return { filter, ends }
}

/** A cutter that also cuts after every anchor hit; {@link AnchoredCutter.anchorAt} names the base chunk an anchor cut matched. */
export interface AnchoredCutter extends GearCutter {
  /** for a cut position returned by the latest push: the base chunk index whose end it matched */
  anchorAt: (cut: number) => number | undefined
}

/**
 * Wrap `inner` so that it also cuts right after any bytes that end like a
 * base chunk (same {@link ANCHOR_WINDOW}-byte hash, then the same last
 * {@link ANCHOR_VERIFY} bytes), at least {@link ANCHOR_MIN_CHUNK} bytes after
 * the previous cut, and then restarts `inner` there, as at a chunk start.
 * The rolling window runs over the whole stream, across pushes, so the cuts
 * do not depend on how the stream is split.
 */
export function anchoredCutter (inner: GearCutter, anchors: Anchors): AnchoredCutter {
  const G = GEAR
  const { filter, ends } = anchors
  const ring = new Uint8Array(ANCHOR_VERIFY)
  let g = 0
  let total = 0 // bytes pushed so far (ring fill, window fill, stream position)
  let sinceCut = 0 // bytes since the last cut, either kind
  let lastIndex = -1 // the last anchor taken: its base chunk, where the base chunk ended, where we cut
  let lastBaseEnd = 0
  let lastCutAt = 0
  let hits = new Map<number, number>()
  /** do the last tail.length bytes (ring, ending at stream position `total`) equal `tail`? */
  const tailMatches = (tail: Uint8Array): boolean => {
    if (total < tail.length) return false
    for (let k = 0; k < tail.length; k++) {
      if (ring[(total - tail.length + k) % ANCHOR_VERIFY] !== tail[k]) return false
    }
    return true
  }
  const pick = (list: AnchorEnd[]): AnchorEnd | undefined => {
    for (const e of list) if (tailMatches(e.tail)) return e
    const expected = lastBaseEnd + (total - lastCutAt)
    const drift = ANCHOR_DRIFT + (total - lastCutAt) / 2
    for (const e of list) {
      if (!e.repeated && e.index > lastIndex && e.index <= lastIndex + ANCHOR_SKIP && Math.abs(e.end - expected) <= drift) return e
    }
    return undefined
  }
  return {
    push (buf: Uint8Array): number[] {
      hits = new Map()
      const cuts: number[] = []
      const n = buf.length
      let i = 0
      while (i < n) {
        let hit: AnchorEnd | undefined
        let j = i
        for (; j < n; j++) {
          const c = buf[j]
          g = ((g << 1) + G[c]) | 0
          ring[total % ANCHOR_VERIFY] = c
          total++
          const b = g >>> 16
          if ((filter[b >>> 3] & (1 << (b & 7))) !== 0 && total >= ANCHOR_WINDOW) {
            const list = ends.get(g)
            if (list !== undefined) {
              hit = pick(list)
              if (hit !== undefined) { j++; break }
            }
          }
        }
        const end = j
        let last = -1
        for (const c of inner.push(buf.subarray(i, end))) { cuts.push(i + c); last = i + c }
        sinceCut = last >= 0 ? end - last : sinceCut + (end - i)
        if (hit !== undefined && (sinceCut >= ANCHOR_MIN_CHUNK || last === end)) {
          if (last !== end) cuts.push(end)
          hits.set(end, hit.index)
          inner.reset()
          sinceCut = 0
          lastIndex = hit.index
          lastBaseEnd = hit.end
          lastCutAt = total
        }
        i = end
      }
      return cuts
    },
    reset () { inner.reset(); sinceCut = 0 },
    anchorAt: (cut) => hits.get(cut)
  }
}
