/** The pull API over a real socket: every endpoint, header and error. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import request from 'supertest'
import http from 'node:http'
import { buildRegistry2, buildOciLayout, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
const ZERO = `sha256:${'0'.repeat(64)}`

const binary = (res: request.Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = []
  res.on('data', (c: Buffer) => chunks.push(c))
  res.on('end', () => cb(null, Buffer.concat(chunks)))
}

/** A GET sent as written: no client-side path normalisation, header arrays sent as several lines. */
const rawGet = (hostPort: string, path: string, headers: http.OutgoingHttpHeaders = {}) =>
  new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const [host, port] = hostPort.split(':')
    const req = http.get({ host, port: Number(port), path, headers }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }))
    })
    req.on('error', reject)
  })

describe('registry pull API', () => {
  let dir: string
  let fx: Fixture
  let layout: Fixture
  let s: TestServer
  before(async () => {
    dir = tempDir()
    fx = await buildRegistry2(join(dir, 'registry'))
    layout = await buildOciLayout(join(dir, 'layout'))
    writeFileSync(
      join(dir, 'images_origin.yaml'),
      '- src: k8s.gcr.io/kube-apiserver\n  dest: library/multi\n- src: docker.io/library/nginx\n  dest: library/pause\n',
    )
    s = await startTestServer({
      registry: {
        roots: [join(dir, 'registry')],
        oci_layouts: [`layout/one=${join(dir, 'layout')}`],
        images_origin: [join(dir, 'images_origin.yaml')],
        mappings: ['quay.io/=nested/'],
      },
    })
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const api = () => request(s.url)

  test('GET /v2/ answers with the API version header', async () => {
    const res = await api().get('/v2/')
    assert.equal(res.status, 200)
    assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0')
    assert.deepEqual(res.body, {})
    assert.equal((await api().get('/v2')).status, 200)
  })

  test('manifest by tag: stored bytes, exact type, digest, length, ETag', async () => {
    const res = await api().get('/v2/library/multi/manifests/latest').set('Accept', OCI_INDEX).buffer(true).parse(binary)
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-type'], OCI_INDEX)
    assert.equal(res.headers['docker-content-digest'], fx.index.digest)
    assert.equal(res.headers['etag'], `"${fx.index.digest}"`)
    assert.equal(res.headers['content-length'], String(fx.index.size))
    assert.ok((res.body as Buffer).equals(fx.index.bytes))
  })

  test('manifest HEAD has the same headers and no body', async () => {
    const res = await api().head('/v2/library/pause/manifests/3.9')
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-type'], DOCKER_MANIFEST)
    assert.equal(res.headers['content-length'], String(fx.docker.manifest.size))
    assert.equal(res.headers['docker-content-digest'], fx.docker.manifest.digest)
    assert.equal(res.text, undefined)
  })

  test('manifest by digest', async () => {
    const res = await api().get(`/v2/library/multi/manifests/${fx.arm64.manifest.digest}`).buffer(true).parse(binary)
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-type'], OCI_MANIFEST)
    assert.ok((res.body as Buffer).equals(fx.arm64.manifest.bytes))
  })

  test('If-None-Match on a manifest gives 304', async () => {
    const res = await api().get('/v2/library/multi/manifests/latest').set('If-None-Match', `"${fx.index.digest}"`)
    assert.equal(res.status, 304)
    assert.equal(res.headers['docker-content-digest'], fx.index.digest)
  })

  test('a manifest is sent whole: Range is ignored; If-Match that fails gives 412 with its headers', async () => {
    const ranged = await api().get('/v2/library/multi/manifests/latest').set('Range', 'bytes=0-3').buffer(true)
    assert.equal(ranged.status, 200)
    assert.equal(ranged.headers['content-range'], undefined)
    assert.equal(Number(ranged.headers['content-length']), fx.index.bytes.length)
    const failed = await api().get('/v2/library/multi/manifests/latest').set('If-Match', '"sha256:other"')
    assert.equal(failed.status, 412)
    assert.equal(failed.headers['docker-content-digest'], fx.index.digest)
  })

  test('Accept negotiation: a client without list types gets the linux/amd64 child', async () => {
    const res = await api().get('/v2/library/multi/manifests/latest').set('Accept', `${DOCKER_MANIFEST}, ${OCI_MANIFEST}`)
    assert.equal(res.status, 200)
    assert.equal(res.headers['docker-content-digest'], fx.amd64.manifest.digest)
    assert.equal(res.headers['content-type'], OCI_MANIFEST)
    const list = await api().get('/v2/library/pause/manifests/list').set('Accept', DOCKER_MANIFEST)
    assert.equal(list.headers['docker-content-digest'], fx.docker.manifest.digest)
    // Accept sent as several header lines is one list.
    const multi = await rawGet(s.hostPort, '/v2/library/multi/manifests/latest', { accept: [OCI_MANIFEST, OCI_INDEX] })
    assert.equal(multi.headers['docker-content-digest'], fx.index.digest)
    const multiNoList = await rawGet(s.hostPort, '/v2/library/multi/manifests/latest', { accept: [OCI_MANIFEST, DOCKER_MANIFEST] })
    assert.equal(multiNoList.headers['docker-content-digest'], fx.amd64.manifest.digest)
    const wildcard = await api().get('/v2/library/pause/manifests/list').set('Accept', '*/*')
    assert.equal(wildcard.headers['content-type'], DOCKER_LIST)
    // By digest, the stored bytes always.
    const byDigest = await api().get(`/v2/library/multi/manifests/${fx.index.digest}`).set('Accept', DOCKER_MANIFEST)
    assert.equal(byDigest.headers['docker-content-digest'], fx.index.digest)
  })

  test('blob GET and HEAD', async () => {
    const layer = fx.amd64.layers[0]!
    const res = await api().get(`/v2/library/multi/blobs/${layer.digest}`).buffer(true).parse(binary)
    assert.equal(res.status, 200)
    assert.ok((res.body as Buffer).equals(layer.bytes))
    assert.equal(res.headers['accept-ranges'], 'bytes')
    assert.equal(res.headers['docker-content-digest'], layer.digest)
    assert.equal(res.headers['etag'], `"${layer.digest}"`)
    const head = await api().head(`/v2/library/multi/blobs/${fx.big.digest}`)
    assert.equal(head.status, 200)
    assert.equal(head.headers['content-length'], String(fx.big.size))
    assert.equal(head.headers['accept-ranges'], 'bytes')
  })

  test('a large blob streams whole and intact', async () => {
    const res = await api().get(`/v2/library/multi/blobs/${fx.big.digest}`).buffer(true).parse(binary)
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-length'], String(fx.big.size))
    assert.ok((res.body as Buffer).equals(fx.big.bytes))
  })

  test('blob ranges: bounded, open-ended, suffix, unsatisfiable', async () => {
    const url = `/v2/library/multi/blobs/${fx.big.digest}`
    const size = fx.big.size
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      ['bytes=-1000', size - 1000, size - 1],
      ['bytes=1048570-3145739', 1048570, 3145739],
      [`bytes=5-${size + 100}`, 5, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const res = await api().get(url).set('Range', range).buffer(true).parse(binary)
      assert.equal(res.status, 206, range)
      assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${size}`, range)
      assert.equal(res.headers['content-length'], String(end - start + 1), range)
      assert.ok((res.body as Buffer).equals(fx.big.bytes.subarray(start, end + 1)), range)
    }
    const bad = await api().get(url).set('Range', `bytes=${size}-`)
    assert.equal(bad.status, 416)
    assert.equal(bad.headers['content-range'], `bytes */${size}`)
    assert.equal(bad.body.errors[0].code, 'RANGE_INVALID')
    // A Range it cannot parse is ignored: the whole blob.
    const ignored = await api().head(url).set('Range', 'bytes=0-1,5-6')
    assert.equal(ignored.status, 200)
    // If-Range with another validator: the whole blob.
    const ifRange = await api().head(url).set('Range', 'bytes=0-1').set('If-Range', '"sha256:other"')
    assert.equal(ifRange.status, 200)
    const ifRangeOk = await api().head(url).set('Range', 'bytes=0-1').set('If-Range', `"${fx.big.digest}"`)
    assert.equal(ifRangeOk.status, 206)
  })

  test('If-None-Match on a blob gives 304', async () => {
    const res = await api().get(`/v2/library/multi/blobs/${fx.big.digest}`).set('If-None-Match', `"${fx.big.digest}"`)
    assert.equal(res.status, 304)
  })

  test('a blob not linked to the repository is unknown, as registry:2 does', async () => {
    const res = await api().get(`/v2/library/multi/blobs/${fx.unlinked.digest}`)
    assert.equal(res.status, 404)
    assert.equal(res.body.errors[0].code, 'BLOB_UNKNOWN')
    const other = await api().get(`/v2/library/pause/blobs/${fx.big.digest}`)
    assert.equal(other.status, 404)
  })

  test('tags/list with n/last paging and Link', async () => {
    const all = await api().get('/v2/library/multi/tags/list')
    assert.deepEqual(all.body, { name: 'library/multi', tags: ['1.0', 'latest'] })
    const first = await api().get('/v2/library/multi/tags/list?n=1')
    assert.deepEqual(first.body.tags, ['1.0'])
    assert.equal(first.headers['link'], '</v2/library/multi/tags/list?n=1&last=1.0>; rel="next"')
    const second = await api().get('/v2/library/multi/tags/list?n=1&last=1.0')
    assert.deepEqual(second.body.tags, ['latest'])
    assert.equal(second.headers['link'], undefined)
    const bad = await api().get('/v2/library/multi/tags/list?n=-1')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.errors[0].code, 'PAGINATION_NUMBER_INVALID')
  })

  test('_catalog spans every store, with paging', async () => {
    const all = await api().get('/v2/_catalog')
    assert.deepEqual(all.body.repositories, ['layout/one', 'library/multi', 'library/pause', 'nested/deep/name'])
    const page = await api().get('/v2/_catalog?n=2')
    assert.deepEqual(page.body.repositories, ['layout/one', 'library/multi'])
    assert.equal(page.headers['link'], '</v2/_catalog?n=2&last=library%2Fmulti>; rel="next"')
    const next = await api().get('/v2/_catalog?n=2&last=library/multi')
    assert.deepEqual(next.body.repositories, ['library/pause', 'nested/deep/name'])
  })

  test('referrers: descriptors of manifests whose subject is the digest, artifactType filter', async () => {
    const res = await api().get(`/v2/library/multi/referrers/${fx.amd64.manifest.digest}`)
    assert.equal(res.status, 200)
    assert.equal(res.headers['content-type'], OCI_INDEX)
    const body = JSON.parse(res.text)
    assert.equal(body.mediaType, OCI_INDEX)
    assert.deepEqual(body.manifests, [
      {
        mediaType: OCI_MANIFEST,
        digest: fx.sbom.manifest.digest,
        size: fx.sbom.manifest.size,
        artifactType: 'application/spdx+json',
        annotations: { 'org.example.kind': 'sbom' },
      },
    ])
    const filtered = await api().get(`/v2/library/multi/referrers/${fx.amd64.manifest.digest}?artifactType=application/other`)
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType')
    assert.deepEqual(JSON.parse(filtered.text).manifests, [])
    const none = await api().get(`/v2/library/multi/referrers/${ZERO}`)
    assert.equal(none.status, 200)
    assert.deepEqual(JSON.parse(none.text).manifests, [])
    const bad = await api().get('/v2/library/multi/referrers/sha256:nope')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.errors[0].code, 'DIGEST_INVALID')
  })

  test('OCI layout store serves through the same API', async () => {
    const res = await api().get('/v2/layout/one/manifests/1.0').set('Accept', OCI_INDEX)
    assert.equal(res.headers['docker-content-digest'], layout.index.digest)
    const blob = await api().get(`/v2/layout/one/blobs/${layout.arm64.layers[0]!.digest}`).buffer(true).parse(binary)
    assert.ok((blob.body as Buffer).equals(layout.arm64.layers[0]!.bytes))
  })

  test('upstream names: ns parameter, host in path, prefix rules', async () => {
    const viaNs = await api().get('/v2/kube-apiserver/manifests/1.0?ns=k8s.gcr.io').set('Accept', OCI_INDEX)
    assert.equal(viaNs.status, 200)
    assert.equal(viaNs.headers['docker-content-digest'], fx.index.digest)
    const hub = await api().head('/v2/library/nginx/manifests/3.9?ns=docker.io')
    assert.equal(hub.headers['docker-content-digest'], fx.docker.manifest.digest)
    const inPath = await api().head('/v2/k8s.gcr.io/kube-apiserver/manifests/latest').set('Accept', OCI_INDEX)
    assert.equal(inPath.headers['docker-content-digest'], fx.index.digest)
    const rule = await api().head('/v2/deep/name/manifests/v1?ns=quay.io')
    assert.equal(rule.status, 200)
    const blob = await api().head(`/v2/kube-apiserver/blobs/${fx.big.digest}?ns=k8s.gcr.io`)
    assert.equal(blob.status, 200)
    const unknown = await api().get('/v2/kube-proxy/manifests/1.0?ns=k8s.gcr.io')
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.errors[0].code, 'NAME_UNKNOWN')
  })

  test('errors: spec codes and statuses, never a 500', async () => {
    const cases: Array<[string, number, string]> = [
      ['/v2/library/multi/manifests/sha256:totallywrong', 400, 'DIGEST_INVALID'],
      ['/v2/library/multi/manifests/bad$tag', 404, 'MANIFEST_UNKNOWN'],
      ['/v2/library/multi/manifests/nope', 404, 'MANIFEST_UNKNOWN'],
      [`/v2/library/multi/manifests/${ZERO}`, 404, 'MANIFEST_UNKNOWN'],
      ['/v2/no/such/manifests/latest', 404, 'NAME_UNKNOWN'],
      ['/v2/UPPER/manifests/latest', 400, 'NAME_INVALID'],
      ['/v2/a/%2e%2e/b/manifests/latest', 400, 'NAME_INVALID'],
      [`/v2/library/multi/blobs/${ZERO}`, 404, 'BLOB_UNKNOWN'],
      ['/v2/library/multi/blobs/sha256:123', 400, 'DIGEST_INVALID'],
      ['/v2/library/multi/blobs/md5:abc', 400, 'DIGEST_INVALID'],
      ['/v2/no/such/tags/list', 404, 'NAME_UNKNOWN'],
      ['/v2/library/multi', 404, 'NOT_FOUND'],
    ]
    for (const [path, status, code] of cases) {
      const res = await api().get(path)
      assert.equal(res.status, status, path)
      assert.equal(res.headers['content-type'], 'application/json', path)
      assert.equal(res.body.errors[0].code, code, path)
      assert.equal(typeof res.body.errors[0].message, 'string')
    }
  })

  test('an invalid tag is an unknown manifest (404), and error answers to HEAD carry Content-Length', async () => {
    const get = await api().get('/v2/library/multi/manifests/.INVALID_MANIFEST_NAME')
    assert.equal(get.status, 404)
    assert.equal(get.body.errors[0].code, 'MANIFEST_UNKNOWN')
    for (const path of [
      '/v2/library/multi/manifests/.INVALID_MANIFEST_NAME',
      '/v2/library/multi/manifests/nope',
      `/v2/library/multi/blobs/${ZERO}`,
      '/v2/no/such/tags/list',
    ]) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const [host, port] = s.hostPort.split(':')
        http
          .request({ host, port: Number(port), path, method: 'HEAD' }, resolve)
          .on('error', reject)
          .end()
      })
      res.resume()
      const body = await api().get(path)
      assert.equal(res.statusCode, body.status, path)
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(body.text)), path)
      assert.equal(res.headers['content-type'], 'application/json', path)
    }
  })

  test('a raw dot-dot name (not normalised by the client) is NAME_INVALID', async () => {
    const { status, body } = await rawGet(s.hostPort, '/v2/a/../b/manifests/latest')
    assert.equal(status, 400)
    assert.equal(JSON.parse(body).errors[0].code, 'NAME_INVALID')
  })

  test('write methods answer UNSUPPORTED', async () => {
    const post = await api().post('/v2/library/multi/blobs/uploads/')
    assert.equal(post.status, 405)
    assert.equal(post.body.errors[0].code, 'UNSUPPORTED')
    const put = await api().put('/v2/library/multi/manifests/latest').send('{}')
    assert.equal(put.status, 405)
    assert.equal(put.body.errors[0].code, 'UNSUPPORTED')
    const del = await api().delete(`/v2/library/multi/manifests/${fx.index.digest}`)
    assert.equal(del.status, 405)
  })

  test('a corrupted manifest is refused, not served', async () => {
    const hex = fx.docker.manifest.digest.slice(7)
    // nested/deep/name shares the blob: corrupt it after a first read elsewhere would be cached,
    // so use a fresh server over a copy.
    const copy = tempDir()
    const c = await buildRegistry2(copy)
    writeFileSync(
      join(copy, 'docker/registry/v2/blobs/sha256', c.docker.manifest.digest.slice(7, 9), c.docker.manifest.digest.slice(7), 'data'),
      '{"tampered":true}',
    )
    const s2 = await startTestServer({ registry: { roots: [copy] } })
    try {
      const res = await request(s2.url).get('/v2/library/pause/manifests/3.9')
      assert.equal(res.status, 404)
      assert.equal(res.body.errors[0].code, 'MANIFEST_UNKNOWN')
    } finally {
      await s2.close()
      rmSync(copy, { recursive: true, force: true })
    }
    assert.ok(hex)
  })

  test('healthz and metrics', async () => {
    assert.equal((await api().get('/healthz')).text, 'ok\n')
    await api().get(`/v2/library/multi/blobs/${fx.amd64.layers[0]!.digest}`)
    const m = await api().get('/metrics')
    assert.equal(m.status, 200)
    assert.match(m.text, /outpost_http_requests_total\{route="v2.blob",method="GET",status="200"\} \d+/)
    assert.match(m.text, /outpost_registry_blobs_served_total [1-9]/)
    assert.match(m.text, /outpost_http_response_bytes_total\{route="v2.blob",status="200"\} [1-9]/)
  })
})
