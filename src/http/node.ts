/**
 * Mounting a handler on node:http. Bodies stream with backpressure and
 * bounded memory: synchronous iterables (file bytes) are written in corked
 * batches of about `batchBytes` (one writev per batch, one event-loop turn
 * per batch instead of per chunk), then the writer waits for 'drain'; async
 * iterables chunk by chunk. A client that goes away stops the iteration; an
 * error after the headers went out destroys the socket, so a truncated body
 * never looks complete.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HttpBody, HttpRequest, HttpResponse } from './types.js'
import { responseForError } from './errors.js'

/** What is reported after each response, for logs and metrics. */
export interface ResponseInfo {
  method: string
  url: string
  remote?: string
  status: number
  /** body bytes written */
  bytes: number
  ms: number
  errorCode?: string
  /** the error behind a 5xx or an aborted stream */
  error?: unknown
  /** the client went away before the body was complete */
  aborted: boolean
}

/** Options for {@link toNodeListener}. */
export interface NodeListenerOptions {
  /** bytes written per corked batch of a synchronous body (default 1 MiB) */
  batchBytes?: number
  onResponse?: (info: ResponseInfo) => void
  /** when true, new requests get 503 and `Connection: close` (shutting down) */
  isDraining?: () => boolean
}

/** A `(req, res)` listener for `http.createServer` running `handle`. */
export function toNodeListener (handle: (req: HttpRequest) => Promise<HttpResponse>, opts: NodeListenerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const batch = opts.batchBytes ?? (1 << 20)
  return (nreq, nres) => {
    const t0 = performance.now()
    const ac = new AbortController()
    nres.on('close', () => { if (!nres.writableFinished) ac.abort() })
    const headers: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(nreq.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v
    const method = nreq.method ?? 'GET'
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH'
    if (!hasBody) nreq.resume()
    const req: HttpRequest = { method, url: nreq.url ?? '/', headers, body: hasBody ? nreq : undefined, signal: ac.signal, remote: nreq.socket.remoteAddress }
    let bytes = 0
    let status = 0
    let errorCode: string | undefined
    let error: unknown

    const run = async (): Promise<void> => {
      let res: HttpResponse
      if (opts.isDraining?.() === true) {
        res = { status: 503, headers: { 'content-type': 'application/json', connection: 'close', 'retry-after': '1', 'x-error-code': 'ShuttingDown' }, body: '{"error":"server is shutting down","code":"ShuttingDown"}' }
      } else {
        res = await handle(req)
      }
      errorCode = res.errorCode
      error = (res as { error?: unknown }).error
      let body = res.body
      // pull the first chunk before the headers go out, so a failure there is still a clean error answer
      let first: IteratorResult<Uint8Array> | undefined
      let iter: Iterator<Uint8Array> | AsyncIterator<Uint8Array> | undefined
      let sync = false
      if (body != null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        try {
          if (Symbol.iterator in body) {
            sync = true
            iter = (body as Iterable<Uint8Array>)[Symbol.iterator]()
            first = iter.next() as IteratorResult<Uint8Array>
          } else {
            iter = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
            first = await iter.next()
          }
        } catch (err) {
          res = responseForError(err)
          errorCode = res.errorCode
          error = err
          body = res.body
          iter = undefined
        }
      }
      status = res.status
      nres.writeHead(res.status, res.headers)
      if (body == null || method === 'HEAD') { nres.end(); return }
      if (iter == null) {
        const b = typeof body === 'string' ? Buffer.from(body) : body as Uint8Array
        bytes += b.length
        nres.end(b)
        return
      }
      try {
        if (sync) await writeSync(nres, iter as Iterator<Uint8Array>, first as IteratorResult<Uint8Array>, batch, n => { bytes += n })
        else await writeAsync(nres, iter as AsyncIterator<Uint8Array>, first as IteratorResult<Uint8Array>, n => { bytes += n })
      } catch (err) {
        error = err
        errorCode = (err as { code?: string }).code ?? 'ERR_INTERNAL'
        nres.destroy(err as Error)
        return
      }
      if (!nres.destroyed) nres.end()
    }

    run().catch((err: unknown) => {
      error = err
      if (!nres.headersSent) {
        try {
          const r = responseForError(err)
          status = r.status
          nres.writeHead(r.status, r.headers)
          nres.end(r.body)
          return
        } catch {}
      }
      nres.destroy()
    }).finally(() => {
      const finish = (): void => opts.onResponse?.({ method, url: req.url, remote: req.remote, status, bytes, ms: performance.now() - t0, errorCode, error, aborted: !nres.writableFinished })
      if (nres.writableFinished || nres.destroyed) finish()
      else nres.once('close', finish)
    })
  }
}

function waitDrain (res: ServerResponse): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}

async function writeSync (res: ServerResponse, it: Iterator<Uint8Array>, first: IteratorResult<Uint8Array>, batch: number, count: (n: number) => void): Promise<void> {
  let r = first
  try {
    while (!r.done) {
      if (res.destroyed) return
      let n = 0
      res.cork()
      try {
        while (!r.done && n < batch) {
          res.write(r.value)
          n += r.value.length
          r = it.next()
        }
      } finally {
        res.uncork()
        count(n)
      }
      // Keep producing while the socket drains (decode overlaps the kernel's
      // copy), but never hold more than a few batches in user space.
      if (res.writableLength >= 4 * batch) await waitDrain(res)
      else await new Promise(resolve => setImmediate(resolve))
    }
  } finally {
    if (r.done !== true) it.return?.()
  }
}

async function writeAsync (res: ServerResponse, it: AsyncIterator<Uint8Array>, first: IteratorResult<Uint8Array>, count: (n: number) => void): Promise<void> {
  let r = first
  try {
    while (!r.done) {
      if (res.destroyed) return
      count(r.value.length)
      if (!res.write(r.value)) await waitDrain(res)
      if (res.destroyed) return
      r = await it.next()
    }
  } finally {
    if (r.done !== true) await it.return?.()
  }
}

export type { HttpBody }
