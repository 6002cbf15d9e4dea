/**
 * Async-iterable helpers for byte streams.
 */

/**
 * Re-slice a byte stream into pieces of exactly `size` bytes (the last may be
 * shorter). Copies only when a piece straddles input buffers.
 */
export async function * rechunk (source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = []
  let pendingLen = 0
  for await (const buf of source) {
    let off = 0
    while (off < buf.length) {
      if (pendingLen === 0 && buf.length - off >= size) {
        yield buf.subarray(off, off + size)
        off += size
        continue
      }
      const take = Math.min(size - pendingLen, buf.length - off)
      pending.push(buf.subarray(off, off + take))
      pendingLen += take
      off += take
      if (pendingLen === size) {
        yield joinParts(pending, pendingLen)
        pending = []
        pendingLen = 0
      }
    }
  }
  if (pendingLen > 0) yield joinParts(pending, pendingLen)
}

function joinParts (parts: Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(len)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** Collect an async iterable of bytes into one array (tests and small data only). */
export async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of source) { parts.push(p); n += p.length }
  return joinParts(parts.length === 0 ? [new Uint8Array(0)] : parts, n)
}
