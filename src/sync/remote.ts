/**
 * The transport interface push and pull are written against (docs/formats.md,
 * "Sync protocol v1"). Two implementations: another tenpak over HTTP
 * (http-remote.ts) and an S3 bucket (s3-remote.ts).
 */
import type { CID } from '../hash/cid.js'
import type { AbortOptions } from '../util/options.js'
import type { ObjectRef } from './objects.js'

/** Refs of one repository as a remote advertises them. */
export interface RemoteRepoRefs {
  /** full repo name, e.g. `models/org/name` */
  repo: string
  heads: Record<string, string>
  tags: Record<string, string>
}

/** A ref update: compare-and-swap from `old` (null: must not exist) to `new`. */
export interface RefUpdate {
  repo: string
  /** the ref's name: a branch, or a tag when `kind` is 'tags' */
  branch: string
  /** 'heads' (default) or 'tags'; a tag that exists moves only with `force` */
  kind?: 'heads' | 'tags'
  old: CID | null
  new: CID
  /** allow a non-fast-forward update */
  force?: boolean
}

/** A place to push to and pull from. */
export interface Remote {
  /** printable location (no credentials) */
  readonly url: string
  /** every repository's branches and tags */
  refs: (options?: AbortOptions) => Promise<RemoteRepoRefs[]>
  /** which of `cids` the remote lacks */
  missing: (cids: CID[], options?: AbortOptions) => Promise<CID[]>
  /** whether a pack with this id is already stored (a resumed transfer skips it) */
  hasPack: (packId: string, options?: AbortOptions) => Promise<boolean>
  /** send a transfer pack; the remote verifies every entry before it keeps any */
  sendPack: (file: string, packId: string, size: number, options?: AbortOptions) => Promise<void>
  /** compare-and-swap a branch or tag (ERR_REF_CONFLICT when it moved, or the update is not a fast-forward / moves a tag without force) */
  updateRef: (update: RefUpdate, options?: AbortOptions) => Promise<void>
  /** the closure of `roots` at the remote, bases-first (objects already in `local` need not be listed beyond their links) */
  closure: (roots: CID[], local: { has: (cid: CID) => boolean, getSync: (cid: CID) => Uint8Array }, options?: AbortOptions) => Promise<ObjectRef[]>
  /** write a pack of `refs` (as stored at the remote) to `file` */
  fetchPack: (refs: ObjectRef[], file: string, options?: AbortOptions) => Promise<void>
  close: () => Promise<void>
}

/** Default largest transfer pack (stored bytes). */
export const DEFAULT_TRANSFER_PACK_BYTES = 64 * 1024 * 1024

/** Objects asked about per `missing` call. */
export const HAS_BATCH = 1000
