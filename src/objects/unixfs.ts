/**
 * UnixFS v1 objects: file DAGs (balanced, raw leaves, dag-pb interior nodes)
 * and directories, built as blocks a caller stores. Structure only: no I/O.
 * Layout matches ipfs-unixfs-importer's balanced layout (174 links a node),
 * so any IPFS exporter reads what this writes.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID, cidOf, Codec } from '../hash/cid.js'
import { BadInputError, ErrorCode, IntegrityError } from '../errors.js'

/** Links per interior node; the importer's default for the balanced layout. */
export const MAX_LINKS = 174

/** A block to store: its CID and encoded bytes. */
export interface Block {
  cid: CID
  bytes: Uint8Array
}

/** A child of an interior node: CID, logical bytes under it, and Tsize. */
export interface DagLink {
  cid: CID
  size: number
  tsize: number
}

/**
 * Builds a file DAG from its leaves, streaming: hand it each leaf's link in
 * order; it emits interior nodes through `emit` as soon as they are full, so
 * memory holds at most MAX_LINKS links per tree level.
 */
export class FileDagBuilder {
  private readonly levels: DagLink[][] = [[]]
  private readonly emit: (block: Block) => void

  constructor (emit: (block: Block) => void) {
    this.emit = emit
  }

  /** Add the next leaf (a raw block already stored). */
  addLeaf (cid: CID, size: number): void {
    this.push(0, { cid, size, tsize: size })
  }

  private push (level: number, link: DagLink): void {
    if (this.levels[level] == null) this.levels[level] = []
    const links = this.levels[level]
    links.push(link)
    if (links.length === MAX_LINKS) {
      this.levels[level] = []
      this.push(level + 1, this.node(links))
    }
  }

  private node (links: DagLink[]): DagLink {
    const block = encodeFileNode(links)
    this.emit(block)
    const size = links.reduce((s, l) => s + l.size, 0)
    const tsize = links.reduce((s, l) => s + l.tsize, block.bytes.length)
    return { cid: block.cid, size, tsize }
  }

  /** Finish: returns the root link. A single-leaf file is its leaf (as the importer does). */
  finish (): DagLink {
    if (this.levels.length === 1 && this.levels[0].length === 0) {
      return this.node([])
    }
    for (let level = 0; ; level++) {
      const links = this.levels[level]
      const higher = this.levels.slice(level + 1).some(l => l.length > 0)
      if (!higher) {
        if (links.length === 1) return links[0]
        return this.node(links)
      }
      if (links.length > 0) {
        this.levels[level] = []
        this.push(level + 1, this.node(links))
      }
    }
  }
}

/** Encode a UnixFS file node over `links`. */
export function encodeFileNode (links: DagLink[]): Block {
  const unixfs = new UnixFS({ type: 'file', blockSizes: links.map(l => BigInt(l.size)) })
  const bytes = dagPb.encode(dagPb.prepare({
    Data: unixfs.marshal(),
    Links: links.map(l => ({ Hash: l.cid, Tsize: l.tsize, Name: '' }))
  }))
  return { cid: cidOf(Codec.DAG_PB, bytes), bytes }
}

/** A directory entry. */
export interface DirEntry {
  name: string
  cid: CID
  tsize: number
}

/** Encode a UnixFS directory; entries are sorted by name bytes as UnixFS requires. */
export function encodeDirectory (entries: DirEntry[]): Block {
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
  const bytes = dagPb.encode(dagPb.prepare({
    Data: new UnixFS({ type: 'directory' }).marshal(),
    Links: sorted.map(e => ({ Hash: e.cid, Tsize: e.tsize, Name: e.name }))
  }))
  return { cid: cidOf(Codec.DAG_PB, bytes), bytes }
}

/** A decoded dag-pb node with its UnixFS data. */
export interface DecodedNode {
  type: string
  links: Array<{ cid: CID, name: string, tsize: number }>
  /** file nodes: logical size of each child */
  blockSizes: number[]
  /** inline data of a file node (tenpak never writes it, others may) */
  data?: Uint8Array
}

/** Decode a dag-pb UnixFS node (ERR_CORRUPT if it is not one). */
export function decodeNode (cid: CID, bytes: Uint8Array): DecodedNode {
  try {
    const pb = dagPb.decode(bytes)
    if (pb.Data == null) throw new Error('dag-pb node without UnixFS data')
    const fs = UnixFS.unmarshal(pb.Data)
    return {
      type: fs.type,
      links: pb.Links.map(l => ({ cid: l.Hash, name: l.Name ?? '', tsize: l.Tsize ?? 0 })),
      blockSizes: fs.blockSizes.map(Number),
      data: fs.data != null && fs.data.length > 0 ? fs.data : undefined
    }
  } catch (err) {
    throw new IntegrityError(`${cid.toString()} is not a UnixFS node`, ErrorCode.CORRUPT, { cause: err })
  }
}

/** Validate a path inside a repo: relative, '/'-separated, no '.', '..' or empty parts. */
export function checkRepoPath (p: string): string[] {
  const parts = p.split('/').filter(s => s !== '')
  for (const s of parts) {
    if (s === '.' || s === '..' || s.includes('\0') || s.length > 255) {
      throw new BadInputError(ErrorCode.BAD_ARGUMENT, `invalid path component ${JSON.stringify(s)} in ${JSON.stringify(p)}`)
    }
  }
  return parts
}
