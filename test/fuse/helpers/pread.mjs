#!/usr/bin/env node
// Child process for the mount tests: pread ranges of files and print the
// sha256 of each, as JSON. Runs outside the process serving the mount, which
// answers FUSE requests on its own event loop and must not read it itself.
//   node pread.mjs SPEC.json   where SPEC is [{ "file": PATH, "ranges": [[START, LENGTH], …] }, …]
import { openSync, readSync, closeSync, readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'

// without a spec (e.g. picked up by `tap test/fuse`) there is nothing to do
if (process.argv[2] == null) process.exit(0)
const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const out = []
for (const { file, ranges } of spec) {
  const fd = openSync(file, 'r')
  try {
    const hashes = []
    for (const [start, length] of ranges) {
      const buf = Buffer.alloc(length)
      let got = 0
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, start + got)
        if (n === 0) break
        got += n
      }
      hashes.push(`${got}:${createHash('sha256').update(buf.subarray(0, got)).digest('hex')}`)
    }
    out.push(hashes)
  } finally {
    closeSync(fd)
  }
}
process.stdout.write(JSON.stringify(out))
