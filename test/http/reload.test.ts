/**
 * Reload in-process: a re-read config file adds and removes roots, changes
 * mappings, the log level, access lines and certificate names, all without
 * a restart; a
 * listener or data_dir change, an invalid file or a root that cannot be
 * read is refused and the server keeps what it had. Also the access line's
 * fields.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { X509Certificate } from 'node:crypto'
import { connect } from 'node:tls'
import request from 'supertest'
import { buildRegistry2 } from '../helpers/fixtures.js'
import { Registry2Writer } from '../../src/images/index.js'
import { makeImage } from '../../src/demo/images.js'
import { tempDir } from '../helpers/server.js'
import { logRecords } from '../helpers/logs.js'
import { waitFor } from '../helpers/procs.js'
import { createLogger, loadConfig, startServer, type RunningServer } from '../../src/server/index.js'

describe('reload: the config file read again while serving', () => {
  let dir: string
  let file: string
  let running: RunningServer
  let url: string
  let out = ''
  const records = () => logRecords(out)
  const load = () => loadConfig({ file, env: {}, noDefaultFile: true })
  const base = () => [
    'data_dir: data',
    'listen: { http: "127.0.0.1:0", https: off, push: off, ntp: off }',
    'registry:',
    '  roots: [registry]',
  ]
  const write = (lines: string[]) => writeFileSync(file, [...lines, ''].join('\n'))
  const settle = () => new Promise((r) => setTimeout(r, 50))

  before(async () => {
    dir = tempDir()
    await buildRegistry2(join(dir, 'registry'))
    new Registry2Writer(join(dir, 'extra')).putImage(
      'extra/app',
      await makeImage({ architecture: 'amd64', format: 'oci', files: { app: 'v1\n' } }),
      ['1.0'],
    )
    for (const [name, body] of [
      ['a/one.txt', 'one\n'],
      ['b/two.txt', 'two\n'],
    ]) {
      mkdirSync(join(dir, name, '..'), { recursive: true })
      writeFileSync(join(dir, name), body)
    }
    file = join(dir, 'outpost.yaml')
    write([...base(), 'files:', '  roots: [/a=a]'])
    const sink = new PassThrough()
    sink.on('data', (c) => (out += String(c)))
    const { config } = load()
    running = await startServer(config, createLogger(config.log_level, sink, 'json'))
    url = running.listeners[0]!.url
    await running.scanned
  })
  after(async () => {
    await running.close(1000)
    rmSync(dir, { recursive: true, force: true })
  })

  test('an access line: method, path, status, bytes, ms, client, listener; route and user agent only at debug', async () => {
    out = ''
    await request(url).get('/a/one.txt').set('User-Agent', 'test-agent/1').expect(200, 'one\n')
    await settle()
    const line = out.split('\n').find((l) => l.includes('"sub":"access"'))!
    assert.ok(line.startsWith('<6>{'), line)
    const r = records().find((l) => l.sub === 'access')!
    assert.deepEqual(Object.keys(r).sort(), [
      'bytes',
      'client',
      'level',
      'listener',
      'method',
      'ms',
      'msg',
      'path',
      'status',
      'sub',
      'time',
    ])
    assert.deepEqual([r.method, r.path, r.status, r.bytes, r.client, r.listener], ['GET', '/a/one.txt', 200, 4, '127.0.0.1', 'http'])
    assert.ok(line.length < 200, line)
  })

  test('a second registry root: its images are served and listed', async () => {
    await request(url).get('/v2/extra/app/manifests/1.0').expect(404)
    write([...base().slice(0, -1), '  roots: [registry, extra]', 'files:', '  roots: [/a=a]'])
    assert.deepEqual(await running.reload(load), { applied: true, changed: ['registry.roots'] })
    await request(url).get('/v2/extra/app/manifests/1.0').expect(200)
    await waitFor(
      async () =>
        JSON.stringify((await request(url).get('/inventory')).body.images.map((i: { repository: string }) => i.repository)).includes(
          'extra/app',
        ),
      'extra/app in the inventory',
    )
    assert.ok(records().some((l) => l.msg === 'image store added' && l.store === `registry2:${join(dir, 'extra')}`))
    write([...base(), 'files:', '  roots: [/a=a]'])
    assert.deepEqual(await running.reload(load), { applied: true, changed: ['registry.roots'] })
    await request(url).get('/v2/extra/app/manifests/1.0').expect(404)
    const images = (await request(url).get('/inventory')).body.images.map((i: { repository: string }) => i.repository)
    assert.ok(!images.includes('extra/app'), images.join(' '))
  })

  test('a second file root, a mapping, log level debug and access lines off: applied, and logged', async () => {
    await request(url).get('/b/two.txt').expect(404)
    await request(url).get('/v2/pause/manifests/3.9?ns=registry.k8s.io').expect(404)
    write([
      'log_level: debug',
      'log:',
      '  access: false',
      ...base(),
      '  mappings: ["registry.k8s.io/=library/"]',
      'files:',
      '  roots: [/a=a, /b=b]',
    ])
    // The two requests' access lines are handed on once per event-loop turn: let them arrive first.
    await settle()
    out = ''
    const result = await running.reload(load)
    assert.deepEqual(result, { applied: true, changed: ['log_level', 'log.access', 'registry.mappings', 'files.roots'] })
    await request(url).get('/b/two.txt').expect(200, 'two\n')
    await request(url).get('/a/one.txt').expect(200, 'one\n')
    await request(url).get('/v2/pause/manifests/3.9?ns=registry.k8s.io').expect(200)
    await settle()
    const logged = records()
    const reloaded = logged.find((l) => l.msg === 'configuration reloaded')
    assert.deepEqual(reloaded?.changed, ['log_level', 'log.access', 'registry.mappings', 'files.roots'])
    assert.ok(logged.find((l) => l.msg === 'file root added' && l.prefix === '/b'))
    assert.deepEqual(
      logged.filter((l) => l.msg === 'setting changed').map((l) => [l.key, l.from, l.to]),
      [
        ['log_level', 'info', 'debug'],
        ['log.access', true, false],
        ['registry.mappings', [], [{ from: 'registry.k8s.io/', to: 'library/' }]],
        [
          'files.roots',
          [{ prefix: '/a', path: join(dir, 'a') }],
          [
            { prefix: '/a', path: join(dir, 'a') },
            { prefix: '/b', path: join(dir, 'b') },
          ],
        ],
      ],
    )
    // debug now: the registry says how it resolved the name; access lines are off.
    assert.ok(logged.find((l) => l.level === 'debug' && l.msg === 'resolved repository'))
    assert.equal(logged.filter((l) => l.sub === 'access').length, 0)
    // The catalog and readiness follow the new roots.
    const counts = async () =>
      JSON.stringify(
        ((await request(url).get('/inventory')).body.files as Array<{ prefix: string; count: number }>).map((f) => [f.prefix, f.count]),
      )
    await waitFor(async () => (await counts()) === '[["/a",1],["/b",1]]', `the new root in the inventory: ${await counts()}`)
    const ready = await request(url).get('/readyz?verbose')
    assert.ok(ready.body.checks.some((c: { name: string }) => c.name === 'files /b'))
  })

  test('a root taken away stops being served and leaves the inventory', async () => {
    write([
      'log_level: debug',
      'log:',
      '  access: false',
      ...base(),
      '  mappings: ["registry.k8s.io/=library/"]',
      'files:',
      '  roots: [/b=b]',
    ])
    const result = await running.reload(load)
    assert.deepEqual(result, { applied: true, changed: ['files.roots'] })
    await request(url).get('/a/one.txt').expect(404)
    await request(url).get('/b/two.txt').expect(200)
    const inventory = await request(url).get('/inventory').expect(200)
    assert.deepEqual(
      inventory.body.files.map((f: { prefix: string }) => f.prefix),
      ['/b'],
    )
    assert.ok(records().find((l) => l.msg === 'file root removed' && l.prefix === '/a'))
  })

  test('a listener change is refused, named, and nothing else of that file applies', async () => {
    write([
      'log_level: info',
      'data_dir: data',
      'listen: { http: "127.0.0.1:1", https: off, push: off, ntp: off }',
      'registry:',
      '  roots: [registry]',
      'files:',
      '  roots: [/a=a]',
    ])
    out = ''
    const result = await running.reload(load)
    assert.equal(result.applied, false)
    assert.match(result.refused!, /^listen\.http changed from 127\.0\.0\.1:0 to 127\.0\.0\.1:1: a listener address change needs a restart/)
    await settle()
    const refusal = records().find((l) => l.level === 'error')
    assert.match(refusal!.msg, /^configuration not reloaded: listen\.http changed .*still serving the configuration read before$/)
    assert.ok(
      out
        .split('\n')
        .find((l) => l.includes('configuration not reloaded'))!
        .startsWith('<3>'),
    )
    await request(url).get('/a/one.txt').expect(404)
    await request(url).get('/b/two.txt').expect(200)
    assert.equal(running.layout.filesRoots.length, 1)
  })

  test('data_dir and log.format need a restart too', async () => {
    write(['data_dir: other', 'log: { format: pretty }', 'listen: { http: "127.0.0.1:0", https: off, push: off, ntp: off }'])
    const result = await running.reload(load)
    assert.equal(result.applied, false)
    assert.match(result.refused!, /data_dir changed from .*\/data to .*\/other: /)
    assert.match(result.refused!, /log\.format changed from auto to pretty: the log format changes with a restart/)
  })

  test('an invalid file or a root that cannot be read is refused with the reason', async () => {
    write([...base(), 'files:', '  rootz: [/a=a]'])
    const invalid = await running.reload(load)
    assert.equal(invalid.applied, false)
    assert.match(invalid.refused!, /files: unknown key\(s\) "rootz"/)
    write([
      'log_level: debug',
      'log:',
      '  access: false',
      ...base(),
      '  mappings: ["registry.k8s.io/=library/"]',
      'files:',
      '  roots: [/b=b, /c=c]',
    ])
    const missing = await running.reload(load)
    assert.equal(missing.applied, false)
    assert.equal(missing.refused, `files.roots: ${join(dir, 'c')} cannot be read (ENOENT)`)
    await request(url).get('/b/two.txt').expect(200)
  })

  test('a reload with nothing changed reads the roots again and says so', async () => {
    write([
      'log_level: debug',
      'log:',
      '  access: false',
      ...base(),
      '  mappings: ["registry.k8s.io/=library/"]',
      'files:',
      '  roots: [/b=b]',
    ])
    out = ''
    const result = await running.reload(load)
    assert.deepEqual(result, { applied: true, changed: [] })
    await settle()
    assert.ok(records().find((l) => /^configuration reloaded: no setting changed/.test(l.msg)))
  })
})

test('reload with another certificate name: the certificate is re-issued and swapped in, the HTTPS listener stays', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'outpost.yaml')
  const write = (sans: string[]) =>
    writeFileSync(
      file,
      [
        'data_dir: data',
        'listen: { http: "127.0.0.1:0", https: "127.0.0.1:0", push: off, ntp: off }',
        `tls: { extra_sans: ${JSON.stringify(sans)} }`,
        '',
      ].join('\n'),
    )
  write([])
  const load = () => loadConfig({ file, env: {}, noDefaultFile: true })
  let out = ''
  const sink = new PassThrough()
  sink.on('data', (c) => (out += String(c)))
  const running = await startServer(load().config, createLogger('info', sink, 'json'))
  t.after(() => running.close(1000))
  const https = running.listeners.find((l) => l.name === 'https')!
  const presented = (): Promise<X509Certificate> =>
    new Promise((resolve, reject) => {
      const sock = connect(
        { host: '127.0.0.1', port: https.address.port, servername: 'outpost.registry.local', rejectUnauthorized: false },
        () => {
          const raw = sock.getPeerCertificate().raw
          sock.end()
          resolve(new X509Certificate(raw))
        },
      )
      sock.on('error', reject)
    })
  assert.doesNotMatch((await presented()).subjectAltName ?? '', /reloaded\.example/)
  write(['reloaded.example'])
  assert.deepEqual(await running.reload(load), { applied: true, changed: ['tls.extra_sans'] })
  await waitFor(() => logRecords(out).some((r) => r.msg === 'certificate check'), 'the certificate check')
  assert.equal(logRecords(out).find((r) => r.msg === 'certificate check')!.result, 'swapped')
  assert.match((await presented()).subjectAltName ?? '', /DNS:reloaded\.example/)
})
