/** The dashboard's calls to its own server (same origin; nothing else is contacted). */

/** An error answer of the server, with its stable code. */
export class ApiError extends Error {
  constructor (message: string, readonly status: number, readonly code?: string, readonly body?: unknown) {
    super(message)
    this.name = 'ApiError'
  }
}

async function handle<T> (r: Response): Promise<T> {
  const text = await r.text()
  let body: unknown
  try { body = text === '' ? undefined : JSON.parse(text) } catch { body = undefined }
  if (!r.ok) {
    const b = body as { error?: string | { message?: string }, code?: string } | undefined
    const msg = typeof b?.error === 'string' ? b.error : b?.error?.message ?? `${r.status} ${r.statusText}`
    throw new ApiError(msg, r.status, b?.code ?? r.headers.get('x-error-code') ?? undefined, body)
  }
  return body as T
}

/** GET a JSON endpoint. */
export async function getJson<T> (url: string, signal?: AbortSignal): Promise<T> {
  let r: Response
  try { r = await fetch(url, { headers: { accept: 'application/json' }, signal }) } catch (err) { throw new ApiError(`the server did not answer (${(err as Error).message})`, 0) }
  return await handle<T>(r)
}

/** POST JSON, read JSON. */
export async function postJson<T> (url: string, value: unknown, signal?: AbortSignal): Promise<T> {
  let r: Response
  try { r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(value), signal }) } catch (err) { throw new ApiError(`the server did not answer (${(err as Error).message})`, 0) }
  return await handle<T>(r)
}

/** Store statistics (`tenpak stats --json`). */
export interface StoreStats {
  logicalBytes: number
  storedBytes: number
  chunks: number
  packs: number
  repos: number
  commits: number
  uniqueDataBytes: number
  dedupSavedBytes: number
  deltaSavedBytes: number
  compressionSavedBytes: number
  metadataBytes: number
  packOverheadBytes: number
}

/** A repo in the overview. */
export interface RepoSummary {
  name: string
  type: 'model' | 'dataset'
  id: string
  branches: string[]
  tags: string[]
  head?: string
  lastModified?: number
  message?: string
  files?: number
  logicalBytes?: number
  commits: number
  storedBytes: number
}

/** One point of the stored-bytes series. */
export interface CommitPoint {
  commit: string
  hex: string
  repo: string
  time: number
  message: string
  files: number
  logicalBytes: number
  newStoredBytes: number
  deltaStoredBytes: number
  deltaLogicalBytes: number
  cumulativeLogicalBytes: number
  cumulativeStoredBytes: number
}

/** GET /api/dashboard/overview */
export interface Overview { stats: StoreStats, repos: RepoSummary[], series: CommitPoint[], baseUrl: string }

/** Repo list, cached for the pickers of one page view. */
export async function repoNames (): Promise<RepoSummary[]> {
  return (await getJson<Overview>('/api/dashboard/overview')).repos
}
