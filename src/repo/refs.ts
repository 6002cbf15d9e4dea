/**
 * Refs: branches and tags, one small file each under `refs/` (as in git), so
 * they live outside the rebuildable index. Updates are compare-and-swap,
 * written by temp file + fsync + rename; the caller serialises writers.
 */
import fsp from 'node:fs/promises'
import path from 'node:path'
import { CID, parseCid } from '../hash/cid.js'
import { TenpakError, ErrorCode, fromSystemError } from '../errors.js'
import { checkRefName, type RepoName, RepoType } from './names.js'

/** 'heads' (branches) or 'tags'. */
export type RefKind = 'heads' | 'tags'

/** A repository known to the store. */
export interface RepoRefs {
  name: RepoName
  heads: Record<string, CID>
  tags: Record<string, CID>
}

/** Ref storage over a directory. */
export interface Refs {
  get: (repo: RepoName, kind: RefKind, name: string) => Promise<CID | undefined>
  /** Set a ref if it still holds `expected` (undefined: must not exist). ERR_REF_CONFLICT otherwise. */
  cas: (repo: RepoName, kind: RefKind, name: string, expected: CID | undefined, next: CID | undefined) => Promise<void>
  repo: (repo: RepoName) => Promise<RepoRefs | undefined>
  list: () => Promise<RepoRefs[]>
}

/** Refs kept as files under `dir`. */
export function createRefs (dir: string): Refs {
  const refPath = (repo: RepoName, kind: RefKind, name: string): string =>
    path.join(dir, repo.full, `@${kind}`, ...checkRefName(name).split('/'))

  const read = async (p: string): Promise<CID | undefined> => {
    try {
      return parseCid((await fsp.readFile(p, 'utf8')).trim())
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw fromSystemError(err, `reading ref ${p}`)
    }
  }

  const readAll = async (base: string, prefix = ''): Promise<Record<string, CID>> => {
    const out: Record<string, CID> = {}
    let ents
    try { ents = await fsp.readdir(base, { withFileTypes: true }) } catch { return out }
    for (const e of ents) {
      if (e.name.includes('.tmp-')) continue
      const p = path.join(base, e.name)
      if (e.isDirectory()) Object.assign(out, await readAll(p, `${prefix}${e.name}/`))
      else {
        const cid = await read(p)
        if (cid != null) out[prefix + e.name] = cid
      }
    }
    return out
  }

  const repoRefs = async (repo: RepoName): Promise<RepoRefs | undefined> => {
    const base = path.join(dir, repo.full)
    const heads = await readAll(path.join(base, '@heads'))
    const tags = await readAll(path.join(base, '@tags'))
    if (Object.keys(heads).length === 0 && Object.keys(tags).length === 0) return undefined
    return { name: repo, heads, tags }
  }

  return {
    get: async (repo, kind, name) => await read(refPath(repo, kind, name)),
    async cas (repo, kind, name, expected, next) {
      const p = refPath(repo, kind, name)
      const cur = await read(p)
      if ((cur == null) !== (expected == null) || (cur != null && expected != null && !cur.equals(expected))) {
        throw new TenpakError(ErrorCode.REF_CONFLICT, `${repo.full} ${kind === 'heads' ? 'branch' : 'tag'} ${name} moved (expected ${expected?.toString() ?? 'none'}, found ${cur?.toString() ?? 'none'})`)
      }
      try {
        if (next == null) { await fsp.rm(p, { force: true }); return }
        await fsp.mkdir(path.dirname(p), { recursive: true })
        const tmp = `${p}.tmp-${process.pid}`
        const fh = await fsp.open(tmp, 'w')
        try { await fh.writeFile(next.toString() + '\n'); await fh.sync() } finally { await fh.close() }
        await fsp.rename(tmp, p)
        const dfd = await fsp.open(path.dirname(p), 'r')
        try { await dfd.sync() } finally { await dfd.close() }
      } catch (err) {
        throw fromSystemError(err, `updating ref ${repo.full} ${name}`)
      }
    },
    repo: repoRefs,
    async list () {
      const out: RepoRefs[] = []
      for (const [top, type] of [['models', RepoType.MODEL], ['datasets', RepoType.DATASET]] as const) {
        const base = path.join(dir, top)
        let orgs
        try { orgs = await fsp.readdir(base, { withFileTypes: true }) } catch { continue }
        for (const org of orgs) {
          if (!org.isDirectory()) continue
          const orgDir = path.join(base, org.name)
          const kids = await fsp.readdir(orgDir, { withFileTypes: true })
          // 'name' repos have @heads/ or @tags/ directly ('@' is not allowed in names); 'org/name' one level deeper
          if (kids.some(k => k.name.startsWith('@'))) {
            const r = await repoRefs({ type, id: org.name, full: `${top}/${org.name}` })
            if (r != null) out.push(r)
          }
          for (const k of kids) {
            if (!k.isDirectory() || k.name.startsWith('@')) continue
            const id = `${org.name}/${k.name}`
            const r = await repoRefs({ type, id, full: `${top}/${id}` })
            if (r != null) out.push(r)
          }
        }
      }
      return out.sort((a, b) => a.name.full < b.name.full ? -1 : 1)
    }
  }
}

export { CID }
