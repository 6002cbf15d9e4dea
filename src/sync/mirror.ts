/**
 * Following an S3 bucket for `tenpak serve --store s3://…` without copying
 * its packs. The local store is only an index and refs over packs that stay
 * in the bucket (its backend is the bucket behind a bounded range cache,
 * cached-backend.ts). Every refresh lists the bucket's packs, reads the index
 * of each pack the local LevelDB index does not know yet (its `<id>.idx` copy
 * beside the pack: one GET; for packs pushed without one, the pack's footer: a
 * HEAD and two ranged GETs) and records its entries, then makes the
 * local branches and tags equal the bucket's (the bucket is the authority,
 * force-pushes and deletions included). Chunk bytes are fetched only when a
 * request reads them, and verified then. Several servers on one bucket each
 * run their own, so each sees a push within one refresh interval.
 */
import type { Repo } from '../repo/repo.js'
import type { RefKind } from '../repo/refs.js'
import { parseRepoName } from '../repo/names.js'
import { parseCid, type CID } from '../hash/cid.js'
import type { Backend } from '../store/backend.js'
import type { Location } from '../index/index.js'
import { decodePackFooter, decodePackIndex, decodePackIndexCopy, PACK_FOOTER_SIZE, type PackEntry } from '../store/pack-format.js'
import { packIndexObjectKey } from '../store/block-store.js'
import { IntegrityError, NotFoundError, ErrorCode } from '../errors.js'
import type { Remote } from './remote.js'

const PACK_KEY = /^packs\/[0-9a-f]{2}\/([0-9a-f]{64})\.pack$/

/** Pack indexes read at once. */
const INDEX_CONCURRENCY = 8

/** A running follower. */
export interface Mirror {
  /** one pass now; resolves with the number of refs moved */
  refresh: () => Promise<number>
  /** stop the periodic refresh (waits for a pass in progress) */
  stop: () => Promise<void>
}

/** Options for {@link createMirror}. */
export interface MirrorOptions {
  /** ms between refreshes (default 5000; 0: only on demand) */
  intervalMs?: number
  onError?: (err: unknown) => void
  onUpdate?: (info: { repo: string, kind: RefKind, name: string, commit: string | null }) => void
  /** told about every pack whose index was added */
  onPack?: (info: { packId: string, entries: number }) => void
}

/** Read one pack's index from `backend`: its index copy, else its footer and trailer. */
async function readIndexOf (backend: Backend, key: string, packId: string): Promise<{ size: number, entries: PackEntry[] }> {
  let copy: Uint8Array | undefined
  try {
    copy = await backend.load(packIndexObjectKey(packId))
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err
  }
  if (copy != null) {
    const { packSize, entries } = decodePackIndexCopy(copy, packIndexObjectKey(packId))
    return { size: packSize, entries }
  }
  const st = await backend.stat(key)
  if (st == null || st.size < PACK_FOOTER_SIZE + 8) throw new IntegrityError(`${key} is missing or too short`, ErrorCode.BAD_PACK)
  const footer = decodePackFooter(await backend.load(key, { offset: st.size - PACK_FOOTER_SIZE, length: PACK_FOOTER_SIZE }), st.size, key)
  const entries = decodePackIndex(await backend.load(key, { offset: footer.indexOffset, length: footer.indexLength }), footer, key)
  return { size: st.size, entries }
}

/**
 * Add to `repo`'s index the entries of every pack in its backend that the
 * index does not list yet; returns how many packs were added.
 */
export async function indexNewPacks (repo: Repo, onPack?: MirrorOptions['onPack']): Promise<number> {
  const { backend, index } = repo.blocks
  const todo: Array<{ key: string, id: string }> = []
  for await (const key of backend.list('packs/')) {
    const m = PACK_KEY.exec(key)
    if (m != null && index.getPack(m[1]) == null) todo.push({ key, id: m[1] })
  }
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < todo.length) {
      const { key, id } = todo[next++]
      const { size, entries } = await readIndexOf(backend, key, id)
      await repo.exclusive(async () => {
        const batch = index.batch()
        let logical = 0
        for (const e of entries) {
          logical += e.logicalLength
          if (index.has(e.cid)) continue // content-addressed: any stored copy will do
          const loc: Location = { packId: id, offset: e.offset, storedLength: e.storedLength, logicalLength: e.logicalLength, codec: e.codec }
          if (e.base != null) loc.base = e.base
          batch.putLocation(e.cid, loc)
        }
        // the pack record goes in the same batch, so a pack is either fully indexed or read again next pass
        batch.putPack(id, { size, entries: entries.length, logicalBytes: logical })
        await batch.write()
      })
      onPack?.({ packId: id, entries: entries.length })
    }
  }
  await Promise.all(Array.from({ length: Math.min(INDEX_CONCURRENCY, todo.length) }, worker))
  return todo.length
}

/** Follow the bucket `remote` (whose packs `repo`'s backend reads) into `repo`'s index and refs. The caller runs the first `refresh()`. */
export function createMirror (repo: Repo, remote: Pick<Remote, 'refs'>, opts: MirrorOptions = {}): Mirror {
  let running: Promise<number> | undefined
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const pass = async (): Promise<number> => {
    await indexNewPacks(repo, opts.onPack)
    const want = new Map<string, { repo: string, kind: RefKind, name: string, target: CID }>()
    for (const r of await remote.refs()) {
      for (const kind of ['heads', 'tags'] as const) {
        for (const [name, s] of Object.entries(r[kind])) want.set(`${r.repo}\0${kind}\0${name}`, { repo: r.repo, kind, name, target: parseCid(s) })
      }
    }
    // a ref read after the pack listing may name a pack pushed in between
    if ([...want.values()].some(w => !repo.blocks.has(w.target))) await indexNewPacks(repo, opts.onPack)
    let moved = 0
    for (const w of want.values()) {
      try {
        const name = parseRepoName(w.repo)
        const cur = await repo.refs.get(name, w.kind, w.name)
        if (cur != null && cur.equals(w.target)) continue
        if (!repo.blocks.has(w.target)) throw new NotFoundError(`${w.repo} ${w.kind}/${w.name} names ${w.target.toString()}, which no pack in the bucket holds (yet)`)
        await repo.blocks.prefetch([w.target])
        await repo.setRef(name.full, w.kind, w.name, w.target, { expected: cur ?? null })
        opts.onUpdate?.({ repo: name.full, kind: w.kind, name: w.name, commit: w.target.toString() })
        moved++
      } catch (err) {
        opts.onError?.(err)
      }
    }
    // refs deleted from the bucket go here too
    for (const r of await repo.listRepos()) {
      for (const kind of ['heads', 'tags'] as const) {
        for (const [name, cur] of Object.entries(r[kind])) {
          if (want.has(`${r.name.full}\0${kind}\0${name}`)) continue
          try {
            await repo.setRef(r.name.full, kind, name, undefined, { expected: cur })
            opts.onUpdate?.({ repo: r.name.full, kind, name, commit: null })
            moved++
          } catch (err) {
            opts.onError?.(err)
          }
        }
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
