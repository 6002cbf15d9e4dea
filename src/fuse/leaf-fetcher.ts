/**
 * Fetching leaves for the mount: every leaf a read or a readahead needs goes
 * through one queue with two priorities (reads before readahead), is decoded
 * once however many readers want it (in-flight requests are shared), and
 * lands in the shared ChunkCache.
 *
 * Decoding runs on worker threads so that a read waiting for a cold chunk
 * does not stop the main thread from answering other FUSE requests (cache
 * hits, getattr, readdir): no head-of-line blocking behind a decode. The
 * main thread looks the entry up in the index and hands its location to a
 * worker, which reads the stored bytes from the pack file itself (local
 * stores: `packPath`; a cold pack read from disk then blocks a worker, not
 * the main thread), decodes them and checks the BLAKE3 against the CID
 * exactly as BlockStore.getSync does. Without `packPath` the main thread
 * reads the stored bytes (BlockStore.getEncoded) and sends them along.
 * An entry stored as a delta first gets its base through this same fetcher
 * (so a base shared by many deltas is decoded once and cached), then goes to
 * a worker with the base bytes. While no worker is ready, and for any entry a
 * worker failed on (once), the main thread decodes through BlockStore.getSync,
 * which is authoritative, one entry per event-loop turn so other requests
 * interleave.
 */
import { Worker } from 'node:worker_threads'
import { MAX_DELTA_DEPTH, type BlockStore } from '../store/block-store.js'
import { isInline, type CID } from '../hash/cid.js'
import type { ChunkCache } from '../util/byte-lru.js'
import type { Location } from '../index/index.js'
import { TenpakError, IntegrityError, NotFoundError, ErrorCode, type ErrorCodeValue } from '../errors.js'

/** A decode request sent to a worker. */
export interface DecodeJob {
  id: number
  /** CID bytes of the leaf */
  cid: Uint8Array
  codec: number
  /** stored (encoded) bytes, or where the worker reads them */
  data?: Uint8Array
  pack?: { file: string, offset: number, length: number }
  logicalLength: number
  /** decoded base chunk of a delta entry */
  base?: Uint8Array
}

/** A worker's answer: the verified bytes, or an error to rethrow. */
export interface DecodeReply {
  id: number
  bytes?: Uint8Array
  error?: { code?: string, name: string, message: string }
}

/** Request priorities: reads a process waits for, then readahead. */
export const Priority = { READ: 0, AHEAD: 1 } as const
/** One of {@link Priority}. */
export type PriorityValue = typeof Priority[keyof typeof Priority]

/** What the fetcher has done so far. */
export interface FetcherStats {
  /** logical bytes decoded (leaves plus any delta bases they needed) */
  decodedBytes: number
  /** leaves decoded */
  decodedChunks: number
  /** leaves decoded on worker threads */
  workerChunks: number
  /** leaves decoded on the main thread */
  mainThreadChunks: number
  /** requests waiting or running now */
  pending: number
  /** worker threads ready */
  workers: number
}

/** Options for {@link createLeafFetcher}. */
export interface LeafFetcherOptions {
  blocks: Pick<BlockStore, 'getSync' | 'getEncoded' | 'location'>
  cache: ChunkCache
  /** local file of a pack, when workers may read packs themselves */
  packPath?: (packId: string) => string
  /** decode worker threads (0: decode on the main thread) */
  decodeThreads: number
}

/** Gets verified leaves, from the cache or by decoding them. */
export interface LeafFetcher {
  /** the leaf's bytes now if cached (counts as a use), else undefined */
  cached: (cid: CID) => Uint8Array | undefined
  /** the leaf's bytes, decoding it if needed */
  get: (cid: CID, priority?: PriorityValue) => Promise<Uint8Array>
  /** start decoding a leaf into the cache at readahead priority, unless held or pending */
  prefetch: (cid: CID) => void
  stats: () => FetcherStats
  /** stop the workers; pending requests fail with ERR_ABORTED */
  close: () => Promise<void>
}

interface Job {
  key: string
  cid: CID
  priority: PriorityValue
  /** taken off the queues: decoding, or waiting for its delta base */
  running: boolean
  /** waiting for its delta base */
  parked?: boolean
  loc?: Location
  base?: Uint8Array
  /** decode on the main thread (a worker failed on it) */
  mainOnly?: boolean
  promise: Promise<Uint8Array>
  resolve: (b: Uint8Array) => void
  reject: (e: unknown) => void
}

interface WorkerSlot {
  worker: Worker
  ready: boolean
  running: Map<number, Job>
}

/** Jobs a worker holds at once: one decoding, one queued behind it, so it never idles between messages. */
const PER_WORKER = 2

function workerUrl (): URL {
  // under a TypeScript loader (the tests) this module is the .ts file itself
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./decode-worker${ext}`, import.meta.url)
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode))

function rebuildError (e: NonNullable<DecodeReply['error']>): TenpakError {
  const code = (e.code != null && KNOWN_CODES.has(e.code) ? e.code : ErrorCode.CODEC) as ErrorCodeValue
  if (e.name === 'IntegrityError') return new IntegrityError(e.message, code)
  return new TenpakError(code, e.message)
}

/** Create a fetcher; workers start at once and take over from the main thread as they become ready. */
export function createLeafFetcher (opts: LeafFetcherOptions): LeafFetcher {
  const { blocks, cache } = opts
  const pending = new Map<string, Job>()
  const readQ = new Set<Job>()
  const aheadQ = new Set<Job>()
  const slots: WorkerSlot[] = []
  let nextId = 1
  let mainBusy = false
  let closed = false
  const st = { decodedBytes: 0, decodedChunks: 0, workerChunks: 0, mainThreadChunks: 0 }

  const finish = (job: Job, bytes: Uint8Array | undefined, err?: unknown): void => {
    pending.delete(job.key)
    if (bytes != null) {
      cache.set(job.key, bytes)
      job.resolve(bytes)
    } else {
      job.reject(err)
    }
  }

  const startWorker = (): void => {
    let worker: Worker
    try {
      worker = new Worker(workerUrl())
    } catch {
      return // no workers: the main thread decodes
    }
    worker.unref()
    const slot: WorkerSlot = { worker, ready: false, running: new Map() }
    slots.push(slot)
    worker.on('message', (m: DecodeReply | { ready: true }) => {
      if ('ready' in m) { slot.ready = true; pump(); return }
      const job = slot.running.get(m.id)
      if (job == null) return
      slot.running.delete(m.id)
      if (m.bytes != null) {
        st.decodedBytes += m.bytes.length
        st.decodedChunks++
        st.workerChunks++
        finish(job, m.bytes)
      } else if (job.mainOnly !== true) {
        // retry once where the store's own read path runs: BlockStore.getSync is authoritative
        // (a codec the worker does not know, a pack moved by gc, …) and fails with the right code
        job.mainOnly = true
        job.running = false
        readQ.add(job)
      } else {
        finish(job, undefined, rebuildError(m.error ?? { name: 'Error', message: 'decode failed' }))
      }
      pump()
    })
    const lost = (): void => {
      const i = slots.indexOf(slot)
      if (i >= 0) slots.splice(i, 1)
      // give its jobs back to the queue: another worker or the main thread decodes them
      for (const job of slot.running.values()) {
        job.running = false
        readQ.add(job)
      }
      slot.running.clear()
      if (!closed) pump()
    }
    worker.on('error', lost)
    worker.on('exit', lost)
  }

  const nextJob = (): Job | undefined => {
    const r = readQ.values().next()
    if (r.done !== true) return r.value
    const a = aheadQ.values().next()
    return a.done === true ? undefined : a.value
  }

  const dequeue = (job: Job): void => {
    readQ.delete(job)
    aheadQ.delete(job)
    job.running = true
  }

  // Decode on the main thread (delta entries, or no worker ready), one per turn.
  const runMain = (job: Job): void => {
    mainBusy = true
    setImmediate(() => {
      mainBusy = false
      let bytes: Uint8Array | undefined
      let error: unknown
      try {
        bytes = blocks.getSync(job.cid)
        st.decodedChunks++
        st.mainThreadChunks++
        // a delta entry decodes its base chain too
        let loc = blocks.location(job.cid)
        let depth = 0
        while (loc != null && depth++ <= MAX_DELTA_DEPTH) {
          st.decodedBytes += loc.logicalLength
          loc = loc.base != null ? blocks.location(loc.base) : undefined
        }
      } catch (err) {
        error = err
      }
      finish(job, bytes, error)
      pump()
    })
  }

  const pump = (): void => {
    if (closed) return
    for (;;) {
      const job = nextJob()
      if (job == null) return
      const anyReady = slots.some(s => s.ready)
      if (job.mainOnly === true || !anyReady) {
        // no worker ready (or a worker failed on this entry): decode here, one per turn
        if (mainBusy) return
        dequeue(job)
        runMain(job)
        continue
      }
      const slot = slots.find(s => s.ready && s.running.size < PER_WORKER)
      if (slot == null) return // workers busy: the next reply pumps again
      if (job.loc == null) {
        const loc = blocks.location(job.cid)
        if (loc == null) {
          dequeue(job)
          finish(job, undefined, new NotFoundError(`block ${job.cid.toString()} not found`))
          continue
        }
        job.loc = loc
      }
      const baseCid = job.loc.base
      if (baseCid != null && job.base == null) {
        // park it until its base is decoded (through this fetcher: cached, shared, verified)
        dequeue(job)
        job.parked = true
        const requeue = (): void => {
          job.parked = false
          job.running = false
          if (job.priority === Priority.READ) readQ.add(job)
          else aheadQ.add(job)
          pump()
        }
        getLeaf(baseCid, job.priority).then(b => { job.base = b; requeue() }, () => { job.mainOnly = true; requeue() })
        continue
      }
      dequeue(job)
      const id = nextId++
      const msg: DecodeJob = { id, cid: job.cid.bytes, codec: job.loc.codec, logicalLength: job.loc.logicalLength }
      const transfer: ArrayBuffer[] = []
      if (opts.packPath != null) {
        msg.pack = { file: opts.packPath(job.loc.packId), offset: job.loc.offset, length: job.loc.storedLength }
      } else {
        let data: Uint8Array
        try {
          data = blocks.getEncoded(job.cid).data
        } catch (err) {
          finish(job, undefined, err)
          continue
        }
        // transfer the stored bytes when they own their buffer (large reads do); copy pooled small ones
        msg.data = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice()
        transfer.push(msg.data.buffer as ArrayBuffer)
      }
      // the base stays in the cache: it is copied, never transferred
      if (job.base != null) msg.base = job.base
      job.base = undefined
      slot.running.set(id, job)
      slot.worker.postMessage(msg, transfer)
    }
  }

  const request = (cid: CID, priority: PriorityValue): Job => {
    const key = cid.toString()
    let job = pending.get(key)
    if (job != null) {
      if (priority === Priority.READ && job.priority === Priority.AHEAD) {
        job.priority = Priority.READ
        if (!job.running) { aheadQ.delete(job); readQ.add(job) } else if (job.parked === true && job.loc?.base != null) request(job.loc.base, Priority.READ)
        pump()
      }
      return job
    }
    let resolve!: (b: Uint8Array) => void
    let reject!: (e: unknown) => void
    const promise = new Promise<Uint8Array>((res, rej) => { resolve = res; reject = rej })
    // readahead results nobody awaits must not become unhandled rejections
    promise.catch(() => {})
    job = { key, cid, priority, running: false, promise, resolve, reject }
    pending.set(key, job)
    if (priority === Priority.READ) readQ.add(job)
    else aheadQ.add(job)
    pump()
    return job
  }

  const getLeaf = async (cid: CID, priority: PriorityValue): Promise<Uint8Array> => {
    if (closed) throw new TenpakError(ErrorCode.ABORTED, 'the mount is closing')
    if (isInline(cid)) return cid.multihash.digest
    const hit = cache.get(cid.toString())
    if (hit != null) return hit
    return await request(cid, priority).promise
  }

  for (let i = 0; i < opts.decodeThreads; i++) startWorker()

  return {
    cached: (cid) => cache.get(cid.toString()),
    get: async (cid, priority = Priority.READ) => await getLeaf(cid, priority),
    prefetch (cid) {
      if (closed) return
      const key = cid.toString()
      if (pending.has(key) || cache.has(key)) return
      request(cid, Priority.AHEAD)
    },
    stats: () => ({ ...st, pending: pending.size, workers: slots.filter(s => s.ready).length }),
    async close () {
      closed = true
      const err = new TenpakError(ErrorCode.ABORTED, 'the mount was closed')
      for (const job of pending.values()) job.reject(err)
      pending.clear()
      readQ.clear()
      aheadQ.clear()
      const ws = slots.splice(0)
      for (const s of ws) s.worker.removeAllListeners('exit')
      await Promise.all(ws.map(async s => await s.worker.terminate()))
    }
  }
}
