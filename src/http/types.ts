/**
 * The HTTP layer's own request and response shapes: a handler is a function
 * from an HttpRequest to an HttpResponse, so tests call it without a socket
 * and `node.ts` mounts it on node:http.
 */

/** A response body: bytes at once, or a stream of them. */
export type HttpBody = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/** What the handler sees of a request. Header names are lower-case. */
export interface HttpRequest {
  method: string
  /** request target: path and query, as sent (`/org/name/resolve/main/x?y=1`) */
  url: string
  headers: Record<string, string | undefined>
  /** request body (POST/PUT), read lazily and bounded by the handler */
  body?: AsyncIterable<Uint8Array> | Uint8Array
  /** fires when the client goes away */
  signal?: AbortSignal
  /** the peer address, for logs */
  remote?: string
}

/** What the handler answers. */
export interface HttpResponse {
  status: number
  headers: Record<string, string>
  /**
   * Omitted for HEAD, 304 and empty answers. A synchronous iterable is
   * written in large corked batches (the hot path for file bytes); an async
   * one chunk by chunk with backpressure.
   */
  body?: HttpBody
  /** tenpak error code for logs (set on error responses) */
  errorCode?: string
}

/** A request handler. */
export type Handler = (req: HttpRequest) => Promise<HttpResponse>
