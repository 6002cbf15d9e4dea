/**
 * Build of the dashboard front-end (web/) into dist/web, which `tenpak serve`
 * serves at `/`. Everything is bundled: the app loads nothing from a CDN.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 600
  },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } }
})
