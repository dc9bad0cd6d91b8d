/**
 * Who may write, over real sockets: the access middleware in front of the
 * registry API, the push listener, and htpasswd credentials on the HTTP
 * listener. What is tested here is that a write got past the access check
 * (never a 401, never the read-only 405); the write routes behind it are
 * tested in push-*.test.ts.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { Hono } from 'hono'
import request from 'supertest'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { createLogger, loadConfig, startServer, silentLogger, ConfigError, Metrics, type RunningServer } from '../../src/server/index.js'
import { requestHandler } from '../../src/server/listen.js'
import { parseLogLine } from '../helpers/logs.js'
import { Htpasswd, mayWrite, registryAccess, type ListenerKind } from '../../src/registry-api/index.js'
import { RegistryError, errorBody } from '../../src/registry-api/errors.js'

// `htpasswd -nbB alice s3cret` (apache2-utils), the format registry:2 reads.
const ALICE = 'alice:$2y$05$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC'
const BOB = 'bob:$2y$04$X4C.6ZdtUhW3nl09B4c/7e0d1Z3zRxrDenZuHR2NusiedMMhWZes.'
const CHALLENGE = 'Basic realm="outpost"'
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const UPLOAD = '/v2/library/multi/blobs/uploads/'

/** Past the access check: neither the challenge nor the read-only refusal. */
const passedAccess = (res: request.Response, what: string) => {
  assert.notEqual(res.status, 401, what)
  assert.equal(res.headers['www-authenticate'], undefined, what)
  assert.doesNotMatch(JSON.stringify(res.body), /read-only here/, what)
}

const challenged = (res: request.Response, what: string) => {
  assert.equal(res.status, 401, what)
  assert.equal(res.headers['www-authenticate'], CHALLENGE, what)
  assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0', what)
  // A HEAD answer has no body.
  if (res.text) assert.equal(res.body.errors[0].code, 'UNAUTHORIZED', what)
}

describe('the access middleware, with the listener kind the request handler sets', () => {
  const servers: Server[] = []
  let htpasswdDir: string
  let htpasswd: Htpasswd

  /** An app with the middleware and an echo of what the handler sees, behind the server's request handler. */
  const serve = async (listener: ListenerKind | undefined, options: { htpasswd: boolean; pushOnLoopback?: boolean }) => {
    const app = new Hono()
    app.use(
      '/v2/*',
      registryAccess({
        htpasswd: options.htpasswd ? htpasswd : null,
        pushOnLoopback: options.pushOnLoopback ?? true,
        logger: silentLogger(),
      }),
    )
    app.all('/v2/*', (c) => c.json({ listener: (c.env as { listener?: string }).listener ?? null, mayWrite: mayWrite(c) }))
    // As the server's one error handler (src/server/app.ts) writes registry errors.
    app.onError((err, c) =>
      err instanceof RegistryError
        ? c.json(errorBody(err), err.status as 400, { 'Docker-Distribution-API-Version': 'registry/2.0', ...err.headers })
        : c.text('boom', 500),
    )
    const handler = requestHandler(app, { logger: silentLogger(), metrics: new Metrics(), ...(listener ? { listener } : {}) })
    const server = createServer(handler)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    servers.push(server)
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  before(() => {
    htpasswdDir = tempDir()
    writeFileSync(join(htpasswdDir, 'htpasswd'), `${ALICE}\n`)
    htpasswd = Htpasswd.load(join(htpasswdDir, 'htpasswd'))
  })
  after(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
    rmSync(htpasswdDir, { recursive: true, force: true })
  })

  test('the push listener: every write allowed without credentials; handlers see the kind', async () => {
    const url = await serve('push', { htpasswd: false })
    for (const [method, auth] of [
      ['post', undefined],
      ['put', 'Basic Og=='],
      ['patch', basic('alice', 'wrong')],
      ['delete', undefined],
    ] as const) {
      const req = request(url)[method](UPLOAD)
      const res = await (auth ? req.set('Authorization', auth) : req).expect(200)
      assert.deepEqual(res.body, { listener: 'push', mayWrite: true }, method)
    }
    assert.deepEqual((await request(url).get('/v2/').expect(200)).body, { listener: 'push', mayWrite: false })
  })

  test('http without htpasswd: reads pass, writes are the read-only 405', async () => {
    const url = await serve('http', { htpasswd: false })
    assert.deepEqual((await request(url).get('/v2/').expect(200)).body, { listener: 'http', mayWrite: false })
    const res = await request(url).post(UPLOAD).set('Authorization', basic('alice', 's3cret')).expect(405)
    assert.equal(res.body.errors[0].code, 'UNSUPPORTED')
    assert.equal(res.headers.allow, 'GET, HEAD')
  })

  test('an app served without a listener kind counts as http', async () => {
    const url = await serve(undefined, { htpasswd: true })
    challenged(await request(url).get('/v2/'), 'GET /v2/')
    assert.deepEqual((await request(url).put(UPLOAD).set('Authorization', basic('alice', 's3cret')).expect(200)).body, {
      listener: null,
      mayWrite: true,
    })
  })

  for (const kind of ['http', 'https'] as const) {
    test(`${kind} with htpasswd: GET /v2/ challenges only without Authorization; writes need valid credentials`, async () => {
      const url = await serve(kind, { htpasswd: true })
      challenged(await request(url).get('/v2/'), 'GET /v2/ without Authorization')
      challenged(await request(url).head('/v2/'), 'HEAD /v2/ without Authorization')
      assert.deepEqual((await request(url).get('/v2/').set('Authorization', 'Basic Og==').expect(200)).body, {
        listener: kind,
        mayWrite: false,
      })
      await request(url).get('/v2/').set('Authorization', basic('alice', 'wrong')).expect(200)
      await request(url).get('/v2/library/multi/tags/list').expect(200)
      await request(url).get('/v2/library/multi/tags/list').set('Authorization', basic('mallory', 'x')).expect(200)
      challenged(await request(url).post(UPLOAD), 'write without credentials')
      challenged(await request(url).post(UPLOAD).set('Authorization', 'Basic Og=='), 'write with empty credentials')
      challenged(await request(url).post(UPLOAD).set('Authorization', basic('alice', 'wrong')), 'write with a wrong password')
      challenged(await request(url).post(UPLOAD).set('Authorization', basic('bob', 's3cret')), 'write by an unknown user')
      challenged(await request(url).post(UPLOAD).set('Authorization', 'Bearer abc'), 'write with a token')
      const ok = await request(url).post(UPLOAD).set('Authorization', basic('alice', 's3cret')).expect(200)
      assert.deepEqual(ok.body, { listener: kind, mayWrite: true })
    })
  }

  test('a push listener off loopback asks for credentials like the others', async () => {
    const url = await serve('push', { htpasswd: true, pushOnLoopback: false })
    challenged(await request(url).put('/v2/a/manifests/1'), 'write without credentials')
    await request(url).get('/v2/a/manifests/1').expect(200)
    assert.deepEqual((await request(url).put('/v2/a/manifests/1').set('Authorization', basic('alice', 's3cret')).expect(200)).body, {
      listener: 'push',
      mayWrite: true,
    })
  })
})

describe('the push listener in a running server', () => {
  let dir: string
  let fx: Fixture
  let s: TestServer
  before(async () => {
    dir = tempDir()
    fx = await buildRegistry2(join(dir, 'registry'))
    s = await startTestServer({ registry: { roots: [join(dir, 'registry')] }, listen: { push: '127.0.0.1:0' } })
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('listens beside http, named push, and serves reads of everything', async () => {
    const push = s.running.listeners.find((l) => l.name === 'push')
    assert.ok(push, 'a push listener')
    assert.match(push.url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.notEqual(push.url, s.url)
    await request(push.url).get('/v2/').expect(200)
    assert.deepEqual((await request(push.url).get('/v2/_catalog').expect(200)).body.repositories, [
      'library/multi',
      'library/pause',
      'nested/deep/name',
    ])
    const m = await request(push.url)
      .get('/v2/library/multi/manifests/1.0')
      .set('Accept', 'application/vnd.oci.image.index.v1+json')
      .expect(200)
    assert.equal(m.headers['docker-content-digest'], fx.index.digest)
    await request(push.url).head(`/v2/library/multi/blobs/${fx.amd64.config.digest}`).expect(200)
    await request(push.url).get('/healthz').expect(200)
  })

  test('writes pass the access check on push without credentials; http stays read-only', async () => {
    const push = s.running.listeners.find((l) => l.name === 'push')!
    passedAccess(await request(push.url).post(UPLOAD), 'POST on push')
    passedAccess(await request(push.url).put('/v2/library/multi/manifests/x').send('{}'), 'PUT on push')
    const http = await request(s.url).post(UPLOAD).expect(405)
    assert.equal(http.body.errors[0].code, 'UNSUPPORTED')
    assert.match(http.body.errors[0].message, /read-only here/)
  })
})

describe('htpasswd on the HTTP listener of a running server', () => {
  let dir: string
  let running: RunningServer
  let url: string
  const lines: string[] = []
  before(async () => {
    dir = tempDir()
    await buildRegistry2(join(dir, 'registry'))
    writeFileSync(join(dir, 'htpasswd'), `# writers\n${ALICE}\n`)
    const sink = new PassThrough()
    sink.on('data', (c) => lines.push(...String(c).split('\n').filter(Boolean)))
    const { config } = loadConfig({
      env: {},
      noDefaultFile: true,
      flags: {
        data_dir: join(dir, 'data'),
        listen: { http: '127.0.0.1:0', https: 'off', push: 'off', ntp: 'off' },
        registry: { roots: [join(dir, 'registry')], auth: { htpasswd: join(dir, 'htpasswd') } },
      },
    })
    running = await startServer(config, createLogger('info', sink))
    url = running.listeners.find((l) => l.name === 'http')!.url
  })
  after(async () => {
    await running.close(1000)
    rmSync(dir, { recursive: true, force: true })
  })

  test('writes without credentials or with wrong ones: 401 and the Basic challenge', async () => {
    challenged(await request(url).post(UPLOAD), 'POST without credentials')
    challenged(await request(url).put('/v2/library/multi/manifests/2.0').send('{}'), 'PUT without credentials')
    challenged(await request(url).delete('/v2/library/multi/manifests/1.0'), 'DELETE without credentials')
    challenged(await request(url).post(UPLOAD).set('Authorization', basic('alice', 'not-it')), 'POST with a wrong password')
    challenged(await request(url).patch(`${UPLOAD}some-id`).set('Authorization', 'Basic Og=='), 'PATCH with empty credentials')
  })

  test('reads pass anonymously and whatever they carry; GET /v2/ challenges only without Authorization', async () => {
    await request(url).get('/v2/_catalog').expect(200)
    await request(url).get('/v2/library/multi/tags/list').set('Authorization', basic('alice', 'not-it')).expect(200)
    challenged(await request(url).get('/v2/'), 'GET /v2/')
    challenged(await request(url).get('/v2'), 'GET /v2')
    const base = await request(url).get('/v2/').set('Authorization', 'Basic Og==').expect(200)
    assert.deepEqual(base.body, {})
    await request(url).get('/v2/').set('Authorization', basic('alice', 's3cret')).expect(200)
  })

  test('valid credentials get a write past the access check', async () => {
    passedAccess(await request(url).post(UPLOAD).set('Authorization', basic('alice', 's3cret')), 'POST as alice')
  })

  test('a password never reaches the log; an allowed write names its user', async () => {
    // Access lines are written when a response closes and handed on once per event-loop turn:
    // let the earlier tests' lines arrive before counting this test's own.
    await new Promise((r) => setTimeout(r, 100))
    lines.length = 0
    await request(url).post(UPLOAD).set('Authorization', basic('alice', 'not-it'))
    await request(url).post(UPLOAD).set('Authorization', basic('alice', 's3cret'))
    await new Promise((r) => setTimeout(r, 100))
    const text = lines.join('\n')
    for (const secret of ['s3cret', 'not-it', basic('alice', 's3cret').slice(6), basic('alice', 'not-it').slice(6)])
      assert.ok(!text.includes(secret), secret)
    const logged = lines.map(parseLogLine)
    const refused = logged.find((l) => l.msg === 'write refused: wrong user or password')
    assert.equal(refused?.user, 'alice')
    const access = logged.filter((l) => l.msg === 'request' && l.path === UPLOAD)
    assert.deepEqual(
      access.map((l) => [l.status, l.listener, l.user]),
      [
        [401, 'http', undefined],
        [202, 'http', 'alice'],
      ],
    )
  })

  test('the logger redacts an Authorization header wherever it is logged', () => {
    const out: string[] = []
    const sink = new PassThrough()
    sink.on('data', (c) => out.push(String(c)))
    const logger = createLogger('info', sink)
    logger.info({ headers: { authorization: basic('alice', 's3cret') }, req: { headers: { authorization: 'Basic Og==' } } }, 'x')
    assert.doesNotMatch(out.join(''), /Og==|YWxp/)
    assert.match(out.join(''), /\[redacted\]/)
  })

  test('reload (SIGHUP) takes a new user at once', async () => {
    challenged(await request(url).post(UPLOAD).set('Authorization', basic('bob', 'pw')), 'bob before')
    writeFileSync(join(dir, 'htpasswd'), `${ALICE}\n${BOB}\n`)
    assert.deepEqual(running.htpasswd!.reload(), { ok: true, users: 2 })
    passedAccess(await request(url).post(UPLOAD).set('Authorization', basic('bob', 'pw')), 'bob after')
  })
})

describe('start-up refusals', () => {
  test('listen.push off loopback without htpasswd: ConfigError naming listen.push', () => {
    assert.throws(
      () => loadConfig({ env: {}, noDefaultFile: true, flags: { listen: { push: '0.0.0.0:5000' } } }),
      (e: Error) => e instanceof ConfigError && /listen\.push: 0\.0\.0\.0 is not a loopback address/.test(e.message),
    )
  })

  test('an htpasswd line that is not bcrypt: ConfigError naming the file and line, nothing listening', async (t) => {
    const dir = tempDir()
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'htpasswd'), `${ALICE}\ncarol:$apr1$mWmwQC8o$TK6Pe4c1ehTiA5MHvpnIg0\n`)
    const { config } = loadConfig({
      env: {},
      noDefaultFile: true,
      flags: {
        data_dir: join(dir, 'data'),
        listen: { http: '127.0.0.1:0', https: 'off', push: '127.0.0.1:0', ntp: 'off' },
        registry: { auth: { htpasswd: join(dir, 'htpasswd') } },
      },
    })
    await assert.rejects(
      startServer(config, silentLogger()),
      (e: Error) =>
        e instanceof ConfigError && e.message.includes(`registry.auth.htpasswd: ${join(dir, 'htpasswd')}:2: user "carol": an Apache MD5`),
    )
  })

  test('a taken port names the listener', async (t) => {
    const first = await startTestServer({ listen: { push: '127.0.0.1:0' } })
    t.after(() => first.close())
    const taken = first.running.listeners.find((l) => l.name === 'push')!.address.port
    await assert.rejects(
      startTestServer({ listen: { push: `127.0.0.1:${taken}` } }),
      (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.message.startsWith(`listen.push (127.0.0.1:${taken}): `),
    )
  })
})
