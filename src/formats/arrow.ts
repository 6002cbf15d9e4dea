/**
 * Arrow IPC files (`ARROW1` magic, messages, footer) and streams (messages
 * only): each encapsulated message (a record batch or dictionary batch:
 * continuation marker, metadata length, flatbuffer Message, body) is a
 * segment of its own, so chunk boundaries fall on record-batch boundaries and
 * a batch that recurs in another file is stored once; batches longer than
 * cdcMax are content-defined-chunked inside. The schema message (with the
 * file magic) and the footer (with the end-of-stream marker) are 'header'
 * segments. Only the framing is read: a few bytes of each message's metadata
 * through ranged reads, never a body. Structure only beyond those reads.
 *
 * A malformed file (bad framing, lengths past the end, a footer that does not
 * match) lays out as plain bytes: it is still a file the user wants stored.
 */
import { BadInputError } from '../errors.js'
import { PagedReader } from './read-at.js'
import type { ReadAt } from './read-at.js'
import type { FileLayout, Segment } from './types.js'

/** "ARROW1" */
const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]
const CONTINUATION = 0xffffffff
/** Longest message metadata read (16 MiB); a longer one is taken as damage. */
export const MAX_ARROW_METADATA = 16 * 1024 * 1024
/** Message header types (Message.fbs `MessageHeader`). */
const SCHEMA = 1

/** Thrown inside this module for a malformed file; turned into the bytes layout. */
class Malformed extends Error {}

function hasMagic (b: Uint8Array, at: number): boolean {
  return at >= 0 && at + 6 <= b.length && MAGIC.every((m, i) => b[at + i] === m)
}

/**
 * The `header_type` and `bodyLength` fields of a flatbuffer `Message` table
 * (Message.fbs: version 0, header_type 1, header 2, bodyLength 3), every
 * offset bounds-checked against `fb`.
 */
export function readMessageFields (fb: Uint8Array): { headerType: number, bodyLength: number } {
  if (fb.length < 8) throw new Malformed('message metadata too short')
  const dv = new DataView(fb.buffer, fb.byteOffset, fb.byteLength)
  const table = dv.getUint32(0, true)
  if (table + 4 > fb.length) throw new Malformed('message table out of range')
  const vtable = table - dv.getInt32(table, true)
  if (vtable < 0 || vtable + 4 > fb.length) throw new Malformed('message vtable out of range')
  const vtSize = dv.getUint16(vtable, true)
  if (vtSize < 4 || vtable + vtSize > fb.length) throw new Malformed('message vtable size out of range')
  const field = (id: number, width: number): number | undefined => {
    const slot = 4 + 2 * id
    if (slot + 2 > vtSize) return undefined
    const off = dv.getUint16(vtable + slot, true)
    if (off === 0) return undefined
    if (table + off + width > fb.length) throw new Malformed(`message field ${id} out of range`)
    return table + off
  }
  const ht = field(1, 1)
  const bl = field(3, 8)
  const bodyLength = bl === undefined ? 0n : dv.getBigInt64(bl, true)
  if (bodyLength < 0n || bodyLength > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed('bad body length')
  return { headerType: ht === undefined ? 0 : fb[ht], bodyLength: Number(bodyLength) }
}

/**
 * Layout of an Arrow IPC file or stream of `fileSize` bytes, or undefined
 * when it is not one or is malformed (the caller lays it out as bytes).
 */
export async function parseArrowIpc (read: ReadAt, fileSize: number): Promise<FileLayout | undefined> {
  try {
    return await layout(new PagedReader(read, fileSize, { pageSize: 16 * 1024, maxPages: 8, what: 'Arrow' }))
  } catch (err) {
    // Malformed framing, or a file that shrank while being read: store it as bytes.
    if (err instanceof Malformed || err instanceof BadInputError) return undefined
    throw err
  }
}

async function layout (r: PagedReader): Promise<FileLayout | undefined> {
  const size = r.size
  if (size < 8) return undefined
  const head = await r.bytes(0, 8)
  let pos = 0
  let end = size // where messages stop: the footer of the file format
  const segments: Segment[] = []
  if (hasMagic(head, 0)) {
    // File format: "ARROW1" + 2 padding bytes, messages, footer, int32 footer length, "ARROW1".
    if (size < 8 + 10) throw new Malformed('too short for an Arrow file')
    const tail = await r.bytes(size - 10, 10)
    if (!hasMagic(tail, 4)) throw new Malformed('no trailing ARROW1 magic')
    const footerLen = new DataView(tail.buffer, tail.byteOffset, 10).getInt32(0, true)
    if (footerLen <= 0 || footerLen > size - 8 - 10) throw new Malformed('bad footer length')
    end = size - 10 - footerLen
    segments.push({ start: 0, end: 8, kind: 'header' })
    pos = 8
  }
  while (pos < end) {
    if (end - pos < 4) throw new Malformed('truncated message prefix')
    const p = await r.bytes(pos, Math.min(8, end - pos))
    const dv = new DataView(p.buffer, p.byteOffset, p.byteLength)
    let prefix = 4
    let metaLen = dv.getUint32(0, true)
    if (metaLen === CONTINUATION) {
      if (p.length < 8) throw new Malformed('truncated message prefix')
      prefix = 8
      metaLen = dv.getUint32(4, true)
    }
    if (metaLen === 0) {
      // End-of-stream marker: anything after it (file format: nothing before
      // the footer) is kept as the closing header.
      segments.push({ start: pos, end: size, kind: 'header' })
      pos = end = size
      break
    }
    if (metaLen > MAX_ARROW_METADATA || pos + prefix + metaLen > end) throw new Malformed('message metadata out of range')
    const { headerType, bodyLength } = readMessageFields(await r.bytes(pos + prefix, metaLen))
    const msgEnd = pos + prefix + metaLen + bodyLength
    if (msgEnd > end) throw new Malformed('message body out of range')
    segments.push({ start: pos, end: msgEnd, kind: headerType === SCHEMA ? 'header' : 'bytes' })
    pos = msgEnd
  }
  if (segments.length === 0) return undefined
  if (pos < size) segments.push({ start: pos, end: size, kind: 'header' })
  return { format: 'arrow', segments: mergeHeaders(segments) }
}

/** Adjacent 'header' segments as one (magic + schema, end marker + footer): fewer tiny chunks. */
function mergeHeaders (segments: Segment[]): Segment[] {
  const out: Segment[] = []
  for (const s of segments) {
    const last = out[out.length - 1]
    if (last !== undefined && last.kind === 'header' && s.kind === 'header' && last.end === s.start) last.end = s.end
    else out.push({ ...s })
  }
  return out
}
