/**
 * Named remotes of a store: kept in `<store>/remotes.json`
 * (`{"version":1,"remotes":{NAME:{url, token?, endpoint?, region?}}}`), and
 * opened as a Remote: `http(s)://…` another tenpak, `s3://bucket/prefix` a
 * bucket. Tokens and S3 settings fall back to the environment
 * ($TENPAK_TOKEN; AWS_ENDPOINT_URL, AWS_REGION, AWS credentials).
 */
import fsp from 'node:fs/promises'
import path from 'node:path'
import { BadInputError, NotFoundError, ErrorCode, fromSystemError } from '../errors.js'
import { createS3Client, createS3Backend, parseS3Url, withRetry, type S3Settings } from '../store/s3-backend.js'
import { createHttpRemote } from './http-remote.js'
import { createS3Remote } from './s3-remote.js'
import type { Remote, RemoteRepoRefs } from './remote.js'

/** A configured remote. */
export interface RemoteSpec extends S3Settings {
  url: string
  /** bearer token for HTTP writes */
  token?: string
}

interface RemotesFile { version: 1, remotes: Record<string, RemoteSpec> }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const file = (storeDir: string): string => path.join(storeDir, 'remotes.json')

/** Check a remote URL's scheme. */
export function checkRemoteUrl (url: string): string {
  if (url.startsWith('s3://')) { parseS3Url(url); return url }
  if (/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(url)) return url.replace(/\/+$/, '')
  throw new BadInputError(ErrorCode.BAD_ARGUMENT, `remote URL must be http(s)://host[:port] or s3://bucket/prefix, got ${JSON.stringify(url)}`)
}

/** The store's remotes. */
export async function readRemotes (storeDir: string): Promise<Record<string, RemoteSpec>> {
  try {
    const f = JSON.parse(await fsp.readFile(file(storeDir), 'utf8')) as RemotesFile
    return f.remotes ?? {}
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new BadInputError(ErrorCode.BAD_ARGUMENT, `cannot read ${file(storeDir)}: ${(err as Error).message}`)
  }
}

async function writeRemotes (storeDir: string, remotes: Record<string, RemoteSpec>): Promise<void> {
  const p = file(storeDir)
  const tmp = `${p}.tmp-${process.pid}`
  try {
    await fsp.writeFile(tmp, JSON.stringify({ version: 1, remotes } satisfies RemotesFile, null, 2) + '\n', { mode: 0o600 })
    await fsp.rename(tmp, p)
  } catch (err) {
    throw fromSystemError(err, `writing ${p}`)
  }
}

/** Add (or, with `replace`, change) a remote. */
export async function addRemote (storeDir: string, name: string, spec: RemoteSpec, replace = false): Promise<void> {
  if (!NAME.test(name)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid remote name ${JSON.stringify(name)}`)
  const remotes = await readRemotes(storeDir)
  if (Object.hasOwn(remotes, name) && !replace) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `remote ${name} exists`)
  const clean: RemoteSpec = { url: checkRemoteUrl(spec.url) }
  for (const k of ['token', 'endpoint', 'region', 'accessKeyId', 'secretAccessKey'] as const) if (spec[k] != null) clean[k] = spec[k]
  remotes[name] = clean
  await writeRemotes(storeDir, remotes)
}

/** Remove a remote. */
export async function removeRemote (storeDir: string, name: string): Promise<void> {
  const remotes = await readRemotes(storeDir)
  if (!Object.hasOwn(remotes, name)) throw new NotFoundError(`no remote ${name}`)
  delete remotes[name]
  await writeRemotes(storeDir, remotes)
}

/** A remote named in the store, or a URL used directly. */
export async function resolveRemote (storeDir: string, nameOrUrl: string): Promise<{ name?: string, spec: RemoteSpec }> {
  if (nameOrUrl.includes('://')) return { spec: { url: checkRemoteUrl(nameOrUrl) } }
  const remotes = await readRemotes(storeDir)
  if (!Object.hasOwn(remotes, nameOrUrl)) throw new NotFoundError(`no remote named ${nameOrUrl} (tenpak remote add ${nameOrUrl} URL)`)
  return { name: nameOrUrl, spec: remotes[nameOrUrl] }
}

/** Open a remote. */
export function openRemote (spec: RemoteSpec, env: NodeJS.ProcessEnv = process.env): Remote {
  if (spec.url.startsWith('s3://')) {
    const location = parseS3Url(spec.url)
    const client = createS3Client(spec, env)
    return createS3Remote({ backend: withRetry(createS3Backend(client, location)), client, location })
  }
  return createHttpRemote({ url: spec.url, token: spec.token ?? env.TENPAK_TOKEN })
}

/** Record what `fetch` saw of a remote's refs (remote-tracking refs), in `<store>/remotes/NAME.json`. */
export async function writeTrackingRefs (storeDir: string, name: string, refs: RemoteRepoRefs[]): Promise<void> {
  const dir = path.join(storeDir, 'remotes')
  await fsp.mkdir(dir, { recursive: true })
  const p = path.join(dir, `${name}.json`)
  await fsp.writeFile(`${p}.tmp-${process.pid}`, JSON.stringify({ version: 1, time: Date.now(), repos: refs }, null, 2) + '\n')
  await fsp.rename(`${p}.tmp-${process.pid}`, p)
}
