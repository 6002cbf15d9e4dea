#!/usr/bin/env node
/**
 * tenpak serve vs nginx, same 1 GiB file, same loopback, same client, one run.
 *
 * Phases, alternating servers: full GETs with 1 client (--full requests) and
 * with 64 concurrent clients (64 downloads of the whole file, stopped after
 * --full64-seconds: throughput counts every byte moved, latency only the
 * downloads that finished, time-to-first-byte all of them), then 1 MiB random
 * ranges with 1 and 64 concurrent clients for --duration seconds. Prints
 * throughput (MB/s), p50/p99 latency and TTFB, errors, and tenpak/nginx
 * ratios; writes the numbers as JSON too. Every response is checked for status and length;
 * range bodies are compared with the source file on a sample.
 *
 *   node scripts/bench/serve/run.mjs [--size 1GiB] [--dir /tmp/tenpak-bench-serve]
 *     [--cache 1536MiB] [--duration 10] [--full 3] [--full64-seconds 60] [--json out.json]
 *
 * Needs nginx (scripts/install-bench-deps.sh installs it) and a built dist/.
 * Only loopback addresses are used; every loop is bounded in count and time.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const { values: opt } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    dir: { type: 'string', default: '/tmp/tenpak-bench-serve' },
    cache: { type: 'string', default: '1536MiB' },
    duration: { type: 'string', default: '10' },
    full: { type: 'string', default: '3' },
    'full64-seconds': { type: 'string', default: '60' },
    json: { type: 'string' },
    'tenpak-port': { type: 'string', default: '7481' },
    'nginx-port': { type: 'string', default: '7482' }
  }
})
const duration = Number(opt.duration) * 1000
const MiB = 1 << 20

function sh (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`)
}

// 1. peers and data
if (spawnSync('sh', ['-c', 'command -v nginx || test -x /usr/sbin/nginx']).status !== 0) sh('bash', [path.join(root, 'scripts/install-bench-deps.sh')])
const nginxBin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx'
const dir = path.resolve(opt.dir)
const srcDir = path.join(dir, 'src')
const file = path.join(srcDir, 'model.safetensors')
const store = path.join(dir, 'store')
fs.mkdirSync(srcDir, { recursive: true })
if (!fs.existsSync(file)) {
  console.error(`generating ${opt.size} bf16 safetensors → ${file}`)
  sh(process.execPath, [path.join(root, 'scripts/gen-safetensors.mjs'), '--size', opt.size, '--dtype', 'bf16', '--out', file])
}
const size = fs.statSync(file).size
if (!fs.existsSync(path.join(store, 'refs/models/bench/model/@heads/main'))) {
  console.error(`adding it to ${store}`)
  sh(process.execPath, [path.join(root, 'bin/tenpak.js'), '--store', store, 'add', 'bench/model', srcDir])
}

// 2. servers
const children = []
const stopAll = () => { for (const c of children) { try { c.kill('SIGTERM') } catch {} } }
process.on('exit', stopAll)
process.on('SIGINT', () => { stopAll(); process.exit(130) })

async function startTenpak () {
  const c = spawn(process.execPath, [path.join(root, 'bin/tenpak.js'), '--store', store, 'serve', '--port', opt['tenpak-port'], '--cache', opt.cache, '--quiet'], { stdio: ['ignore', 'ignore', 'pipe'] })
  children.push(c)
  return await new Promise((resolve, reject) => {
    let buf = ''
    c.stderr.on('data', d => {
      buf += d
      const m = /"msg":"listening","url":"([^"]+)"/.exec(buf)
      if (m != null) resolve(m[1])
    })
    c.on('exit', code => reject(new Error(`tenpak serve exited (${code}): ${buf}`)))
  })
}

async function startNginx () {
  const nd = path.join(dir, 'nginx')
  fs.mkdirSync(nd, { recursive: true })
  const conf = path.join(nd, 'nginx.conf')
  fs.writeFileSync(conf, `worker_processes 1;
daemon off;
pid ${nd}/nginx.pid;
error_log ${nd}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${nd}/body;
  proxy_temp_path ${nd}/proxy;
  fastcgi_temp_path ${nd}/fcgi;
  uwsgi_temp_path ${nd}/uwsgi;
  scgi_temp_path ${nd}/scgi;
  server {
    listen 127.0.0.1:${opt['nginx-port']};
    root ${srcDir};
  }
}
`)
  const c = spawn(nginxBin, ['-c', conf, '-e', path.join(nd, 'error.log')], { stdio: 'ignore' })
  children.push(c)
  const url = `http://127.0.0.1:${opt['nginx-port']}`
  for (let i = 0; i < 50; i++) {
    try { await request(new http.Agent(), `${url}/model.safetensors`, { range: 'bytes=0-0' }); return url } catch { await new Promise(r => setTimeout(r, 100)) }
  }
  throw new Error('nginx did not start')
}

// 3. the client
function request (agent, url, headers = {}, keep, live) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = http.get(url, { agent, headers }, res => {
      const ttfb = performance.now() - t0
      live?.ttfb.push(ttfb)
      let n = 0
      const parts = keep ? [] : undefined
      res.on('data', c => { n += c.length; if (live != null) live.bytes += c.length; parts?.push(c) })
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, ms: performance.now() - t0, ttfb, body: parts && Buffer.concat(parts) }))
      res.on('error', reject)
      res.on('aborted', () => reject(Object.assign(new Error('aborted'), { aborted: true })))
    })
    if (live != null) live.reqs.add(req)
    req.on('close', () => live?.reqs.delete(req))
    req.on('error', reject)
    req.setTimeout(600_000, () => req.destroy(new Error('timeout')))
  })
}

const fd = fs.openSync(file, 'r')
const expect = (start, len) => { const b = Buffer.allocUnsafe(len); fs.readSync(fd, b, 0, len, start); return b }

async function phase (name, url, { concurrency, ranged, count, until, deadline }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const lat = []
  const ttfb = []
  const live = { bytes: 0, reqs: new Set(), ttfb }
  let errors = 0
  let issued = 0
  let stopped = false
  let rng = 12345
  const rand = () => { rng = (rng * 1103515245 + 12345) & 0x7fffffff; return rng / 0x7fffffff }
  const t0 = performance.now()
  // a time-bounded phase of long downloads: stop them all at the deadline, count the bytes they moved
  const timer = deadline != null ? setTimeout(() => { stopped = true; for (const r of live.reqs) r.destroy() }, deadline) : undefined
  const worker = async () => {
    for (;;) {
      if (stopped || (count != null ? issued >= count : performance.now() - t0 >= until)) return
      const i = issued++
      let headers = {}
      let start = 0
      let len = size
      if (ranged) {
        start = Math.floor(rand() * (size - MiB))
        len = MiB
        headers = { range: `bytes=${start}-${start + MiB - 1}` }
      }
      const check = ranged && i % 16 === 0
      try {
        const r = await request(agent, url, headers, check, live)
        if (r.status !== (ranged ? 206 : 200) || r.bytes !== len || (check && !r.body.equals(expect(start, len)))) errors++
        lat.push(r.ms)
      } catch { if (!stopped) errors++ }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  clearTimeout(timer)
  const secs = (performance.now() - t0) / 1000
  agent.destroy()
  const pct = (a, p) => { a.sort((x, y) => x - y); return a.length === 0 ? NaN : a[Math.min(a.length - 1, Math.floor(p * a.length))] }
  const out = { name, requests: lat.length, errors, MBps: live.bytes / 1e6 / secs, p50ms: pct(lat, 0.5), p99ms: pct(lat, 0.99), ttfbP50ms: pct(ttfb, 0.5), ttfbP99ms: pct(ttfb, 0.99) }
  console.error(`  ${name.padEnd(18)} ${url.includes('/resolve/') ? 'tenpak' : 'nginx '} ${out.MBps.toFixed(0).padStart(6)} MB/s  p50 ${out.p50ms.toFixed(1).padStart(8)} ms  p99 ${out.p99ms.toFixed(1).padStart(8)} ms  ttfb p50/p99 ${out.ttfbP50ms.toFixed(1)}/${out.ttfbP99ms.toFixed(1)} ms  ${out.requests} done  ${errors} errors`)
  return out
}

// Phases alternate between the servers (tenpak, then nginx, per phase) so that
// background load on the machine biases neither side.
const PHASES = [
  ['full GET c=1', { concurrency: 1, count: Number(opt.full) }],
  ['full GET c=64', { concurrency: 64, count: 64, deadline: Number(opt['full64-seconds']) * 1000 }],
  ['1 MiB range c=1', { concurrency: 1, ranged: true, until: duration }],
  ['1 MiB range c=64', { concurrency: 64, ranged: true, until: duration }]
]

const tenpakUrl = (await startTenpak()) + '/bench/model/resolve/main/model.safetensors'
const nginxUrl = (await startNginx()) + '/model.safetensors'
// warm: the page cache for nginx, the decoded-chunk cache for tenpak
for (const u of [tenpakUrl, nginxUrl]) { await request(new http.Agent(), u); await request(new http.Agent(), u) }
const tp = []
const ng = []
for (const [name, p] of PHASES) {
  tp.push(await phase(name, tenpakUrl, p))
  ng.push(await phase(name, nginxUrl, p))
}
const health = JSON.parse((await request(new http.Agent(), tenpakUrl.replace(/\/bench\/.*/, '/healthz'), {}, true)).body.toString())
stopAll()

const rows = tp.map((t, i) => ({ phase: t.name, tenpak: t, nginx: ng[i], ratio: t.MBps / ng[i].MBps }))
console.log(`\ntenpak serve vs nginx ${spawnSync(nginxBin, ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', '')}, ${(size / 2 ** 30).toFixed(2)} GiB bf16 safetensors, loopback, cache ${opt.cache}, node ${process.version}`)
console.log('| phase | tenpak MB/s | nginx MB/s | ratio | tenpak p50 / p99 ms | nginx p50 / p99 ms | tenpak TTFB p50 / p99 | nginx TTFB p50 / p99 | done (t/n) | errors (t/n) |')
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
const f = x => Number.isNaN(x) ? '–' : x.toFixed(1)
for (const r of rows) {
  console.log(`| ${r.phase} | ${r.tenpak.MBps.toFixed(0)} | ${r.nginx.MBps.toFixed(0)} | ${r.ratio.toFixed(2)}× | ${f(r.tenpak.p50ms)} / ${f(r.tenpak.p99ms)} | ${f(r.nginx.p50ms)} / ${f(r.nginx.p99ms)} | ${f(r.tenpak.ttfbP50ms)} / ${f(r.tenpak.ttfbP99ms)} | ${f(r.nginx.ttfbP50ms)} / ${f(r.nginx.ttfbP99ms)} | ${r.tenpak.requests}/${r.nginx.requests} | ${r.tenpak.errors}/${r.nginx.errors} |`)
}
console.log(`tenpak decoded-chunk cache: ${JSON.stringify(health.cache)}`)
if (opt.json != null) fs.writeFileSync(opt.json, JSON.stringify({ size, cache: opt.cache, rows, cacheStats: health.cache }, null, 2))
