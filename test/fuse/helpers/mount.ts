/**
 * Test helpers for real FUSE mounts: whether this machine can mount (and why
 * not, for a loud skip), running commands against a mount from child
 * processes (the test process serves the mount on its own event loop, so it
 * must never touch it synchronously), and hashing source ranges.
 */
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { openSync, readSync, closeSync, writeFileSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkFuseAvailable, loadFuseBinding } from '../../../src/fuse/binding.js'

const here = dirname(fileURLToPath(import.meta.url))

/** Why real mounts cannot run here, or undefined when they can. */
export function fuseUnavailableReason (): string | undefined {
  try {
    checkFuseAvailable()
    loadFuseBinding()
  } catch (err) {
    return (err as Error).message
  }
  if (process.getuid?.() !== 0) return 'not root: the mount tests mount for real and expect root (as on CI)'
  return undefined
}

/** The loud skip message used by every real-mount test. */
export function skipMessage (reason: string): string {
  return `!!! FUSE UNAVAILABLE, REAL-MOUNT TEST SKIPPED: ${reason} (run scripts/install-system-deps.sh as root and npm ci) !!!`
}

/** Result of a child process. */
export interface Run { code: number | null, stdout: string, stderr: string }

/** Run a command asynchronously (never spawnSync against a mount served by this process). */
export async function run (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 300_000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })
    })
  })
}

/** A pread job for the child script: ranges of one file. */
export interface PreadSpec { file: string, ranges: Array<[number, number]> }

/** pread `specs` in a child process; returns "length:sha256" per range. */
export async function childPreads (specs: PreadSpec[], specFile: string): Promise<string[][]> {
  writeFileSync(specFile, JSON.stringify(specs))
  const r = await run(process.execPath, [join(here, 'pread.mjs'), specFile])
  if (r.code !== 0) throw new Error(`pread child failed (${String(r.code)}): ${r.stderr}`)
  return JSON.parse(r.stdout) as string[][]
}

/** The same "length:sha256" of ranges of a source file, read here. */
export function sourcePreads (spec: PreadSpec): string[] {
  const fd = openSync(spec.file, 'r')
  try {
    return spec.ranges.map(([start, length]) => {
      const buf = Buffer.alloc(length)
      let got = 0
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, start + got)
        if (n === 0) break
        got += n
      }
      return `${got}:${createHash('sha256').update(buf.subarray(0, got)).digest('hex')}`
    })
  } finally {
    closeSync(fd)
  }
}

/** Deterministic pseudo-random ranges inside a file of `size` bytes. */
export function randomRanges (size: number, n: number, seed: number, maxLen = 700_000): Array<[number, number]> {
  let x = seed
  const rnd = (): number => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x / 0x7fffffff }
  const out: Array<[number, number]> = []
  for (let i = 0; i < n; i++) {
    const start = Math.floor(rnd() * size)
    out.push([start, 1 + Math.floor(rnd() * Math.min(size - start, maxLen))])
  }
  return out
}
