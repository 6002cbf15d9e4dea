/**
 * S3 backend: pack objects in a bucket under a prefix (same keys as the
 * local store: `packs/ab/<id>.pack`), so a pack's index is read from the
 * bucket with two ranged GETs (readPackIndex). save = PutObject (packs are
 * immutable), load = ranged GetObject, stat = HeadObject, list =
 * ListObjectsV2, remove = DeleteObject. Retries are a wrapper
 * ({@link withRetry}), not inside the backend.
 */
import fs from 'node:fs'
import {
  S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, DeleteObjectCommand,
  type S3ClientConfig
} from '@aws-sdk/client-s3'
import type { Backend, ObjectStat } from './backend.js'
import { TenpakError, NotFoundError, BadInputError, ErrorCode } from '../errors.js'
import type { AbortOptions } from '../util/options.js'

/** Where an `s3://bucket/prefix` URL points. */
export interface S3Location {
  bucket: string
  /** key prefix without leading or trailing '/' ('' for the bucket root) */
  prefix: string
}

/** Connection settings; unset fields come from the usual AWS environment variables. */
export interface S3Settings {
  endpoint?: string
  region?: string
  accessKeyId?: string
  secretAccessKey?: string
  /** path-style URLs (default: true when an endpoint is given, as S3-compatible services need) */
  forcePathStyle?: boolean
}

/** Parse `s3://bucket[/prefix]`. */
export function parseS3Url (url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(url)
  if (m == null) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `not an s3://bucket/prefix URL: ${url}`)
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '')
  if (prefix.split('/').some(p => p === '..' || p === '.')) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `bad prefix in ${url}`)
  return { bucket: m[1], prefix }
}

/** An S3 client for `settings`, falling back to AWS_ENDPOINT_URL(_S3), AWS_REGION and the SDK's credential chain. */
export function createS3Client (settings: S3Settings = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = settings.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL
  const cfg: S3ClientConfig = {
    region: settings.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: settings.forcePathStyle ?? endpoint != null,
    // with the default ('WHEN_SUPPORTED') streamed uploads to S3-compatible
    // servers are stored with the SDK's aws-chunked framing inside the object
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1 // retries: withRetry
  }
  if (endpoint != null) cfg.endpoint = endpoint
  if (settings.accessKeyId != null && settings.secretAccessKey != null) cfg.credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
  return new S3Client(cfg)
}

/** True for an SDK error meaning "no such key". */
export function isS3NotFound (err: unknown): boolean {
  const e = err as { name?: string, $metadata?: { httpStatusCode?: number } }
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404
}

/** True for errors worth retrying: network failures, throttling, 5xx. */
export function isRetryable (err: unknown): boolean {
  if (err instanceof TenpakError) return err.code === ErrorCode.IO
  const e = err as { name?: string, code?: string, $metadata?: { httpStatusCode?: number }, $retryable?: unknown }
  const status = e?.$metadata?.httpStatusCode
  if (status != null) return status >= 500 || status === 429 || status === 408
  if (e?.name === 'AbortError') return false
  return typeof e?.code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|UND_ERR)/.test(e.code) || e?.$retryable != null || e?.name === 'TimeoutError'
}

/** A Backend over `s3://bucket/prefix`. */
export function createS3Backend (client: S3Client, loc: S3Location): Backend & { client: S3Client, location: S3Location, objectKey: (key: string) => string } {
  const full = (key: string): string => {
    if (key.includes('..') || key.startsWith('/')) throw new Error(`bad object key ${key}`)
    return loc.prefix === '' ? key : `${loc.prefix}/${key}`
  }
  const rangeHeader = (r?: { offset: number, length: number }): string | undefined => r == null ? undefined : `bytes=${r.offset}-${r.offset + r.length - 1}`

  const load = async (key: string, range?: { offset: number, length: number }, options: AbortOptions = {}): Promise<Uint8Array> => {
    if (range != null && range.length === 0) return new Uint8Array(0)
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: full(key), Range: rangeHeader(range) }), { abortSignal: options.signal })
      const bytes = await (r.Body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray()
      if (range != null && bytes.length !== range.length) throw new TenpakError(ErrorCode.IO, `short read of ${key}: ${bytes.length} of ${range.length} bytes`)
      return bytes
    } catch (err) {
      if (isS3NotFound(err)) throw new NotFoundError(`object ${key} not found in s3://${loc.bucket}`, ErrorCode.NOT_FOUND, { cause: err })
      throw err
    }
  }

  return {
    client,
    location: loc,
    objectKey: full,
    async save (key, source, options = {}) {
      const body = source instanceof Uint8Array ? source : fs.createReadStream(source.path)
      const length = source instanceof Uint8Array ? source.length : fs.statSync(source.path).size
      await client.send(new PutObjectCommand({ Bucket: loc.bucket, Key: full(key), Body: body, ContentLength: length, ContentType: 'application/octet-stream' }), { abortSignal: options.signal })
    },
    load,
    async * stream (key, range, options = {}) {
      // bounded memory: 8 MiB ranged GETs
      const st = range == null ? await this.stat(key, options) : undefined
      if (range == null && st == null) throw new NotFoundError(`object ${key} not found`)
      const start = range?.offset ?? 0
      const end = range != null ? range.offset + range.length : (st as ObjectStat).size
      const step = 8 << 20
      for (let o = start; o < end; o += step) yield await load(key, { offset: o, length: Math.min(step, end - o) }, options)
    },
    async stat (key, options = {}) {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: full(key) }), { abortSignal: options.signal })
        return { size: r.ContentLength ?? 0 }
      } catch (err) {
        if (isS3NotFound(err)) return undefined
        throw err
      }
    },
    async * list (prefix, options = {}) {
      let token: string | undefined
      const strip = loc.prefix === '' ? 0 : loc.prefix.length + 1
      do {
        const r = await client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: full(prefix), ContinuationToken: token }), { abortSignal: options.signal })
        for (const o of r.Contents ?? []) if (o.Key != null) yield o.Key.slice(strip)
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined
      } while (token != null)
    },
    async remove (key, options = {}) {
      await client.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: full(key) }), { abortSignal: options.signal })
    },
    async close () {}
  }
}

/** Options for {@link withRetry}. */
export interface RetryOptions {
  /** attempts in all (default 5) */
  attempts?: number
  /** first backoff in ms, doubled each time with jitter (default 100) */
  baseMs?: number
  /** told about every retried failure */
  onRetry?: (info: { op: string, key: string, attempt: number, error: unknown }) => void
}

/** Wrap a backend so retryable failures are retried with exponential backoff; permanent ones pass through at once. */
export function withRetry<B extends Backend> (backend: B, opts: RetryOptions = {}): B {
  const attempts = opts.attempts ?? 5
  const baseMs = opts.baseMs ?? 100
  const run = async <T>(op: string, key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> => {
    for (let i = 1; ; i++) {
      try {
        return await fn()
      } catch (err) {
        if (i >= attempts || !isRetryable(err) || signal?.aborted === true) throw err
        opts.onRetry?.({ op, key, attempt: i, error: err })
        const wait = baseMs * 2 ** (i - 1) * (0.5 + Math.random())
        await new Promise(resolve => setTimeout(resolve, wait))
      }
    }
  }
  return {
    ...backend,
    save: async (key, source, options = {}) => { await run('save', key, options.signal, async () => { await backend.save(key, source, options) }) },
    load: async (key, range, options = {}) => await run('load', key, options.signal, async () => await backend.load(key, range, options)),
    stat: async (key, options = {}) => await run('stat', key, options.signal, async () => await backend.stat(key, options)),
    remove: async (key, options = {}) => { await run('remove', key, options.signal, async () => { await backend.remove(key, options) }) },
    stream: (key, range, options) => backend.stream(key, range, options),
    list: (prefix, options) => backend.list(prefix, options),
    close: async () => { await backend.close() }
  }
}
