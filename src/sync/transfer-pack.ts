/**
 * Building the packs a transfer sends: entries are copied as they are
 * stored (codec kept), so a delta travels as a delta. A delta whose base the
 * receiver will not hold (neither already there nor earlier in the transfer)
 * is expanded: decoded and re-encoded standalone with encodeChunk.
 */
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import type { CID } from '../hash/cid.js'
import { encodeChunk } from '../codec/codecs.js'
import type { BlockStore } from '../store/block-store.js'
import { writePackFile, type EncodedEntry } from '../store/pack-file.js'
import { toHex } from '../util/bytes.js'
import type { ObjectRef } from './objects.js'

/** A pack written for a transfer. */
export interface TransferPack {
  file: string
  packId: string
  size: number
  entries: number
  /** deltas expanded because their base was unavailable to the receiver */
  expanded: number
}

/** A fresh temp path for a transfer pack under `tmpDir` (cleaned by cleanTmp once this process is gone). */
export function transferTmpPath (tmpDir: string, what = 'sync'): string {
  return path.join(tmpDir, `pack-${process.pid}-${what}-${toHex(randomBytes(8))}.tmp`)
}

/**
 * Write `refs` (bases-first) from `blocks` into a pack file under `tmpDir`.
 * `receiverHas(base)` says whether the receiver holds a base or gets it
 * earlier in this transfer; otherwise the delta is expanded.
 */
export function writeTransferPack (blocks: Pick<BlockStore, 'getEncoded' | 'getSync'>, tmpDir: string, refs: ObjectRef[], receiverHas: (base: CID) => boolean): TransferPack {
  const file = transferTmpPath(tmpDir)
  let expanded = 0
  const inPack = new Set<string>()
  function * entries (): Generator<EncodedEntry> {
    for (const r of refs) {
      const { location, data } = blocks.getEncoded(r.cid)
      const base = location.base
      if (base != null && !inPack.has(base.toString()) && !receiverHas(base)) {
        const enc = encodeChunk(blocks.getSync(r.cid), {})
        expanded++
        yield { cid: r.cid, codec: enc.codec, data: enc.data, logicalLength: location.logicalLength }
      } else {
        yield { cid: r.cid, codec: location.codec, data, logicalLength: location.logicalLength, base }
      }
      inPack.add(r.cid.toString())
    }
  }
  try {
    const w = writePackFile(file, entries())
    return { file, packId: w.packId, size: w.size, entries: w.entries, expanded }
  } catch (err) {
    fs.rmSync(file, { force: true })
    throw err
  }
}
