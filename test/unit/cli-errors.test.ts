/** What an operator reads when something is wrong: listener advice, missing roots, failures, status, help, completion. */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { ListenError, listenAdvice } from '../../src/server/listen-errors.js'
import { RootsError, checkRoots, rootProblemLine } from '../../src/server/roots-check.js'
import { ConfigError, loadConfig } from '../../src/server/config.js'
import { debugWanted, describeFailure, RemoteError, UsageError } from '../../src/cli/run.js'
import { renderStatus, type StatusData } from '../../src/cli/status.js'
import { buildProgram } from '../../src/cli/program.js'
import { bashCompletion } from '../../src/cli/completion.js'
import { EXAMPLES } from '../../src/cli/help.js'
import { VERSION } from '../../src/server/version.js'

const tmp = (t: TestContext): string => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-cli-errors-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('a listener that cannot bind: the key, the address and the fix', () => {
  const any = { host: '0.0.0.0', port: 8443 }
  assert.equal(
    listenAdvice('https', any, 'EADDRINUSE'),
    'listen.https 0.0.0.0:8443 is in use (another Outpost or web server?): free it or change listen.https',
  )
  assert.equal(
    listenAdvice('https', { host: '0.0.0.0', port: 443 }, 'EACCES'),
    'listen.https 0.0.0.0:443: ports below 1024 need root or CAP_NET_BIND_SERVICE (the systemd unit grants it): run with it, or set listen.https to a port above 1023',
  )
  assert.equal(
    listenAdvice('http', { host: '10.9.9.9', port: 8080 }, 'EADDRNOTAVAIL'),
    'listen.http 10.9.9.9:8080: this host has no address 10.9.9.9: set listen.http to one of its addresses, or :8080 for every address',
  )
  assert.equal(
    listenAdvice('push', { host: '::1', port: 5000 }, 'EADDRINUSE'),
    'listen.push [::1]:5000 is in use (another Outpost or web server?): free it or change listen.push',
  )
  assert.equal(
    listenAdvice('ntp', { host: '0.0.0.0', port: 123 }, 'EADDRINUSE'),
    'listen.ntp UDP 0.0.0.0:123 is in use (another chronyd or ntpd?): free it or change listen.ntp',
  )
  const cause = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:5000'), { code: 'EADDRINUSE' })
  const err = new ListenError('push', { host: '127.0.0.1', port: 5000 }, cause)
  assert.equal(err.code, 'EADDRINUSE')
  assert.ok(err.message.startsWith('listen.push (127.0.0.1:5000): '))
  assert.deepEqual(describeFailure(err), {
    lines: ['listen.push 127.0.0.1:5000 is in use (another Outpost or web server?): free it or change listen.push'],
    code: 2,
  })
})

test('configured roots that are not there are named with their key and path', (t) => {
  const dir = tmp(t)
  mkdirSync(join(dir, 'bundle/registry'), { recursive: true })
  mkdirSync(join(dir, 'not-a-bundle/other'), { recursive: true })
  mkdirSync(join(dir, 'files'))
  writeFileSync(join(dir, 'a-file'), 'x')
  const config = (flags: Record<string, unknown>) =>
    loadConfig({ env: {}, noDefaultFile: true, flags: { data_dir: join(dir, 'data'), ...flags } }).config
  assert.deepEqual(
    checkRoots(config({ bundle: join(dir, 'bundle'), files: { roots: [join(dir, 'files')] }, registry: { roots: [join(dir, 'files')] } })),
    [],
  )
  const problems = checkRoots(
    config({
      bundle: join(dir, 'not-a-bundle'),
      registry: { roots: [join(dir, 'nope')], oci_layouts: [`x=${join(dir, 'a-file')}`], images_origin: [join(dir, 'files')] },
      files: { roots: [`/f=${join(dir, 'a-file/below')}`] },
    }),
  )
  assert.deepEqual(problems.map(rootProblemLine), [
    `bundle: ${join(dir, 'not-a-bundle')} holds neither registry/ nor nginx/: not a kubeplay bundle (point bundle at the folder that holds them)`,
    `registry.roots: ${join(dir, 'nope')} does not exist`,
    `registry.oci_layouts: ${join(dir, 'a-file')} is a file, not a folder`,
    `registry.images_origin: ${join(dir, 'files')} is a folder, not a file`,
    `files.roots: ${join(dir, 'a-file/below')} does not exist (a part of the path is a file)`,
  ])
  const err = new RootsError(problems.slice(1, 2), 'Fix the path.')
  assert.ok(err instanceof ConfigError)
  assert.deepEqual(describeFailure(err), {
    lines: [`registry.roots: ${join(dir, 'nope')} does not exist`, 'Fix the path.'],
    code: 2,
    each: true,
  })
})

test('failures: exit 2 for configuration, 1 for a server that does not answer; stack traces only at debug', () => {
  assert.deepEqual(describeFailure(new ConfigError('f.yaml:2: tls.server_days: expected…')), {
    lines: ['invalid configuration', 'f.yaml:2: tls.server_days: expected…'],
    code: 2,
  })
  assert.deepEqual(describeFailure(new RemoteError('nothing answers at http://127.0.0.1:1 (connection refused)')), {
    lines: ['nothing answers at http://127.0.0.1:1 (connection refused)'],
    code: 1,
  })
  assert.deepEqual(describeFailure(new UsageError('/nonexistent does not exist')), { lines: ['/nonexistent does not exist'], code: 2 })
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT' })
  assert.deepEqual(describeFailure(enoent), { lines: ["ENOENT: no such file or directory, open '/x'"], code: 1 })
  assert.equal(describeFailure(new TypeError('x is undefined')), null, 'an error of Outpost itself')
  assert.equal(debugWanted(['node', 'outpost', 'serve'], {}), false)
  assert.equal(debugWanted(['node', 'outpost', 'serve', '--log-level', 'debug'], {}), true)
  assert.equal(debugWanted(['node', 'outpost', 'serve', '--log-level=trace'], {}), true)
  assert.equal(debugWanted(['node', 'outpost', 'serve', '--log-level', 'info'], {}), false)
  assert.equal(debugWanted(['node', 'outpost', 'ls'], { OUTPOST_LOG_LEVEL: 'debug' }), true)
})

const status = (over: Partial<StatusData> = {}): StatusData => ({
  url: 'http://127.0.0.1:8080',
  readiness: {
    ready: true,
    checks: [{ name: 'catalog scan', ok: true }],
    outpost: {
      version: '1.2.3',
      startedAt: '2026-01-01T00:00:00.123Z',
      listeners: [
        { name: 'http', address: '0.0.0.0:8080' },
        { name: 'ntp', address: 'udp 0.0.0.0:123' },
      ],
      certificate: { source: 'generated', subject: 'CN=outpost.registry.local', notAfter: '2026-03-02T00:00:00.000Z' },
    },
  },
  inventory: {
    images: [],
    files: [{ prefix: '/', path: '/b/nginx', count: 3, bytes: 2048 }],
    trees: [],
    totals: { repositories: 2, tags: 3, imageBytes: 3 * 1024 * 1024, files: 3, fileBytes: 2048, trees: 1, treesFailing: 0 },
    scan: { complete: true, finishedAt: null, ms: 1 },
  },
  nodes: {
    now: '',
    thresholds: { offsetMs: 500, staleAfterS: 86400 },
    count: 2,
    flagged: 1,
    nodes: [
      { hostname: 'node-a', clockOffsetMs: 12.5, flags: [], lastSeen: '2026-01-02T00:00:00.000Z' },
      { hostname: 'node-b', clockOffsetMs: -812, flags: ['clock-skew'], lastSeen: '2026-01-02T00:00:00.000Z' },
    ] as never,
  },
  misses: [
    {
      kind: 'image',
      ref: 'registry.k8s.io/pause:3.8',
      count: 12,
      firstSeen: '',
      lastSeen: '',
      client: null,
      userAgent: null,
      detail: null,
    },
  ],
  ...over,
})

test('status: one screen, ready or not and why', () => {
  const now = new Date('2026-01-31T00:00:00Z')
  const ready = renderStatus(status(), now)
  assert.equal(
    ready,
    [
      'Outpost 1.2.3 at http://127.0.0.1:8080: ready',
      'Up since      2026-01-01T00:00:00Z',
      'Listeners     http 0.0.0.0:8080, ntp udp 0.0.0.0:123',
      'Images        2 repositories, 3 tags, 3.0 MiB',
      'Files         3 files, 2.0 KiB in 1 root',
      'Package trees 1, all intact',
      'Nodes         2 checked in, clock skew up to −812 ms, 1 flagged:',
      '                node-b: clock −812 ms',
      'Misses        1 distinct (GET /inventory/misses), most asked:',
      '                image    12×  registry.k8s.io/pause:3.8',
      'Certificate   CN=outpost.registry.local (generated), expires 2026-03-02: 30 days left',
      '',
    ].join('\n'),
  )
  const failing = Array.from({ length: 12 }, (_, i) => ({ name: `files /r${i}`, ok: false, detail: `/srv/r${i}: ENOENT` }))
  const notReady = renderStatus(
    status({ readiness: { ...status().readiness, ready: false, checks: failing }, inventory: 'unknown (HTTP 503)' }),
    now,
  )
  const lines = notReady.trimEnd().split('\n')
  assert.equal(lines[0], 'Outpost 1.2.3 at http://127.0.0.1:8080: NOT READY')
  assert.equal(lines[1], '  files /r0: /srv/r0: ENOENT')
  assert.ok(lines.includes('  … and 4 more'))
  assert.ok(lines.includes('Inventory     unknown (HTTP 503)'))
  assert.ok(lines.length <= 24, `one screen: ${lines.length} lines`)
})

const commands = (cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> =>
  cmd.commands.flatMap((c) => [{ path: [...path, c.name()].join(' '), cmd: c }, ...commands(c, [...path, c.name()])])

test('every subcommand has examples in its help; flags show their defaults', () => {
  const program = buildProgram()
  for (const { path, cmd } of commands(program)) {
    assert.ok(EXAMPLES[path], `examples for ${path}`)
    let help = ''
    cmd.configureOutput({ writeOut: (s) => (help += s) })
    cmd.outputHelp()
    assert.match(help, /\nExamples:\n {2}# /, path)
    for (const [, line] of EXAMPLES[path]!) assert.ok(line.startsWith(`outpost ${path}`) || line.includes(`outpost ${path}`), line)
  }
  const help = (path: string): string =>
    commands(program)
      .find((c) => c.path === path)!
      .cmd.helpInformation()
  assert.match(help('serve'), /--http <addr:port\|off> +plain HTTP listener \(default:\s+0\.0\.0\.0:8080[;)]/)
  assert.match(help('serve'), /--allow-missing-roots \[true\|false\]/)
  assert.match(help('serve'), /--data-dir <dir> +catalog and certificates \(default:\s+\/var\/lib\/outpost;/)
  assert.match(help('demo'), /--http <addr:port\|off> +plain HTTP listener \(default:\s+127\.0\.0\.1:8080\)/)
  assert.match(help('demo'), /--data-dir <dir> +catalog and certificates \(default:\s+\.\/\.outpost\)/)
  assert.match(help('status'), /--timeout <seconds>/)
  assert.match(program.helpInformation() + '', /status \[options\] \[url\]/)
})

test('the version is the package version, on the program', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  assert.equal(VERSION, pkg.version)
  assert.equal(buildProgram().version(), pkg.version)
})

test('bash completion: subcommands, their flags, choices, folders', (t) => {
  const script = bashCompletion(buildProgram())
  const dir = tmp(t)
  mkdirSync(join(dir, 'bundle-one'))
  const file = join(dir, 'completion.bash')
  writeFileSync(file, script)
  const cases: Array<[string[], string]> = [
    [['outpost', ''], 'serve demo ls certs import verify check check-config status completion help'],
    [['outpost', 'st'], 'status'],
    [['outpost', 'serve', '--ht'], '--http --https --htpasswd'],
    [['outpost', 'serve', '--log-level', 'd'], 'debug'],
    [['outpost', 'serve', '--allow-missing-roots', ''], 'true false'],
    [['outpost', 'ls', '--'], '--config --bundle --registry-root --oci-layout --images-origin --files-root --help'],
    [['outpost', 'certs', ''], 'rotate-ca'],
    [['outpost', 'certs', 'rotate-ca', '--d'], '--data-dir --domain'],
    [['outpost', 'serve', '--config', 'serve', '--tls-c'], '--tls-cert --tls-ca'],
    [['outpost', 'verify', '--bundle', join(dir, 'bundle-o')], join(dir, 'bundle-one')],
    [['outpost', 'completion', ''], 'bash'],
  ]
  const lines = cases.map(
    ([words]) =>
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _outpost_complete; echo "\${COMPREPLY[*]}"`,
  )
  const r = spawnSync('bash', ['-c', `set -u; source ${file}\n${lines.join('\n')}`], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(
    r.stdout.split('\n').slice(0, -1),
    cases.map(([, want]) => want),
  )
})
