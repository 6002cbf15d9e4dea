/** `tenpak serve [--host H] [--port P] [--config FILE] [--write-token T]… [--mount DIR]` — the HTTP origin (daemon/), optionally with the FUSE view of the same store. */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createHash } from 'node:crypto'
import type { Command } from 'commander'
import type { GlobalOptions } from '../context.js'
import { loadConfig, type ServeFlags } from '../../daemon/config.js'
import { startServer } from '../../daemon/server.js'
import { createJsonLogger } from '../../daemon/logger.js'
import { createRepo, type Repo } from '../../src/repo/repo.js'
import { createS3Client, createS3Backend, parseS3Url, withRetry } from '../../src/store/s3-backend.js'
import { createCachedBackend, DEFAULT_REMOTE_CACHE_BYTES } from '../../src/store/cached-backend.js'
import { createS3SyncLoader } from '../../src/store/s3-sync-loader.js'
import { createS3Remote } from '../../src/sync/s3-remote.js'
import { createMirror, type Mirror } from '../../src/sync/mirror.js'
import { mountStore, type MountHandle } from '../../src/fuse/mount.js'
import { BadInputError, ErrorCode } from '../../src/errors.js'
import { parseSize } from '../../daemon/config.js'

interface S3Flags { s3CacheDir?: string, s3CacheSize?: string, s3Refresh?: string, s3Endpoint?: string }
interface MountFlags { mount?: string, mountCache?: string }

/** Register the command. */
export function register (program: Command): void {
  program.command('serve')
    .description('serve the store over HTTP: Hub-compatible API, IPFS gateway subset, reconstruction API, sync endpoints')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port (default 7070; 0 picks a free one)')
    .option('--config <file>', 'JSON config file (see docs/deploy.md)')
    .option('--write-token <token>', 'bearer token allowed to write (repeatable; also $TENPAK_WRITE_TOKENS)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--cache <size>', 'decoded-chunk cache, e.g. 256MiB (default 64MiB)')
    .option('--public-url <url>', 'URL clients reach this server at (for Link headers)')
    .option('--quiet', 'log only errors and lifecycle events, not every request')
    .option('--s3-cache-dir <dir>', 'with --store s3://…: local index and refs of the bucket (default: a per-process temp dir, removed at exit)')
    .option('--s3-cache-size <size>', 'with --store s3://…: in-memory cache of pack ranges read from the bucket, e.g. 1GiB (default 256MiB)')
    .option('--s3-refresh <ms>', 'with --store s3://…: how often to pick up refs pushed to the bucket (default 5000)')
    .option('--s3-endpoint <url>', 'with --store s3://…: S3 endpoint (default $AWS_ENDPOINT_URL)')
    .option('--mount <dir>', 'also mount the store read-only at DIR (as `tenpak mount DIR`), unmounted at shutdown')
    .option('--mount-cache <size>', 'with --mount: decoded-chunk cache of the mount (default 256MiB)')
    .action(async (opts: Omit<ServeFlags, 'store'> & S3Flags & MountFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>()
      const config = loadConfig({ ...opts, store: g.store })
      const logger = createJsonLogger(process.stderr)
      let repo: Repo | undefined
      let mirror: Mirror | undefined
      let tempCache: string | undefined
      if (config.store.startsWith('s3://')) {
        // the bucket is the authority and the cache follows it, so a push taken
        // here would be overwritten by the next refresh: push to the bucket instead
        if (config.writeTokens.length > 0) throw new BadInputError(ErrorCode.BAD_ARGUMENT, 'serve --store s3://… is read-only: push to the bucket (tenpak push s3://…), not to this server')
        // An S3 store is served from the bucket: the local directory holds only
        // the index (read from the index copy beside each pack) and refs; chunk reads are
        // ranged GETs through a bounded in-memory cache of pack ranges.
        const refreshMs = opts.s3Refresh != null ? Number(opts.s3Refresh) : 5000
        if (!(Number.isInteger(refreshMs) && refreshMs >= 0)) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `--s3-refresh must be a number of milliseconds, got ${JSON.stringify(opts.s3Refresh)}`)
        const cacheBytes = opts.s3CacheSize != null ? parseSize(opts.s3CacheSize) : DEFAULT_REMOTE_CACHE_BYTES
        const location = parseS3Url(config.store)
        let dir = opts.s3CacheDir
        if (dir == null) {
          dir = tempCache = path.join(os.tmpdir(), `tenpak-s3-${createHash('sha256').update(config.store).digest('hex').slice(0, 12)}-${process.pid}`)
        }
        // a cache dir of an older tenpak held mirrored packs that its index points at: not reusable
        if (fs.existsSync(path.join(dir, 'packs'))) throw new BadInputError(ErrorCode.BAD_ARGUMENT, `${dir} holds packs of an older tenpak's S3 mirror; remove it or pick another --s3-cache-dir`)
        fs.mkdirSync(dir, { recursive: true })
        const settings = { endpoint: opts.s3Endpoint }
        const client = createS3Client(settings)
        const s3 = withRetry(createS3Backend(client, location), { onRetry: (i) => { logger.warn('s3 retry', { op: i.op, key: i.key, attempt: i.attempt, err: String((i.error as Error)?.message ?? i.error) }) } })
        const loader = createS3SyncLoader({ settings, location })
        const backend = createCachedBackend(s3, { cacheBytes, loadSync: loader.load, onClose: loader.close })
        const remote = createS3Remote({ backend: s3, client, location })
        try {
          repo = await createRepo({ dir, backend })
        } catch (err) {
          await backend.close()
          throw err
        }
        mirror = createMirror(repo, remote, {
          intervalMs: refreshMs,
          onError: (err) => { logger.error('s3 refresh failed', { err: String((err as Error)?.message ?? err) }) },
          onUpdate: (u) => { logger.info('s3 ref', u) }
        })
        let moved: number
        try {
          moved = await mirror.refresh()
        } catch (err) {
          await mirror.stop()
          await repo.close()
          if (tempCache != null) fs.rmSync(tempCache, { recursive: true, force: true })
          throw err
        }
        logger.info('s3 store', { store: config.store, cache: dir, cacheBytes, refs: moved })
      }
      const server = await startServer(config, { logger, repo })
      let mount: MountHandle | undefined
      if (opts.mount != null) {
        try {
          // the mount shares the server's store (one process holds the store lock)
          mount = await mountStore(server.repo, opts.mount, {
            cacheBytes: opts.mountCache != null ? parseSize(opts.mountCache) : undefined,
            fuseDevice: process.env.TENPAK_FUSE_DEVICE != null && process.env.TENPAK_FUSE_DEVICE !== '' ? process.env.TENPAK_FUSE_DEVICE : undefined,
            onError: (err: unknown, op: string, p: string) => {
              const e = err as { code?: string, message?: string }
              logger.error('mount read failed', { op, path: p, code: e?.code ?? 'ERR_INTERNAL', err: e?.message ?? String(err) })
            }
          })
        } catch (err) {
          await server.close('mount failed')
          if (mirror != null) await mirror.stop()
          if (repo != null) await repo.close()
          if (tempCache != null) fs.rmSync(tempCache, { recursive: true, force: true })
          throw err
        }
        logger.info('mounted', { dir: mount.dir, clearedStale: mount.clearedStale })
      }
      // first signal: graceful; a second one while draining: stop now
      await new Promise<void>(resolve => {
        let stopping = false
        const onSignal = (sig: NodeJS.Signals): void => {
          if (stopping) { logger.warn('second signal, exiting', { signal: sig }); process.exit(130) }
          stopping = true
          const unmounted = mount != null ? mount.unmount().catch((err: unknown) => { logger.error('unmount failed', { err: String(err) }) }) : Promise.resolve()
          unmounted.then(async () => await server.close(sig)).then(resolve, (err: unknown) => { logger.error('shutdown failed', { err: String(err) }); resolve() })
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
      })
      if (mirror != null) await mirror.stop()
      if (repo != null) await repo.close()
      if (tempCache != null) fs.rmSync(tempCache, { recursive: true, force: true })
      // the FUSE binding keeps libuv handles of its threads; nothing else is pending
      if (mount != null) process.exit(0)
    })
}
