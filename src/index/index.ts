/**
 * The LevelDB index (classic-level): block locations and pack metadata.
 * Reads on hot paths use getSync/getMany; writes are collected in a batch
 * and flushed once. Schema migrations are numbered and run at open.
 */
import { ClassicLevel } from 'classic-level'
import { CID } from '../hash/cid.js'
import {
  blockKey, packKey, metaKey, sketchKey, nsRange, NS, INDEX_VERSION,
  encodeLocation, decodeLocation, encodePackMeta, decodePackMeta,
  cidOfBlockKey, packIdOfKey, type Location, type PackMeta
} from './keys.js'
import { TenpakError, ErrorCode } from '../errors.js'

export type { Location, PackMeta }

/** Writes collected and applied atomically by `write()`. */
export interface IndexBatch {
  putLocation: (cid: CID, loc: Location) => void
  delLocation: (cid: CID) => void
  putPack: (packId: string, meta: PackMeta) => void
  delPack: (packId: string) => void
  /** remember that chunk `cid` has the super-features `sketch` (see src/chunk/sketch.ts) */
  putSketch: (cid: CID, sketch: Uint32Array) => void
  readonly length: number
  write: () => Promise<void>
}

/** The block index. */
export interface Index {
  getLocation: (cid: CID) => Location | undefined
  getLocations: (cids: CID[]) => Promise<Array<Location | undefined>>
  has: (cid: CID) => boolean
  getPack: (packId: string) => PackMeta | undefined
  /**
   * Stored chunks that share super-features with `sketch`, most shared first,
   * each still present in the index (stale slots are skipped).
   */
  similar: (sketch: Uint32Array) => Array<{ cid: CID, shared: number }>
  batch: () => IndexBatch
  locations: () => AsyncIterable<[CID, Location]>
  packs: () => AsyncIterable<[string, PackMeta]>
  /** remove every block and pack entry (rebuild) */
  clear: () => Promise<void>
  close: () => Promise<void>
}

type DB = ClassicLevel<Buffer, Buffer>

/**
 * Migrations from version N to N+1, applied in order at open. Version 1 is
 * the first on-disk format, so none exist yet; each new one gets a fixture in
 * test/fixtures/index-vN.
 */
const MIGRATIONS: Array<(db: DB) => Promise<void>> = []

/** Open (creating) the index at `dir`. ERR_STORE_LOCKED if another process holds it. */
export async function openIndex (dir: string): Promise<Index> {
  const db: DB = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  try {
    await db.open()
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    if ((err as { code?: string }).code === 'LEVEL_DATABASE_NOT_OPEN' && cause?.code === 'LEVEL_LOCKED') {
      throw new TenpakError(ErrorCode.STORE_LOCKED, `the store index at ${dir} is in use by another tenpak process`, { cause: err })
    }
    throw new TenpakError(ErrorCode.IO, `cannot open the store index at ${dir}: ${cause?.message ?? (err as Error).message}`, { cause: err })
  }
  const vb = db.getSync(metaKey('version'))
  let version = vb == null ? 0 : vb.readUInt32LE(0)
  if (version > INDEX_VERSION) {
    await db.close()
    throw new TenpakError(ErrorCode.UNSUPPORTED, `store index version ${version} is newer than this tenpak (${INDEX_VERSION}); upgrade tenpak`)
  }
  if (version === 0) {
    version = INDEX_VERSION
  } else {
    for (; version < INDEX_VERSION; version++) await MIGRATIONS[version - 1](db)
  }
  const vbuf = Buffer.alloc(4); vbuf.writeUInt32LE(version)
  await db.put(metaKey('version'), vbuf)

  return {
    getLocation (cid) {
      const v = db.getSync(blockKey(cid))
      return v == null ? undefined : decodeLocation(v)
    },
    async getLocations (cids) {
      const vs = await db.getMany(cids.map(blockKey))
      return vs.map(v => v == null ? undefined : decodeLocation(v))
    },
    has (cid) {
      return db.getSync(blockKey(cid)) != null
    },
    getPack (packId) {
      const v = db.getSync(packKey(packId))
      return v == null ? undefined : decodePackMeta(v)
    },
    similar (sketch) {
      const found = new Map<string, { cid: CID, shared: number }>()
      for (let j = 0; j < sketch.length; j++) {
        const v = db.getSync(sketchKey(j, sketch[j]))
        if (v == null || v.length < 5 || v.readUInt32LE(0) !== sketch[j]) continue
        let cid: CID
        try { cid = CID.decode(v.subarray(4)) } catch { continue }
        const key = cid.toString()
        const hit = found.get(key)
        if (hit != null) hit.shared++
        else if (db.getSync(blockKey(cid)) != null) found.set(key, { cid, shared: 1 })
      }
      return [...found.values()].sort((a, b) => b.shared - a.shared)
    },
    batch () {
      const b = db.batch()
      let n = 0
      return {
        putSketch (cid, sketch) {
          for (let j = 0; j < sketch.length; j++) {
            const v = Buffer.allocUnsafe(4 + cid.bytes.length)
            v.writeUInt32LE(sketch[j], 0)
            v.set(cid.bytes, 4)
            b.put(sketchKey(j, sketch[j]), v)
            n++
          }
        },
        putLocation (cid, loc) { b.put(blockKey(cid), encodeLocation(loc)); n++ },
        delLocation (cid) { b.del(blockKey(cid)); n++ },
        putPack (id, meta) { b.put(packKey(id), encodePackMeta(meta)); n++ },
        delPack (id) { b.del(packKey(id)); n++ },
        get length () { return n },
        async write () { await b.write() }
      }
    },
    async * locations () {
      for await (const [k, v] of db.iterator(nsRange(NS.BLOCK))) yield [cidOfBlockKey(k), decodeLocation(v)]
    },
    async * packs () {
      for await (const [k, v] of db.iterator(nsRange(NS.PACK))) yield [packIdOfKey(k), decodePackMeta(v)]
    },
    async clear () {
      await db.clear(nsRange(NS.BLOCK))
      await db.clear(nsRange(NS.PACK))
    },
    async close () {
      await db.close()
    }
  }
}
