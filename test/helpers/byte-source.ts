/**
 * Byte streams for tests: feed a buffer as an async iterable in pieces of a
 * chosen size, to check that consumers do not depend on how input is split.
 */

/** Yield `data` as fresh copies of `size` bytes each (the last may be shorter). */
export async function * bytesSource (data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.slice(o, o + size)
}

/** A `readHead` callback over an in-memory file that counts its calls. */
export function headReader (data: Uint8Array): { read: (length: number) => Promise<Uint8Array>, calls: number[] } {
  const calls: number[] = []
  return {
    calls,
    read: async (length: number) => { calls.push(length); return data.slice(0, length) }
  }
}
