/**
 * HTTP side of the advisor, as fetch-style handlers (Request → Response) that
 * tests call without a socket and the daemon mounts: `POST /v1/route` (the
 * routing decision as JSON), `GET /v1/presets`, and an OpenAI-compatible
 * `POST /v1/chat/completions` proxy that routes each request, rewrites its
 * `model` for the chosen backend (vLLM, TGI or any OpenAI-compatible server)
 * and streams the backend's response body (SSE included) through unchanged.
 * {@link toNodeListener} adapts a handler to node:http.
 */

import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { BadInputError, ErrorCode, TenpakError, type ErrorCodeValue } from '../errors.js'
import type { CatalogConfig } from './catalog/gpus.js'
import { findModel, MODEL_CATALOG, type ModelEntry } from './catalog/models.js'
import { listPresets } from './presets.js'
import { suggestOptimalModel, type RouteDecision } from './route.js'

/** An OpenAI-compatible backend. */
export interface BackendConfig {
  /** base URL, e.g. `http://127.0.0.1:8000`; `/v1/chat/completions` is appended (or `/chat/completions` if it ends in `/v1`) */
  url: string
  /** model name the backend serves (default: the catalog id) */
  model?: string
  /** extra request headers (e.g. Authorization for a hosted API) */
  headers?: Record<string, string>
}

/** Options of the advisor HTTP handlers. */
export interface AdvisorHttpOptions {
  /** backends by catalog model id or alias; only models listed here are routed to */
  backends?: Record<string, BackendConfig>
  /** default quality threshold; a request may override it with `x-tenpak-quality-threshold` */
  qualityThreshold?: number
  /** GPU/price overrides for routing */
  catalog?: CatalogConfig
  /** replace the built-in model catalog */
  models?: readonly ModelEntry[]
  /** injected fetch (default: global fetch) */
  fetch?: typeof fetch
}

/** A fetch-style request handler. */
export type FetchHandler = (request: Request) => Promise<Response>

const STATUS_BY_CODE: Partial<Record<ErrorCodeValue, number>> = {
  ERR_BAD_ARGUMENT: 400,
  ERR_NOT_FOUND: 404,
  ERR_UNSUPPORTED: 422,
  ERR_NO_PRESET_FITS: 422,
  ERR_IO: 502
}

/** A JSON error response in OpenAI's shape, with `X-Error-Code`. */
export function errorResponse (err: unknown): Response {
  const code: ErrorCodeValue = err instanceof TenpakError ? err.code : ErrorCode.IO
  const status = STATUS_BY_CODE[code] ?? 500
  const message = err instanceof Error ? err.message : String(err)
  return new Response(JSON.stringify({ error: { message, type: 'tenpak_error', code } }), {
    status,
    headers: { 'content-type': 'application/json', 'x-error-code': code }
  })
}

function json (value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json', ...headers } })
}

async function readJson (request: Request): Promise<Record<string, unknown>> {
  let body: unknown
  try {
    body = await request.json()
  } catch (err) {
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'request body is not valid JSON', { cause: err })
  }
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'request body must be a JSON object')
  return body as Record<string, unknown>
}

/** Text of an OpenAI message `content` (string or array of parts). */
function contentText (content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map(p => (p != null && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string') ? (p as { text: string }).text : '').join('\n')
  return ''
}

/** The prompt routing judges: the last user message (system prompts and history do not make a question harder). */
export function promptOf (body: Record<string, unknown>): string {
  const messages = body.messages
  if (!Array.isArray(messages) || messages.length === 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'messages must be a non-empty array')
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown, content?: unknown }
    if (m?.role === 'user') return contentText(m.content)
  }
  return contentText((messages[messages.length - 1] as { content?: unknown })?.content)
}

function thresholdOf (request: Request, fallback?: number): number | undefined {
  const h = request.headers.get('x-tenpak-quality-threshold')
  if (h == null) return fallback
  const v = Number(h)
  if (!Number.isFinite(v)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'x-tenpak-quality-threshold must be a number')
  return v
}

function backendFor (options: AdvisorHttpOptions, models: readonly ModelEntry[], modelName: string): { key: string, backend: BackendConfig } | undefined {
  const backends = options.backends ?? {}
  if (backends[modelName] != null) return { key: modelName, backend: backends[modelName] }
  const entry = findModel(models, modelName)
  if (entry == null) return undefined
  for (const [key, backend] of Object.entries(backends)) {
    if (findModel([entry], key) != null) return { key, backend }
  }
  return undefined
}

function chatUrl (base: string): string {
  const trimmed = base.replace(/\/+$/, '')
  return trimmed.endsWith('/v1') ? `${trimmed}/chat/completions` : `${trimmed}/v1/chat/completions`
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer'])

/**
 * `POST /v1/route` body → decision. Body: `{ model | requestedModel, prompt,
 * qualityThreshold?, maxOutputTokens?, concurrency? }`.
 */
export function routeFromBody (body: Record<string, unknown>, options: AdvisorHttpOptions = {}): RouteDecision {
  const requestedModel = body.requestedModel ?? body.model
  if (typeof requestedModel !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'model (or requestedModel) must be a string')
  if (typeof body.prompt !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'prompt must be a string')
  const num = (k: string): number | undefined => {
    const v = body[k]
    if (v === undefined) return undefined
    if (typeof v !== 'number') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${k} must be a number`)
    return v
  }
  return suggestOptimalModel({
    requestedModel,
    prompt: body.prompt,
    qualityThreshold: num('qualityThreshold') ?? options.qualityThreshold,
    maxOutputTokens: num('maxOutputTokens'),
    concurrency: num('concurrency'),
    catalog: options.catalog,
    models: options.models
  })
}

/**
 * The OpenAI-compatible chat-completions proxy. Routes among the models that
 * have a backend (the requested model's benchmark score sets the bar), sends
 * the request to the chosen backend with `model` rewritten, and returns the
 * backend's status, headers (minus hop-by-hop ones) and body as a stream.
 * Adds `x-tenpak-requested-model`, `x-tenpak-routed-model` and
 * `x-tenpak-preset`. A model missing from the catalog but present in
 * `backends` is forwarded unrouted.
 */
export function createChatCompletionsHandler (options: AdvisorHttpOptions): FetchHandler {
  const fetchImpl = options.fetch ?? fetch
  const catalog = options.models ?? MODEL_CATALOG
  return async (request: Request): Promise<Response> => {
    try {
      if (request.method !== 'POST') return errorResponse(new BadInputError(ErrorCode.BAD_ARGUMENT, 'use POST'))
      const body = await readJson(request)
      if (typeof body.model !== 'string') throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'model must be a string')
      const requested = body.model
      const requestedEntry = findModel(catalog, requested)
      let target = requested
      let preset = 'unchanged'
      if (requestedEntry != null) {
        const routable = catalog.filter(m => m === requestedEntry || backendFor(options, catalog, m.id) != null)
        const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : undefined
        const decision = suggestOptimalModel({
          requestedModel: requested,
          prompt: promptOf(body),
          qualityThreshold: thresholdOf(request, options.qualityThreshold),
          ...(maxTokens != null && Number.isInteger(maxTokens) && maxTokens >= 0 ? { maxOutputTokens: maxTokens } : {}),
          catalog: options.catalog,
          models: routable
        })
        target = decision.recommendedModel
        preset = decision.preset
      }
      const found = backendFor(options, catalog, target)
      if (found == null) throw new TenpakError(ErrorCode.NOT_FOUND, `no backend configured for model ${target}`)
      const forwarded = { ...body, model: found.backend.model ?? (findModel(catalog, target)?.id ?? target) }
      let upstream: Response
      try {
        upstream = await fetchImpl(chatUrl(found.backend.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: request.headers.get('accept') ?? 'application/json, text/event-stream', ...(found.backend.headers ?? {}) },
          body: JSON.stringify(forwarded),
          signal: request.signal
        })
      } catch (err) {
        throw new TenpakError(ErrorCode.IO, `backend ${found.key} unreachable: ${(err as Error).message}`, { cause: err })
      }
      const headers = new Headers()
      upstream.headers.forEach((v, k) => { if (!HOP_BY_HOP.has(k.toLowerCase())) headers.set(k, v) })
      headers.set('x-tenpak-requested-model', requested)
      headers.set('x-tenpak-routed-model', target)
      headers.set('x-tenpak-preset', preset)
      return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers })
    } catch (err) {
      return errorResponse(err)
    }
  }
}

/**
 * All advisor endpoints behind one handler: `POST /v1/route`,
 * `POST /v1/chat/completions`, `GET /v1/presets`. Other paths: 404.
 */
export function createAdvisorHttpHandler (options: AdvisorHttpOptions = {}): FetchHandler {
  const chat = createChatCompletionsHandler(options)
  return async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname
    try {
      if (path === '/v1/chat/completions') return await chat(request)
      if (path === '/v1/route') {
        if (request.method !== 'POST') throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'use POST')
        return json(routeFromBody(await readJson(request), options))
      }
      if (path === '/v1/presets' && request.method === 'GET') return json({ presets: listPresets() })
      return errorResponse(new TenpakError(ErrorCode.NOT_FOUND, `no advisor endpoint ${request.method} ${path}`))
    } catch (err) {
      return errorResponse(err)
    }
  }
}

/**
 * Adapt a fetch-style handler to node:http. The request body is streamed in,
 * the response body streamed out chunk by chunk (so SSE reaches the client
 * as the backend produces it), and a client disconnect aborts the handler's
 * request signal.
 */
export function toNodeListener (handler: FetchHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const ac = new AbortController()
    res.on('close', () => { if (!res.writableFinished) ac.abort() })
    const run = async (): Promise<void> => {
      const host = req.headers.host ?? '127.0.0.1'
      const headers = new Headers()
      for (const [k, v] of Object.entries(req.headers)) {
        if (v == null) continue
        headers.set(k, Array.isArray(v) ? v.join(', ') : v)
      }
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
      const request = new Request(`http://${host}${req.url ?? '/'}`, {
        method: req.method,
        headers,
        signal: ac.signal,
        ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {})
      } as RequestInit)
      const response = await handler(request)
      const outHeaders: Record<string, string> = {}
      response.headers.forEach((v, k) => { outHeaders[k] = v })
      res.writeHead(response.status, outHeaders)
      if (typeof res.flushHeaders === 'function') res.flushHeaders()
      if (response.body == null) { res.end(); return }
      const reader = response.body.getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          if (!res.write(value)) await new Promise<void>(resolve => res.once('drain', resolve))
        }
      } finally {
        reader.releaseLock()
      }
      res.end()
    }
    run().catch(err => {
      if (!res.headersSent) {
        const r = errorResponse(err)
        res.writeHead(r.status, { 'content-type': 'application/json', 'x-error-code': r.headers.get('x-error-code') ?? 'ERR_IO' })
        void r.text().then(t => res.end(t))
      } else {
        res.destroy(err as Error)
      }
    })
  }
}
