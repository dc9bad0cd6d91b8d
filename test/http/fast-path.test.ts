/**
 * The listeners answer file-root requests on a direct path in front of the
 * app (src/repos/static-direct.ts). Here the same app is served twice, by the
 * server's request handler and by the plain Hono adapter, and every request
 * must get the same status, headers (but Date) and bytes from both: what the
 * direct path answers is exactly what the app would have answered.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { getRequestListener } from '@hono/node-server'
import { tempDir } from '../helpers/server.js'
import { buildFileTree, HOSTILE_PATHS, SPECIAL_NAMES, CONTENT_TYPES, type FileTree } from '../helpers/file-tree.js'
import { rawRequest, type RawResponse } from '../helpers/raw-http.js'
import { loadConfig, silentLogger, BUILT_IN_PATHS, Metrics } from '../../src/server/index.js'
import { buildLayout, openCatalog, openCatalogDb } from '../../src/server/compose.js'
import { openServing } from '../../src/server/serving.js'
import { requestHandler } from '../../src/server/listen.js'
import { FileCache } from '../../src/repos/index.js'
import { encodeSegment } from '../../src/repos/safe-path.js'
import type { Catalog, Db } from '../../src/catalog/index.js'
import type { Hono } from 'hono'

let tree: FileTree
let dataDir: string
let db: Db
let catalog: Catalog
let cache: FileCache
let app: Hono
const servers: Server[] = []
let direct: string
let plain: string

const listenOn = async (server: Server): Promise<string> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  servers.push(server)
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

before(async () => {
  tree = buildFileTree(tempDir('outpost-fast-'))
  writeFileSync(join(tree.root, 'Packages'), 'Package: x\n'.repeat(50))
  dataDir = tempDir('outpost-fast-data-')
  const { config } = loadConfig({
    env: {},
    noDefaultFile: true,
    flags: {
      data_dir: dataDir,
      listen: { http: '127.0.0.1:0', https: 'off', push: 'off', ntp: 'off' },
      files: {
        roots: [
          { prefix: '/', path: tree.root },
          { prefix: '/extra', path: tree.extra },
        ],
      },
    },
  })
  const layout = buildLayout(config)
  db = openCatalogDb(config)
  catalog = openCatalog(layout, db, silentLogger())
  cache = new FileCache()
  const metrics = new Metrics({ processMetrics: false })
  const serving = openServing(config, layout, {
    logger: silentLogger(),
    metrics,
    db,
    catalog,
    listeners: [],
    fileCache: cache,
    htpasswd: null,
    tls: null,
    ntp: () => null,
  })
  app = serving.app as unknown as Hono
  direct = await listenOn(createServer(requestHandler(serving.app, { logger: silentLogger(), metrics, listener: 'http' })))
  plain = await listenOn(createServer(getRequestListener((req, env) => serving.app.fetch(req, { ...env, listener: 'http' }))))
})

after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r))
  cache.close()
  catalog.close()
  rmSync(tree.base, { recursive: true, force: true })
  rmSync(dataDir, { recursive: true, force: true })
})

/** Status, headers but Date, body: what must be the same on both paths. */
const shape = (r: RawResponse) => {
  const { date: _date, ...headers } = r.headers
  return { status: r.status, headers, body: r.body.toString('base64') }
}

const same = async (target: string, method = 'GET', headers: Record<string, string> = {}): Promise<RawResponse> => {
  const a = await rawRequest(direct, target, method, headers)
  const b = await rawRequest(plain, target, method, headers)
  assert.deepEqual(shape(a), shape(b), `${method} ${target} ${JSON.stringify(headers)}`)
  return a
}

test('files, directories, listings, redirects and misses: the same answers on both paths', async () => {
  const targets = [
    '/a.txt',
    '/empty.txt',
    '/big.bin',
    '/kubeadm',
    '/Packages',
    '/a.txt?x=1',
    '/site/',
    '/site',
    '/site?a=b',
    '/site/other.txt',
    '/list/',
    '/list',
    '/inside-link',
    '/inside-dir/',
    '/inside-dir/b.txt',
    '/a.txt/',
    '/missing',
    '/missing/',
    '/extra/x.txt',
    '/extra/',
    '/extra',
    '/',
    ...SPECIAL_NAMES.map((n) => `/${encodeSegment(n)}`),
    ...Object.keys(CONTENT_TYPES).map((n) => `/types/${encodeSegment(n)}`),
    ...HOSTILE_PATHS,
  ]
  for (const method of ['GET', 'HEAD']) {
    for (const target of targets) {
      await same(target, method)
      // Twice: the second is served from the file cache.
      await same(target, method)
    }
  }
})

test('listings as JSON, and the built-in paths the app answers before the file roots', async () => {
  await same('/list/', 'GET', { Accept: 'application/json' })
  await same('/', 'GET', { Accept: 'application/json' })
  for (const target of ['/healthz', '/healthz/x', '/v2/x', '/v2/', '/setup/nothing', '/ca.crt', '/time/x', '/nodes/x', '/inventory/x']) {
    await same(target)
    await same(target, 'HEAD')
  }
})

test('odd request targets and Host headers: what the adapter or another route answers stays theirs', async () => {
  for (const target of [
    'http://evil/a.txt',
    'http://evil/v2/',
    '//a.txt',
    '//x/healthz',
    '/./v2/',
    '/%2e/healthz',
    '/%76%32/',
    '/V2/x',
    '/healthz/',
    '/healthz;x',
    '/a.txt#x',
    '/a.txt?%zz',
    '*',
  ]) {
    await same(target)
    await same(target, 'HEAD')
  }
  for (const host of ['Example.COM', 'evil/x', '[::1]:80', '127.0.0.1:80', 'a b', 'x:99999', 'localhost']) {
    await same('/a.txt', 'GET', { Host: host })
    await same('/list/', 'GET', { Host: host })
  }
})

test('conditions and ranges, on a small (cached) and a large file', async () => {
  for (const path of ['/a.txt', '/big.bin', '/empty.txt']) {
    const first = await same(path, 'HEAD')
    const etag = first.headers['etag']!
    const lm = first.headers['last-modified']!
    const cases: Array<Record<string, string>> = [
      { 'If-None-Match': etag },
      { 'If-None-Match': `"x", ${etag}` },
      { 'If-None-Match': '"x"' },
      { 'If-None-Match': '*' },
      { 'If-Modified-Since': lm },
      { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
      { 'If-Modified-Since': 'not a date' },
      { 'If-Match': '"x"' },
      { 'If-Match': etag },
      { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' },
      { Range: 'bytes=0-3' },
      { Range: 'bytes=5-' },
      { Range: 'bytes=-4' },
      { Range: 'bytes=0-0,2-3' },
      { Range: 'bytes=9999999-' },
      { Range: 'items=0-1' },
      { Range: 'bytes=0-3', 'If-Range': etag },
      { Range: 'bytes=0-3', 'If-Range': '"stale"' },
      { Range: 'bytes=0-3', 'If-Range': lm },
    ]
    for (const h of cases) {
      await same(path, 'GET', h)
      await same(path, 'HEAD', h)
    }
  }
})

test('methods other than GET and HEAD', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    for (const target of ['/a.txt', '/missing', '/list/', '/v2/', '/healthz']) await same(target, method)
  }
})

test('the direct path cannot hide a route: every route but the file roots lies under a built-in path', () => {
  const reserved = BUILT_IN_PATHS.map((p) => p.replace(/\/+$/, ''))
  const under = (path: string) => reserved.some((r) => path === r || path.startsWith(`${r}/`))
  const others = app.routes.filter((r) => r.path !== '/*' && r.path !== '*')
  assert.ok(others.length > 5)
  for (const r of others) assert.ok(under(r.path), `${r.method} ${r.path} is not under a built-in path`)
  // The catch-all routes are the file roots' and the not-found answer only.
  const catchAll = app.routes.filter((r) => r.path === '/*' || r.path === '*')
  assert.ok(
    catchAll.every((r) => r.method === 'ALL'),
    JSON.stringify(catchAll.map((r) => r.method)),
  )
})

test('an unexpected failure on the direct path is answered by the app, as it would have been', async () => {
  const get = cache.get.bind(cache)
  cache.get = () => {
    throw new Error('disk on fire')
  }
  try {
    for (const method of ['GET', 'HEAD']) {
      const r = await same('/a.txt', method)
      assert.equal(r.status, 500)
    }
    const r = await same('/a.txt', 'GET', { Accept: 'application/json' })
    assert.equal(r.status, 500)
  } finally {
    cache.get = get
  }
  assert.equal((await same('/a.txt')).status, 200)
})
