/**
 * The `tenpak serve` process, composed: open the store, build the HTTP
 * handler, mount it on node:http, log every response as a JSON line, and shut
 * down gracefully — stop accepting, answer new requests on open connections
 * with 503 + `Connection: close`, let in-flight responses finish (up to a
 * grace period), then close the store.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRepo, type Repo } from '../src/repo/repo.js'
import { createHandler, type TenpakHandler } from '../src/http/handler.js'
import { toNodeListener } from '../src/http/node.js'
import type { ServeConfig } from './config.js'
import { errorFields, type Logger } from './logger.js'

/** A running server. */
export interface RunningServer {
  /** base URL, e.g. http://127.0.0.1:7070 */
  readonly url: string
  readonly port: number
  readonly repo: Repo
  readonly handler: TenpakHandler
  /** stop gracefully (idempotent); resolves when the store is closed */
  close: (reason?: string) => Promise<void>
}

/** Start serving `config.store` on `config.host:config.port`. */
export async function startServer (config: ServeConfig, deps: { logger: Logger, repo?: Repo }): Promise<RunningServer> {
  const { logger } = deps
  const repo = deps.repo ?? await createRepo({ dir: config.store })
  const started = Date.now()
  let inflight = 0
  let draining = false
  const handler = createHandler({
    repo,
    writeTokens: config.writeTokens,
    cacheBytes: config.cacheBytes,
    publicUrl: config.publicUrl,
    health: () => ({ uptimeMs: Date.now() - started, inflight, writes: config.writeTokens.length > 0 })
  })
  const listener = toNodeListener(handler.handle, {
    isDraining: () => draining,
    onResponse: (info) => {
      inflight--
      const fields = { method: info.method, url: info.url.slice(0, 512), status: info.status, bytes: info.bytes, ms: Math.round(info.ms * 10) / 10, remote: info.remote, code: info.errorCode, aborted: info.aborted || undefined }
      if (info.status >= 500 || (info.error != null && info.status < 400)) logger.error('request failed', { ...fields, ...errorFields(info.error) })
      else if (config.logRequests) logger.info('request', fields)
    }
  })
  const server = http.createServer({
    // slow or stuck clients cannot hold a connection forever
    requestTimeout: 300_000,
    headersTimeout: 30_000,
    keepAliveTimeout: 5_000,
    maxHeaderSize: 16384
  }, (req, res) => { inflight++; listener(req, res) })
  server.on('clientError', (err, socket) => {
    // malformed requests are answered by node's parser rules: 400/431, never a crash
    const code = (err as { code?: string }).code
    if (socket.writable) socket.end(code === 'HPE_HEADER_OVERFLOW' ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    else socket.destroy()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve() })
  }).catch(async (err) => {
    if (deps.repo == null) await repo.close()
    throw err
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  const url = `http://${host}:${addr.port}`
  logger.info('listening', { url, store: repo.dir, writes: config.writeTokens.length > 0 ? 'enabled' : 'disabled', cacheBytes: config.cacheBytes })

  let closing: Promise<void> | undefined
  const close = async (reason = 'close'): Promise<void> => {
    if (closing != null) return await closing
    closing = (async () => {
      draining = true
      logger.info('shutting down', { reason, inflight })
      const stopped = new Promise<void>(resolve => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = setTimeout(() => {
        logger.warn('grace period over, closing connections', { inflight })
        server.closeAllConnections()
      }, config.shutdownGraceMs)
      timer.unref()
      await stopped
      clearTimeout(timer)
      if (deps.repo == null) await repo.close()
      logger.info('stopped', { reason })
    })()
    return await closing
  }
  return { url, port: addr.port, repo, handler, close }
}
