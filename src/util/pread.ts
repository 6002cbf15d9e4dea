/** Positional reads that fill their buffer. */
import fs from 'node:fs'

/**
 * Read `buf.length` bytes at `offset` of `fd` into `buf`, looping over short
 * reads; returns the bytes read, less than `buf.length` only at end of file
 * (the caller names that error: a truncated pack, a short object).
 */
export function preadFully (fd: number, buf: Uint8Array, offset: number): number {
  let got = 0
  while (got < buf.length) {
    const n = fs.readSync(fd, buf, got, buf.length - got, offset + got)
    if (n === 0) break
    got += n
  }
  return got
}
