/**
 * The HTTP layer: a request → response handler over a repo (Hub API, IPFS
 * gateway subset, reconstruction API) and its node:http adapter.
 */
export { createHandler, MAX_URL_LENGTH } from './handler.js'
export type { HandlerOptions, TenpakHandler } from './handler.js'
export { toNodeListener } from './node.js'
export type { NodeListenerOptions, ResponseInfo } from './node.js'
export { parseRange, serveRepresentation, bodyBytes, MAX_RANGES } from './range.js'
export type { ByteRange, Representation, RangeParse } from './range.js'
export { createTokenCheck } from './auth.js'
export type { TokenCheck } from './auth.js'
export { ERROR_STATUS, HttpError, responseForError } from './errors.js'
export { reconstruct, RECONSTRUCTION_VERSION, MAX_TERMS } from './reconstruction.js'
export type { Reconstruction, ReconstructionTerm, StoredChunk } from './reconstruction.js'
export { DEFAULT_CHUNK_CACHE_BYTES } from './chunk-source.js'
export { IMMUTABLE, REVALIDATE } from './util.js'
export type { HttpRequest, HttpResponse, HttpBody, Handler } from './types.js'
