/**
 * CIDs: CIDv1 with a BLAKE3-256 multihash, over raw leaves (0x55), dag-pb
 * nodes (0x70) and dag-cbor nodes (0x71). A CID always names logical bytes.
 */
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { blake3, BLAKE3_CODE } from './blake3.js'
import { IntegrityError, BadInputError, ErrorCode } from '../errors.js'
import { equals } from '../util/bytes.js'

export { CID }

/** Multicodec codes tenpak stores. */
export const Codec = {
  RAW: 0x55,
  DAG_PB: 0x70,
  DAG_CBOR: 0x71
} as const

/** One of {@link Codec}'s values. */
export type CodecCode = typeof Codec[keyof typeof Codec]

/** Multihash code of the identity "hash": the digest is the bytes themselves. */
export const IDENTITY_CODE = 0x00

/**
 * Chunks up to this many bytes are not stored: their CID is an identity CID
 * (raw codec, identity multihash) that holds the bytes, inlined into the
 * file's DAG node as kubo does with `--inline` (its default limit is also 32).
 * A model container's tiny gaps (a TFLite buffer's 4-byte length and
 * padding, 150 of them in the palm-detection model) then cost no pack entry
 * and no index entry, and change with their node's delta against its base.
 */
export const INLINE_MAX = 32

/** The identity CID of `bytes` (at most {@link INLINE_MAX} of them). */
export function inlineCid (bytes: Uint8Array): CID {
  return CID.createV1(Codec.RAW, Digest.create(IDENTITY_CODE, bytes.slice()))
}

/** Whether `cid` holds its bytes itself (an identity CID). */
export function isInline (cid: CID): boolean {
  return cid.multihash.code === IDENTITY_CODE
}

/** CID of `bytes` under the given multicodec. */
export function cidOf (codec: CodecCode, bytes: Uint8Array): CID {
  return CID.createV1(codec, Digest.create(BLAKE3_CODE, blake3(bytes)))
}

/** CID built from an already computed BLAKE3 digest. */
export function cidFromDigest (codec: CodecCode, digest: Uint8Array): CID {
  return CID.createV1(codec, Digest.create(BLAKE3_CODE, digest))
}

/** Throw ERR_HASH_MISMATCH unless `bytes` hash to `cid`. */
export function verifyBlock (cid: CID, bytes: Uint8Array): void {
  if (cid.multihash.code === IDENTITY_CODE) {
    if (!equals(bytes, cid.multihash.digest)) throw new IntegrityError(`block ${cid.toString()} does not match its inline bytes`)
    return
  }
  if (cid.multihash.code !== BLAKE3_CODE) {
    throw new IntegrityError(`unsupported multihash 0x${cid.multihash.code.toString(16)} in ${cid.toString()}`, ErrorCode.UNSUPPORTED)
  }
  if (!equals(blake3(bytes), cid.multihash.digest)) {
    throw new IntegrityError(`block ${cid.toString()} does not match its hash`)
  }
}

/** Parse a CID string or bytes, with ERR_BAD_ARGUMENT on failure. */
export function parseCid (s: string | Uint8Array): CID {
  try {
    return typeof s === 'string' ? CID.parse(s) : CID.decode(s)
  } catch (err) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `not a CID: ${typeof s === 'string' ? s.slice(0, 80) : '<bytes>'}`, { cause: err })
  }
}
