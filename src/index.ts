/**
 * tenpak's library API. The CLI, the daemon and the tests use exactly this.
 */
export { createRepo, defaultStoreDir, commitHex } from './repo/repo.js'
export type { Repo, CreateRepoOptions, AddOptions, AddResult, Resolved, LsEntry, LogEntry, VerifyReport, GcReport, StoreStats } from './repo/repo.js'
export { parseRepoName, parseRepoRev, checkRefName, RepoType } from './repo/names.js'
export type { RepoName, RepoTypeValue } from './repo/names.js'
export type { Commit, FileEntry, Manifest } from './objects/commit.js'
export type { TensorInfo, FileLayout, Segment } from './formats/types.js'
export { TenpakError, NotFoundError, BadInputError, IntegrityError, ErrorCode, isTenpakError } from './errors.js'
export type { ErrorCodeValue } from './errors.js'
export { cidOf, parseCid, verifyBlock, Codec, CID } from './hash/cid.js'
export { blake3, blake3Hasher, BLAKE3_CODE } from './hash/blake3.js'
export { parseSafetensors, safetensorsHeaderLength } from './formats/safetensors.js'
export { detectLayout } from './formats/detect.js'
export { chunkFile, DEFAULT_CHUNK_PARAMS } from './chunk/chunker.js'
export { encodeChunk, decodeChunk } from './codec/codecs.js'
export type { AbortOptions, ProgressOptions, ProgressEvent } from './util/options.js'
