/**
 * Repository names, as on the Hub: `org/name` (a model), `models/org/name`,
 * `datasets/org/name`, and a revision after `@`. Strict: names become paths.
 */
import { BadInputError, ErrorCode } from '../errors.js'

/** Kinds of repository. */
export const RepoType = { MODEL: 'model', DATASET: 'dataset' } as const
/** 'model' | 'dataset' */
export type RepoTypeValue = typeof RepoType[keyof typeof RepoType]

/** A parsed repository name. */
export interface RepoName {
  type: RepoTypeValue
  /** 'org/name' or 'name' */
  id: string
  /** canonical 'models/org/name' or 'datasets/org/name' */
  full: string
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/

/** Parse `org/name`, `models/org/name`, `datasets/org/name` (ERR_BAD_REPO_NAME otherwise). */
export function parseRepoName (s: string): RepoName {
  let parts = s.split('/')
  let type: RepoTypeValue = RepoType.MODEL
  if (parts[0] === 'models' || parts[0] === 'datasets') {
    type = parts[0] === 'models' ? RepoType.MODEL : RepoType.DATASET
    parts = parts.slice(1)
  }
  if (parts.length < 1 || parts.length > 2 || parts.some(p => !PART.test(p) || p.endsWith('.git') || p.includes('..'))) {
    throw new BadInputError(ErrorCode.BAD_REPO_NAME, `invalid repository name ${JSON.stringify(s)} (expected org/name, models/org/name or datasets/org/name)`)
  }
  const id = parts.join('/')
  return { type, id, full: `${type === RepoType.MODEL ? 'models' : 'datasets'}/${id}` }
}

/** Split `REPO[@REV]`. */
export function parseRepoRev (s: string): { repo: RepoName, rev?: string } {
  const at = s.indexOf('@')
  if (at < 0) return { repo: parseRepoName(s) }
  const rev = s.slice(at + 1)
  if (rev === '') throw new BadInputError(ErrorCode.BAD_ARGUMENT, `empty revision in ${JSON.stringify(s)}`)
  return { repo: parseRepoName(s.slice(0, at)), rev }
}

/** Validate a branch or tag name (git-like rules, '/' allowed between parts). */
export function checkRefName (name: string): string {
  const ok = name.length > 0 && name.length <= 200 && name.split('/').every(p => /^[A-Za-z0-9._-]+$/.test(p) && p !== '.' && p !== '..' && !p.endsWith('.lock'))
  if (!ok) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid branch or tag name ${JSON.stringify(name)}`)
  return name
}
