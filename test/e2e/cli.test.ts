/** The command line as an operator uses it: start-up errors, demo, graceful stop. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import http from 'node:http'
import { tempDir } from '../helpers/server.js'
import { freePort, run, startProcess, waitFor, portOpen } from '../helpers/procs.js'
import { logRecords, stderrText } from '../helpers/logs.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']

test('an invalid config stops start-up naming the key', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'listen:\n  http: 127.0.0.1:notaport\nregistry:\n  rootz: []\n')
  const r = await run(process.execPath, [...CLI, 'serve', '--config', file])
  assert.equal(r.status, 2)
  assert.match(stderrText(r.stderr), /listen\.http: "127\.0\.0\.1:notaport" is not ADDR:PORT/)
  assert.match(stderrText(r.stderr), /registry: unknown key\(s\) "rootz"/)
  const env = await run(process.execPath, [...CLI, 'serve', '--http', 'nonsense'], { env: { ...process.env, OUTPOST_LOG_LEVEL: 'loud' } })
  assert.equal(env.status, 2)
  assert.match(stderrText(env.stderr), /environment: log_level/)
})

test('a push listener off loopback without htpasswd, or an htpasswd that is not bcrypt, stops start-up', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const quiet = ['--data-dir', join(dir, 'data'), '--http', '127.0.0.1:0', '--https', 'off', '--ntp', 'off']
  const open = await run(process.execPath, [...CLI, 'serve', '--config', '/dev/null', ...quiet, '--push', '0.0.0.0:0'])
  assert.equal(open.status, 2)
  assert.match(stderrText(open.stderr), /listen\.push: 0\.0\.0\.0 is not a loopback address/)
  const file = join(dir, 'htpasswd')
  writeFileSync(file, '# writers\nalice:$apr1$mWmwQC8o$TK6Pe4c1ehTiA5MHvpnIg0\n')
  const md5 = await run(process.execPath, [...CLI, 'serve', '--config', '/dev/null', ...quiet, '--push', 'off', '--htpasswd', file])
  assert.equal(md5.status, 2)
  assert.match(
    stderrText(md5.stderr),
    new RegExp(`registry\\.auth\\.htpasswd: ${file}:2: user "alice": an Apache MD5 \\(\\$apr1\\$\\) hash; only bcrypt`),
  )
  assert.doesNotMatch(md5.stderr, /mWmwQC8o/)
})

test('--version prints the package version', async () => {
  const r = await run(process.execPath, [...CLI, '--version'])
  assert.equal(r.status, 0)
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/)
})

test('demo serves, logs JSON lines, and SIGTERM finishes in-flight downloads then exits 0', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const proc = startProcess(process.execPath, [
    ...CLI,
    'demo',
    '--data-dir',
    join(dir, 'data'),
    '--http',
    `127.0.0.1:${port}`,
    '--https',
    '127.0.0.1:0',
    '--ntp',
    'off',
    '--push',
    'off',
  ])
  t.after(() => proc.stop())
  await waitFor(() => portOpen(port), `demo to listen: ${proc.output()}`, 30000)
  const get = (path: string) =>
    new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }))
          res.on('error', reject)
        })
        .on('error', reject)
    })
  const catalog = await get('/v2/_catalog')
  assert.deepEqual(JSON.parse(catalog.body.toString()).repositories, ['library/hello', 'library/pause'])
  const viaNs = await get('/v2/pause/manifests/3.9?ns=registry.k8s.io')
  assert.equal(viaNs.status, 200)

  // A slow client: request a manifest but keep a second request in flight across SIGTERM.
  const inflight = new Promise<number>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/library/hello/tags/list' }, (res) => {
      res.pause()
      setTimeout(() => {
        res.resume()
        res.on('data', () => {})
        res.on('end', () => resolve(res.statusCode!))
      }, 300)
    })
    req.on('error', reject)
  })
  await new Promise((r) => setTimeout(r, 50))
  proc.child.kill('SIGTERM')
  assert.equal(await inflight, 200)
  const code = await new Promise<number | null>((resolve) => {
    if (proc.child.exitCode !== null) resolve(proc.child.exitCode)
    else proc.child.once('exit', (c) => resolve(c))
  })
  assert.equal(code, 0)
  const access = logRecords(proc.output()).filter((l) => l.sub === 'access')
  assert.ok(access.length >= 3)
  for (const a of access)
    for (const k of ['method', 'path', 'status', 'bytes', 'ms', 'client']) assert.ok(k in a, `${k} in ${JSON.stringify(a)}`)
  assert.ok(access.find((a) => a.path === '/v2/_catalog' && a.status === 200 && a.bytes > 0))
  assert.match(proc.output(), /"msg":"stopped"/)
})
