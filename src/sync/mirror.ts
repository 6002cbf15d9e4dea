/**
 * A local store kept in step with an S3 bucket, for `tenpak serve --store
 * s3://…`: every refresh reads the indexes of packs not seen yet (two ranged
 * GETs each), reads the bucket's refs, fetches (verified) the objects of any
 * branch that moved, and moves the local branch to match the bucket. Several
 * servers on one bucket each run a mirror, so each sees what was pushed to
 * the bucket within one refresh interval.
 */
import type { Repo } from '../repo/repo.js'
import { parseRepoName } from '../repo/names.js'
import { parseCid } from '../hash/cid.js'
import { fetchObjects } from './pull.js'
import type { S3Remote } from './s3-remote.js'

/** A running mirror. */
export interface Mirror {
  /** one pass now; resolves with the number of branches moved */
  refresh: () => Promise<number>
  /** stop the periodic refresh (waits for a pass in progress) */
  stop: () => Promise<void>
}

/** Options for {@link createMirror}. */
export interface MirrorOptions {
  /** ms between refreshes (default 5000; 0: only on demand) */
  intervalMs?: number
  onError?: (err: unknown) => void
  onUpdate?: (info: { repo: string, branch: string, commit: string }) => void
}

/** Mirror `remote` into `repo`. The caller runs the first `refresh()`. */
export function createMirror (repo: Repo, remote: S3Remote, opts: MirrorOptions = {}): Mirror {
  let running: Promise<number> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const pass = async (): Promise<number> => {
    await remote.refreshIndex()
    let moved = 0
    for (const r of await remote.refs()) {
      const name = parseRepoName(r.repo)
      for (const [branch, s] of Object.entries(r.heads)) {
        const target = parseCid(s)
        const cur = await repo.refs.get(name, 'heads', branch)
        if (cur != null && cur.equals(target)) continue
        await fetchObjects(repo, remote, [target])
        // the bucket is the authority: follow it even when it was force-pushed
        await repo.setRef(name.full, 'heads', branch, target, { expected: cur ?? null })
        opts.onUpdate?.({ repo: name.full, branch, commit: target.toString() })
        moved++
      }
    }
    return moved
  }

  const refresh = async (): Promise<number> => {
    running ??= pass().finally(() => { running = undefined })
    return await running
  }

  const schedule = (): void => {
    if (stopped || opts.intervalMs === 0) return
    timer = setTimeout(() => {
      refresh().catch(err => opts.onError?.(err)).finally(schedule)
    }, opts.intervalMs ?? 5000)
    timer.unref()
  }
  schedule()

  return {
    refresh,
    async stop () {
      stopped = true
      if (timer != null) clearTimeout(timer)
      await running?.catch(() => {})
    }
  }
}
