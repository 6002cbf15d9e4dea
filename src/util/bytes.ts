/**
 * Byte helpers: little-endian integer access, concatenation and comparison on
 * Uint8Array without copying where avoidable.
 */

/** Concatenate byte arrays into one new array. */
export function concat (parts: readonly Uint8Array[], total?: number): Uint8Array {
  const n = total ?? parts.reduce((s, p) => s + p.length, 0)
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

/** Byte-wise equality. */
export function equals (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

/** View a Uint8Array as a Buffer without copying. */
export function asBuffer (a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength)
}

/** Lower-case hex of bytes. */
export function toHex (a: Uint8Array): string {
  return asBuffer(a).toString('hex')
}

/** Bytes of a hex string. */
export function fromHex (s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'))
}
