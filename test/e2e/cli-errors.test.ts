/**
 * The command line when something is wrong, as an operator meets it: each
 * message asserted as text with its exit status (2 for configuration and
 * start-up errors, 1 for checks that found problems), no stack traces, and
 * `outpost status` against a running Outpost (not ready, then ready) and
 * against an address where nothing answers.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { createSocket } from 'node:dgram'
import { join } from 'node:path'
import { tempDir } from '../helpers/server.js'
import { freePort, run, startProcess, waitFor, portOpen } from '../helpers/procs.js'
import { logRecords, stderrText } from '../helpers/logs.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
/** The environment without OUTPOST_ settings of the shell running the tests. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OUTPOST_')))
const outpost = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [...CLI, ...args], { env: { ...CLEAN_ENV, ...env } })
/** Listeners of a serve that is not about listening. */
const QUIET = ['--https', 'off', '--push', 'off', '--ntp', 'off']
const STACK = /^\s+at /m

describe('outpost when something is wrong', () => {
  let dir: string
  before(() => {
    dir = tempDir()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('serve: a configured root that does not exist stops start-up naming the key and the path (exit 2)', async () => {
    const bundle = join(dir, 'resourcez')
    const r = await outpost([
      'serve',
      '--config',
      '/dev/null',
      '--bundle',
      bundle,
      '--data-dir',
      join(dir, 'd1'),
      '--http',
      '127.0.0.1:0',
      ...QUIET,
    ])
    assert.equal(r.status, 2)
    assert.equal(
      stderrText(r.stderr),
      `outpost: bundle: ${bundle} does not exist\n` +
        'outpost: Fix the path, or start with --allow-missing-roots (allow_missing_roots: true) to serve without it until it appears.\n',
    )
    assert.doesNotMatch(r.stdout, /listening/, 'nothing was bound')
    const file = join(dir, 'roots.yaml')
    writeFileSync(file, `files:\n  roots: ["/x=${join(dir, 'no-files')}"]\nregistry:\n  images_origin: [${join(dir, 'origin.yaml')}]\n`)
    const fromFile = await outpost(['serve', '--config', file, '--data-dir', join(dir, 'd1'), '--http', '127.0.0.1:0', ...QUIET])
    assert.equal(fromFile.status, 2)
    assert.deepEqual(stderrText(fromFile.stderr).split('\n').slice(0, 2), [
      `outpost: registry.images_origin: ${join(dir, 'origin.yaml')} does not exist`,
      `outpost: files.roots: ${join(dir, 'no-files')} does not exist`,
    ])
  })

  test('verify and ls on a path that does not exist, or a server that does not answer: one line, no stack', async () => {
    const verify = await outpost(['verify', '--config', '/dev/null', '--bundle', '/nonexistent', '--data-dir', join(dir, 'd2')])
    assert.equal(verify.status, 2)
    assert.equal(verify.stdout, '')
    assert.equal(stderrText(verify.stderr), 'outpost: bundle: /nonexistent does not exist\n')
    const lsRoots = await outpost(['ls', '--config', '/dev/null', '--files-root', `/x=${join(dir, 'no-files')}`])
    assert.equal(lsRoots.status, 2)
    assert.equal(stderrText(lsRoots.stderr), `outpost: files.roots: ${join(dir, 'no-files')} does not exist\n`)
    const ls = await outpost(['ls', '--config', '/dev/null', '/nonexistent'])
    assert.equal(ls.status, 2)
    assert.equal(stderrText(ls.stderr), 'outpost: /nonexistent does not exist\n')
    const notBundle = await outpost(['ls', '--config', '/dev/null', dir])
    assert.equal(notBundle.status, 2)
    assert.equal(
      stderrText(notBundle.stderr),
      `outpost: ${dir} holds neither registry/ nor nginx/: not a kubeplay bundle (point bundle at the folder that holds them)\n`,
    )
    const port = await freePort()
    const dead = await outpost(['ls', `http://127.0.0.1:${port}`])
    assert.equal(dead.status, 1)
    assert.equal(stderrText(dead.stderr), `outpost: nothing answers at http://127.0.0.1:${port} (connection refused)\n`)
    const portOne = await outpost(['ls', 'http://127.0.0.1:1'])
    assert.equal(portOne.status, 1)
    assert.equal(stderrText(portOne.stderr), 'outpost: nothing answers at http://127.0.0.1:1 (connection refused)\n')
  })

  test('a config file with a typo and a bad value: file, line, nearest key, the value in words (exit 2)', async () => {
    const file = join(dir, 'typo.yaml')
    writeFileSync(file, ['registry:', '  rots: [/srv/registry]', 'tls:', '  server_days: many', ''].join('\n'))
    const r = await outpost(['serve', '--config', file, '--data-dir', join(dir, 'd3'), '--http', '127.0.0.1:0', ...QUIET])
    assert.equal(r.status, 2)
    assert.equal(
      stderrText(r.stderr),
      [
        'outpost: invalid configuration',
        `${file}:2: registry: unknown key(s) "rots" (did you mean registry.roots?)`,
        `${file}:4: tls.server_days: expected a whole number of days, got "many"`,
        '',
      ].join('\n'),
    )
    const check = await outpost(['check-config', file])
    assert.equal(check.status, 1, 'check-config: a check that found problems')
    assert.match(stderrText(check.stderr), new RegExp(`^${file}:2: registry: unknown key`))
    const flag = await outpost(['serve', '--frobnicate'])
    assert.equal(flag.status, 2)
    assert.equal(stderrText(flag.stderr), "error: unknown option '--frobnicate'\n")
  })

  test('a listener address in use names the listener, the key and the fix (exit 2)', async (t) => {
    const taken: Server = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    t.after(() => taken.close())
    const port = (taken.address() as { port: number }).port
    const r = await outpost(['serve', '--config', '/dev/null', '--data-dir', join(dir, 'd4'), '--http', `127.0.0.1:${port}`, ...QUIET])
    assert.equal(r.status, 2)
    assert.equal(
      stderrText(r.stderr),
      `outpost: listen.http 127.0.0.1:${port} is in use (another Outpost or web server?): free it or change listen.http\n`,
    )
  })

  test('a port below 1024 without privileges: CAP_NET_BIND_SERVICE or another port (exit 2)', async (t) => {
    const unprivileged = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
    if (process.getuid?.() !== 0 || !(unprivileged > 80)) {
      t.skip('needs root (to run the CLI as nobody) and ports below 1024 privileged')
      return
    }
    const data = join(dir, 'd5')
    mkdirSync(data)
    chmodSync(dir, 0o755)
    chmodSync(data, 0o777)
    const r = await run('setpriv', [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      ...CLI,
      'serve',
      '--config',
      '/dev/null',
      '--data-dir',
      data,
      '--http',
      '127.0.0.1:80',
      ...QUIET,
    ])
    assert.equal(r.status, 2, stderrText(r.stderr))
    assert.equal(
      stderrText(r.stderr),
      'outpost: listen.http 127.0.0.1:80: ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit grants it): run with it, or set listen.http to a port above 1023\n',
    )
  })

  test('an unexpected error is one line, its stack trace only with log level debug', async () => {
    const data = join(dir, 'd6')
    mkdirSync(data)
    writeFileSync(join(data, 'catalog.db'), 'not a database\n')
    mkdirSync(join(dir, 'b6/nginx'), { recursive: true })
    const args = ['verify', '--config', '/dev/null', '--bundle', join(dir, 'b6'), '--data-dir', data]
    const r = await outpost(args)
    assert.equal(r.status, 1)
    assert.equal(
      stderrText(r.stderr),
      'outpost: file is not a database (run with --log-level debug, or OUTPOST_LOG_LEVEL=debug, for the stack trace)\n',
    )
    const debug = await outpost(args, { OUTPOST_LOG_LEVEL: 'debug' })
    assert.equal(debug.status, 1)
    assert.match(stderrText(debug.stderr), /^outpost: SqliteError: file is not a database\n/)
    assert.match(stderrText(debug.stderr), STACK)
  })

  test('status against a running Outpost: not ready and why, then ready; against a dead address one line', async (t) => {
    const bundle = join(dir, 'later')
    const http = await freePort()
    // Port 123 is often held by chronyd: a UDP port in use turns time off with one log line, no stack.
    const udp = createSocket('udp4')
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r))
    t.after(() => udp.close())
    const ntp = udp.address().port
    const proc = startProcess(
      process.execPath,
      [
        ...CLI,
        'serve',
        '--config',
        '/dev/null',
        '--bundle',
        bundle,
        '--allow-missing-roots',
        '--data-dir',
        join(dir, 'd7'),
        '--http',
        `127.0.0.1:${http}`,
        '--https',
        'off',
        '--push',
        'off',
        '--ntp',
        `127.0.0.1:${ntp}`,
      ],
      { env: CLEAN_ENV },
    )
    t.after(() => proc.stop())
    await waitFor(() => portOpen(http), `serve to listen: ${proc.output()}`, 30000)
    // Log lines are written asynchronously: wait for the one that follows the listeners.
    await waitFor(() => proc.output().includes('"msg":"listening"'), `the listening log line: ${proc.output()}`)
    const logs = logRecords(proc.output()) as Record<string, unknown>[]
    const missing = logs.find((l) => l.key === 'bundle')
    assert.equal(missing?.level, 'warn')
    assert.equal(missing?.msg, `bundle: ${bundle} does not exist: serving without it until it appears (allow_missing_roots)`)
    const sntp = logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('SNTP is off'))
    assert.ok(sntp, proc.output())
    assert.equal(sntp.code, 'EADDRINUSE')
    assert.equal(sntp.err, undefined, 'no error object, so no stack trace')
    assert.doesNotMatch(proc.output(), STACK)

    const url = `http://127.0.0.1:${http}`
    const notReady = await outpost(['status', url])
    assert.equal(notReady.status, 1, stderrText(notReady.stderr))
    const lines = notReady.stdout.trimEnd().split('\n')
    assert.match(lines[0]!, new RegExp(`^Outpost \\d+\\.\\d+\\.\\d+ at ${url}: NOT READY$`))
    assert.ok(lines.includes(`  files /: ${join(bundle, 'nginx')}: ENOENT`), notReady.stdout)
    assert.ok(
      lines.some((l) => /^ {2}store registry2:.*later\/registry: .*ENOENT$/.test(l)),
      notReady.stdout,
    )
    assert.ok(lines.includes(`Listeners     http 127.0.0.1:${http}`), notReady.stdout)
    assert.ok(lines.length <= 24)

    mkdirSync(join(bundle, 'registry/docker/registry/v2'), { recursive: true })
    mkdirSync(join(bundle, 'nginx'))
    writeFileSync(join(bundle, 'nginx/hello.txt'), 'hello\n')
    // The default address is the configured HTTP listener on loopback.
    let ready = await outpost(['status', '--config', '/dev/null', '--http', `0.0.0.0:${http}`])
    for (const deadline = Date.now() + 15000; ready.status !== 0 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 200))
      ready = await outpost(['status', url])
    }
    assert.equal(ready.status, 0, ready.stdout + stderrText(ready.stderr))
    assert.match(ready.stdout, new RegExp(`^Outpost \\d+\\.\\d+\\.\\d+ at ${url}: ready\n`))
    assert.match(ready.stdout, /\nImages +0 repositories, 0 tags, 0 B\n/)
    assert.match(ready.stdout, /\nNodes +none checked in yet\n/)
    assert.match(ready.stdout, /\nCertificate +none \(HTTPS is off\)\n/)
    assert.equal(stderrText(ready.stderr), '')

    await proc.stop()
    const dead = await outpost(['status', url])
    assert.equal(dead.status, 1)
    assert.equal(dead.stdout, '')
    assert.equal(stderrText(dead.stderr), `outpost: nothing answers at ${url} (connection refused)\n`)
  })
})
