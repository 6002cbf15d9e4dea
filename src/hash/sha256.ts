/**
 * sha256, kept beside each file because Hub clients use it as the ETag of
 * large files (X-Linked-Etag) and to verify downloads.
 */
import { createHash } from 'node:crypto'

/** An incremental sha256. */
export function createSha256 (): { update: (d: Uint8Array) => void, digest: () => Uint8Array } {
  const h = createHash('sha256')
  return {
    update: (d) => { h.update(d) },
    digest: () => new Uint8Array(h.digest())
  }
}
