/**
 * The edges of the protocol: a target that leaves /v2/ answered in the
 * registry's JSON, 405s with Allow on every listener (built-in endpoints
 * included: DELETE /nodes, POST /ca.crt), 505 for request lines other than
 * HTTP/1.0 and 1.1, and failed writes as 507 / 503.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { rawRequest } from '../helpers/raw-http.js'
import { storageFailure } from '../../src/server/protocol-edges.js'

const DIGEST = `sha256:${'a'.repeat(64)}`

describe('protocol edges', () => {
  let dir: string
  let s: TestServer
  let push: string
  before(async () => {
    dir = tempDir()
    mkdirSync(join(dir, 'files'))
    writeFileSync(join(dir, 'files/a.txt'), 'a\n')
    s = await startTestServer({ files: { roots: [join(dir, 'files')] }, listen: { push: '127.0.0.1:0' }, registry: { delete: true } })
    push = s.running.listeners.find((l) => l.name === 'push')!.url
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  for (const target of ['/v2/../etc/passwd', '/v2/%2e%2e/a.txt', '/v2/..', '/v2/x/../../a.txt', '/v2/.%2E/healthz']) {
    test(`${target} is refused in the registry's error format`, async () => {
      const res = await rawRequest(s.hostPort, target)
      assert.equal(res.status, 400)
      assert.equal(res.headers['content-type'], 'application/json')
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0')
      const body = JSON.parse(res.body.toString())
      assert.equal(body.errors[0].code, 'NAME_INVALID')
    })
  }

  test('a target that stays under /v2/ or never was there is not touched', async () => {
    assert.equal((await rawRequest(s.hostPort, '/v2/')).status, 200)
    assert.equal((await rawRequest(s.hostPort, '/a.txt')).status, 200)
    // Refused by the file server as before: it never was a registry path.
    const res = await rawRequest(s.hostPort, '/files/../a.txt')
    assert.equal(res.status, 400)
    assert.match(res.headers['content-type']!, /text\/plain/)
  })

  test('built-in endpoints asked with another method: 405 with Allow, not 404', async () => {
    const del = await request(s.url).delete('/nodes')
    assert.equal(del.status, 405)
    assert.equal(del.headers.allow, 'GET, HEAD')
    const ca = await request(s.url).post('/ca.crt')
    assert.equal(ca.status, 405)
    assert.equal(ca.headers.allow, 'GET, HEAD')
    const checkin = await request(s.url).get('/nodes/checkin')
    assert.equal(checkin.status, 405)
    assert.equal(checkin.headers.allow, 'POST')
    for (const p of ['/healthz', '/readyz', '/metrics', '/inventory', '/inventory/misses', '/time', '/setup/bootstrap.sh']) {
      const res = await request(s.url).put(p)
      assert.equal(res.status, 405, p)
      assert.equal(res.headers.allow, 'GET, HEAD', p)
    }
    // Nothing there for any method: still 404.
    assert.equal((await request(s.url).delete('/nodes/nothing-here')).status, 404)
    assert.equal((await request(s.url).get('/nodes/nothing-here')).status, 404)
  })

  test('every 405, on every listener, carries Allow', async () => {
    const paths = [
      '/v2/',
      '/v2/_catalog',
      '/v2/x/tags/list',
      '/v2/x/manifests/latest',
      `/v2/x/blobs/${DIGEST}`,
      '/v2/x/blobs/uploads/',
      '/v2/x/blobs/uploads/0b3c8d1e-1111-4222-8333-944455556666',
      `/v2/x/referrers/${DIGEST}`,
      '/a.txt',
      '/nodes',
      '/nodes/checkin',
      '/nodes/inventory.ini',
      '/setup/',
      '/ca.crt',
    ]
    let seen = 0
    for (const base of [s.url, push])
      for (const method of ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const)
        for (const p of paths) {
          const res = await request(base)[method](p)
          if (res.status !== 405) continue
          seen++
          assert.ok(res.headers.allow, `${method.toUpperCase()} ${p} on ${base === push ? 'push' : 'http'}: 405 without Allow`)
        }
    assert.ok(seen > 20, `only ${seen} 405s`)
  })

  for (const version of ['HTTP/2.0', 'HTTP/0.9']) {
    test(`a request line claiming ${version} is 505`, async () => {
      const res = await rawRequest(s.hostPort, '/healthz', 'GET', {}, version)
      assert.equal(res.status, 505)
      assert.equal(res.headers.connection, 'close')
      const v2 = await rawRequest(s.hostPort, '/v2/', 'GET', {}, version)
      assert.equal(v2.status, 505)
      assert.equal(JSON.parse(v2.body.toString()).errors[0].code, 'UNSUPPORTED')
    })
  }

  test('HTTP/1.0 and 1.1 are served', async () => {
    assert.equal((await rawRequest(s.hostPort, '/healthz', 'GET', {}, 'HTTP/1.0')).status, 200)
    assert.equal((await rawRequest(s.hostPort, '/healthz')).status, 200)
  })
})

test('failed writes: no space is 507, an unwritable data_dir 503, anything else is not a storage failure', () => {
  assert.equal(storageFailure(Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }))?.status, 507)
  assert.equal(storageFailure(Object.assign(new Error('x'), { code: 'ENOSPC' }))?.status, 507)
  assert.equal(storageFailure(Object.assign(new Error('x'), { code: 'SQLITE_READONLY' }))?.status, 503)
  assert.equal(storageFailure(Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' }))?.status, 503)
  assert.equal(storageFailure(Object.assign(new Error('x'), { code: 'EROFS' }))?.status, 503)
  assert.equal(storageFailure(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT' })), null)
  assert.equal(storageFailure(new Error('plain')), null)
})
