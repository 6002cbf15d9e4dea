/**
 * BLAKE3 through the `blake3` package's native build (wasm fallback), and the
 * multiformats hasher that names it (multihash code 0x1e, 32-byte digest).
 */
import { createRequire } from 'node:module'
import { from } from 'multiformats/hashes/hasher'

const require = createRequire(import.meta.url)
// The package's CJS entry loads the native addon when it built, else wasm.
const blake3lib = require('blake3') as {
  hash: (data: Uint8Array) => Buffer
  createHash: () => { update: (d: Uint8Array) => unknown, digest: () => Buffer }
}

/** Multihash code of BLAKE3-256. */
export const BLAKE3_CODE = 0x1e

/** BLAKE3-256 of `data`. */
export function blake3 (data: Uint8Array): Uint8Array {
  const d = blake3lib.hash(data)
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

/** An incremental BLAKE3 hasher for streams. */
export function createBlake3 (): { update: (d: Uint8Array) => void, digest: () => Uint8Array } {
  const h = blake3lib.createHash()
  return {
    update: (d) => { h.update(d) },
    digest: () => { const d = h.digest(); return new Uint8Array(d.buffer, d.byteOffset, d.byteLength) }
  }
}

/** A multiformats MultihashHasher for BLAKE3-256, for IPFS tooling (importer, exporter, CAR). */
export const blake3Hasher = from({ name: 'blake3', code: BLAKE3_CODE, encode: (d: Uint8Array) => blake3(d) as Uint8Array<ArrayBuffer> })
