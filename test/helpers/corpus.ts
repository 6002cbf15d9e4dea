/**
 * Where the shared, read-only corpus of real files lives (../shared/corpus from
 * the project root), and small readers for tests.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The project root (two levels above this file). */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The shared corpus directory. Never write here. */
export const corpusDir = resolve(projectRoot, '../shared/corpus')

/** Absolute path of a corpus file, e.g. `corpusPath('datasets/vega-flights-subsets/weather.csv')`. */
export function corpusPath (rel: string): string {
  return resolve(corpusDir, rel)
}

/** A whole corpus file as bytes (small files only). */
export function readCorpus (rel: string): Uint8Array {
  const b = readFileSync(corpusPath(rel))
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}
