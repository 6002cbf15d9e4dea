/**
 * A {@link ByteSink} that writes to a file, for callers (CLI, tests) that
 * want the quantized model on disk. Writes are sequential and awaited, so
 * memory stays bounded by one tensor.
 */

import { open, type FileHandle } from 'node:fs/promises'
import { fromSystemError } from '../../errors.js'
import type { ByteSink } from './types.js'

/** A file-backed sink and the call that finishes it. */
export interface FileSink {
  sink: ByteSink
  /** bytes written so far */
  readonly bytesWritten: number
  /** flush to disk (fsync) and close */
  close: () => Promise<void>
}

/** Open `path` for writing (truncating) and return a sink for it. */
export async function createFileSink (path: string): Promise<FileSink> {
  let fh: FileHandle
  try {
    fh = await open(path, 'w')
  } catch (err) {
    throw fromSystemError(err, `opening ${path}`)
  }
  let written = 0
  return {
    sink: async (chunk: Uint8Array) => {
      let off = 0
      while (off < chunk.length) {
        try {
          const { bytesWritten } = await fh.write(chunk, off, chunk.length - off)
          off += bytesWritten
        } catch (err) {
          throw fromSystemError(err, `writing ${path}`)
        }
      }
      written += chunk.length
    },
    get bytesWritten () { return written },
    close: async () => {
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
    }
  }
}
