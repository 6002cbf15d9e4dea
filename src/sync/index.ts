/**
 * Sync: push, pull, fetch and clone between stores (HTTP peers) and S3
 * buckets. Protocol: docs/formats.md, "Sync protocol v1".
 */
export { push } from './push.js'
export type { PushOptions, PushResult } from './push.js'
export { pull, fetchObjects } from './pull.js'
export type { PullOptions, PullResult, FetchResult } from './pull.js'
export { createHttpRemote } from './http-remote.js'
export { createS3Remote } from './s3-remote.js'
export type { S3Remote } from './s3-remote.js'
export { readRemotes, addRemote, removeRemote, resolveRemote, openRemote, writeTrackingRefs, checkRemoteUrl } from './remotes.js'
export type { RemoteSpec } from './remotes.js'
export { localClosure, orderBasesFirst, batches, isAncestor } from './objects.js'
export type { ObjectRef } from './objects.js'
export { DEFAULT_TRANSFER_PACK_BYTES, HAS_BATCH } from './remote.js'
export type { Remote, RemoteRepoRefs, RefUpdate } from './remote.js'
