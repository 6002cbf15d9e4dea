/**
 * Write authorisation: `Authorization: Bearer <token>` checked against the
 * configured tokens in constant time (each token is hashed to a fixed length
 * first, and every configured token is compared, so neither the length nor
 * the position of a match leaks through timing). With no tokens configured,
 * every write is refused.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { HttpError } from './errors.js'

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** A checker over a fixed set of tokens. */
export interface TokenCheck {
  /** true when at least one token is configured */
  readonly enabled: boolean
  /** throw 401/403 unless `authorization` carries a valid token */
  require: (authorization: string | undefined) => void
}

/** Build a checker; empty tokens are ignored. */
export function createTokenCheck (tokens: readonly string[]): TokenCheck {
  const digests = tokens.filter(t => t.length > 0).map(digest)
  return {
    enabled: digests.length > 0,
    require (authorization) {
      if (digests.length === 0) throw new HttpError(403, 'WritesDisabled', 'writes are disabled on this server (no write tokens configured)')
      const m = authorization == null ? null : /^Bearer[ ]+([\x21-\x7e]{1,4096})\s*$/i.exec(authorization)
      const challenge = { 'www-authenticate': 'Bearer realm="tenpak"' }
      if (m == null) throw new HttpError(401, 'Unauthorized', 'a write needs Authorization: Bearer <token>', challenge)
      const got = digest(m[1])
      let ok = false
      for (const d of digests) ok = timingSafeEqual(d, got) || ok
      if (!ok) throw new HttpError(401, 'Unauthorized', 'invalid token', { 'www-authenticate': 'Bearer realm="tenpak", error="invalid_token"' })
    }
  }
}
