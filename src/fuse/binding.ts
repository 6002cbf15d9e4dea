/**
 * The FUSE binding and the system around it: loading `@cocalc/fuse-native`
 * (an optional dependency, built from source against libfuse), checking that
 * FUSE can be used here, and finding and clearing mounts left behind by a
 * process that was killed. Every failure is a TenpakError (ERR_UNSUPPORTED)
 * whose message says what to install or do, in one line.
 */
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { TenpakError, ErrorCode } from '../errors.js'

/** The exact binding version the project is tested with (package.json optionalDependencies). */
export const FUSE_BINDING = '@cocalc/fuse-native@2.4.3'

/** What to install for FUSE on Debian/Ubuntu (scripts/install-system-deps.sh does it). */
export const FUSE_PACKAGES = 'fuse3 libfuse2 libfuse-dev'

/** Stat fields the binding passes to the kernel. */
export interface FuseStat {
  mode: number
  uid: number
  gid: number
  size: number
  dev?: number
  nlink: number
  ino: number
  rdev?: number
  blksize: number
  blocks: number
  atime: Date
  mtime: Date
  ctime: Date
}

/** The operations the mount implements, in fuse-native's callback style (negative errno on failure). */
export interface FuseOps {
  init?: (cb: (err: number) => void) => void
  getattr: (path: string, cb: (err: number, stat?: FuseStat) => void) => void
  readdir: (path: string, cb: (err: number, names?: string[], stats?: FuseStat[]) => void) => void
  open: (path: string, flags: number, cb: (err: number, fd?: number) => void) => void
  release: (path: string, fd: number, cb: (err: number) => void) => void
  read: (path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (result: number) => void) => void
  getxattr: (path: string, name: string, position: number, cb: (err: number, value?: Buffer) => void) => void
  listxattr: (path: string, cb: (err: number, list?: string[]) => void) => void
  statfs: (path: string, cb: (err: number, stats?: Record<string, number>) => void) => void
}

/** Options of the binding's constructor that the mount uses. */
export interface FuseOptions {
  fsname?: string
  subtype?: string
  autoUnmount?: boolean
  autoCache?: boolean
  allowOther?: boolean
  entryTimeout?: number
  attrTimeout?: number
  debug?: boolean
  /** per-operation timeout in ms, or false */
  timeout?: number | false
}

/** A mounted (or mountable) binding instance. */
export interface FuseInstance {
  mount: (cb: (err: Error | null) => void) => void
  unmount: (cb: (err: Error | null) => void) => void
}

/** The binding's class, as loaded. */
export interface FuseClass {
  new (mnt: string, ops: FuseOps, opts: FuseOptions): FuseInstance
  unmount: (mnt: string, cb: (err: Error | null) => void) => void
  ENOENT: number
  EIO: number
  EROFS: number
  ERANGE: number
  ENODATA: number
  ENOTCONN: number
}

let loaded: FuseClass | undefined

/** Load the binding, or throw ERR_UNSUPPORTED saying how to install it. */
export function loadFuseBinding (): FuseClass {
  if (loaded != null) return loaded
  try {
    const require = createRequire(import.meta.url)
    loaded = require('@cocalc/fuse-native') as FuseClass
    return loaded
  } catch (err) {
    const why = (err as Error).message.split('\n')[0]
    throw new TenpakError(ErrorCode.UNSUPPORTED,
      `FUSE is unavailable: the binding ${FUSE_BINDING} is not installed or did not build (${why}); install it with: apt-get install ${FUSE_PACKAGES} && npm install -E ${FUSE_BINDING}`,
      { cause: err })
  }
}

/** Where `name` is on PATH, if anywhere. */
function which (name: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue
    const p = path.join(dir, name)
    try { fs.accessSync(p, fs.constants.X_OK); return p } catch {}
  }
  return undefined
}

/**
 * Check that FUSE can be used: the device (default /dev/fuse) opens for
 * reading and writing, and `fusermount` (from fuse3) is on PATH.
 */
export function checkFuseAvailable (opts: { device?: string, envPath?: string } = {}): void {
  const device = opts.device ?? '/dev/fuse'
  let fd: number | undefined
  try {
    fd = fs.openSync(device, 'r+')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO') {
      throw new TenpakError(ErrorCode.UNSUPPORTED,
        `FUSE is unavailable: ${device} does not exist; install ${FUSE_PACKAGES} (apt-get install ${FUSE_PACKAGES}) and load the module (modprobe fuse), or in a container add --device /dev/fuse --cap-add SYS_ADMIN`, { cause: err })
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new TenpakError(ErrorCode.UNSUPPORTED,
        `FUSE is unavailable: no permission to open ${device}; run as root or as a user allowed to use it (the fuse group), with fuse3 installed for the setuid fusermount`, { cause: err })
    }
    throw new TenpakError(ErrorCode.UNSUPPORTED, `FUSE is unavailable: cannot open ${device} (${(err as Error).message}); install ${FUSE_PACKAGES}`, { cause: err })
  } finally {
    if (fd != null) fs.closeSync(fd)
  }
  if (which('fusermount', opts.envPath) == null && which('fusermount3', opts.envPath) == null) {
    throw new TenpakError(ErrorCode.UNSUPPORTED, `FUSE is unavailable: fusermount is not installed; install fuse3 (apt-get install ${FUSE_PACKAGES})`)
  }
}

/** A mount point listed in /proc/self/mountinfo. */
export interface MountEntry {
  /** major:minor of the mounted filesystem (its backing-device-info name under /sys/class/bdi) */
  device: string
  mountPoint: string
  fsType: string
  source: string
}

const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))

/** The mount at exactly `dir`, if any (the last one: mounts stack). */
export function findMount (dir: string): MountEntry | undefined {
  let text: string
  try { text = fs.readFileSync('/proc/self/mountinfo', 'utf8') } catch { return undefined }
  let found: MountEntry | undefined
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ')
    if (right == null) continue
    const f = left.split(' ')
    const r = right.split(' ')
    if (f.length < 5) continue
    const mountPoint = unescapeMount(f[4])
    if (mountPoint === dir) found = { device: f[2], mountPoint, fsType: r[0], source: unescapeMount(r[1] ?? '') }
  }
  return found
}

/** What {@link clearStaleMount} found. */
export type StaleMountResult = 'none' | 'cleared'

/**
 * If `dir` is a FUSE mount whose server is gone (a killed tenpak: every
 * access fails with ENOTCONN), detach it (`fusermount -uz`, else `umount -l`).
 * A FUSE mount that still answers is in use: ERR_UNSUPPORTED, nothing touched.
 */
export async function clearStaleMount (dir: string, opts: { probeTimeoutMs?: number } = {}): Promise<StaleMountResult> {
  const m = findMount(dir)
  if (m == null) return 'none'
  if (!m.fsType.startsWith('fuse')) {
    throw new TenpakError(ErrorCode.UNSUPPORTED, `${dir} is already a mount point (${m.fsType}); choose an empty directory`)
  }
  // probe from the thread pool (never synchronously: a live mount served by this process would deadlock)
  const probe = fsp.stat(dir).then(() => 'alive' as const, (err: NodeJS.ErrnoException) => err.code === 'ENOTCONN' || err.code === 'ECONNABORTED' ? 'stale' as const : 'alive' as const)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<'hung'>(resolve => { timer = setTimeout(() => resolve('hung'), opts.probeTimeoutMs ?? 3000) })
  const state = await Promise.race([probe, timeout])
  clearTimeout(timer)
  if (state === 'alive') {
    throw new TenpakError(ErrorCode.UNSUPPORTED, `${dir} is already mounted (${m.fsType}) by a running process; unmount it first (fusermount -u ${dir})`)
  }
  if (state === 'hung') {
    throw new TenpakError(ErrorCode.UNSUPPORTED, `${dir} is a FUSE mount that does not answer (its process may be stopped); unmount it first (fusermount -uz ${dir})`)
  }
  for (const [cmd, args] of [['fusermount', ['-uz', dir]], ['fusermount3', ['-uz', dir]], ['umount', ['-l', dir]]] as const) {
    const r = spawnSync(cmd, args, { stdio: 'ignore' })
    if (r.status === 0 && findMount(dir) == null) return 'cleared'
  }
  throw new TenpakError(ErrorCode.UNSUPPORTED, `${dir} holds a stale FUSE mount that could not be removed; run: fusermount -uz ${dir}`)
}

/**
 * Set the kernel readahead of the filesystem mounted at `dir` (its bdi's
 * read_ahead_kb; FUSE mounts start at 128 KiB). Larger readahead lets the
 * kernel keep several 128 KiB reads in flight for sequential readers and
 * mmap faults. Needs root; returns the value in force, or undefined when it
 * could not be read.
 */
export function setKernelReadahead (dir: string, kb: number): number | undefined {
  const m = findMount(dir)
  if (m == null || !/^\d+:\d+$/.test(m.device)) return undefined
  const file = `/sys/class/bdi/${m.device}/read_ahead_kb`
  try { fs.writeFileSync(file, String(kb)) } catch {}
  try { return Number(fs.readFileSync(file, 'utf8').trim()) } catch { return undefined }
}
