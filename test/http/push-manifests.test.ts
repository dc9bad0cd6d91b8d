/** Manifest push, referrers of pushed content, deletes, and a push root beside a bundle. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import request from 'supertest'
import { Registry2Store } from '../../src/images/index.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { tempDir } from '../helpers/server.js'
import { OCI_INDEX, OCI_MANIFEST, checkTree, imageManifest, pushBlob, sha256, startPushApp, type PushApp } from '../helpers/push.js'

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'

const text = (res: request.Response, cb: (err: Error | null, body: string) => void): void => {
  let s = ''
  res.on('data', (c: Buffer) => (s += c.toString('utf8')))
  res.on('end', () => cb(null, s))
}

describe('manifest push and deletes', () => {
  let dir: string
  let app: PushApp
  let bundle: Fixture
  const api = () => request(app.url)
  const putManifest = (name: string, ref: string, body: Buffer | string, type = OCI_MANIFEST) =>
    // A string: superagent would serialise a Buffer as JSON for a JSON type.
    api().put(`/v2/${name}/manifests/${ref}`).set('Content-Type', type).send(body.toString())

  /** Pushes a config and a layer into `name`; returns the manifest that names them. */
  const image = async (name: string, extra: Record<string, unknown> = {}) => {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rand: randomBytes(8).toString('hex') }))
    const layer = randomBytes(200)
    await pushBlob(app.url, name, config)
    await pushBlob(app.url, name, layer)
    const manifest = imageManifest(config, [layer], extra)
    return { config, layer, manifest, digest: sha256(manifest) }
  }

  before(async () => {
    dir = tempDir('outpost-push-')
    bundle = await buildRegistry2(join(dir, 'bundle'))
    app = await startPushApp(join(dir, 'push'), { stores: [new Registry2Store(join(dir, 'bundle'))] })
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('PUT by tag: 201, served at once by tag and digest, byte for byte', async () => {
    // Asked before it exists: the answer must not be remembered past the push.
    assert.equal((await api().get('/v2/app/one/manifests/v1')).status, 404)
    assert.equal((await api().get('/v2/_catalog')).body.repositories.includes('app/one'), false)
    const img = await image('app/one')
    const put = await putManifest('app/one', 'v1', img.manifest)
    assert.equal(put.status, 201)
    assert.equal(put.headers.location, `/v2/app/one/manifests/${img.digest}`)
    assert.equal(put.headers['docker-content-digest'], img.digest)
    assert.equal(put.headers['oci-subject'], undefined)
    for (const ref of ['v1', img.digest]) {
      const get = await api().get(`/v2/app/one/manifests/${ref}`).set('Accept', OCI_MANIFEST).buffer(true).parse(text)
      assert.equal(get.status, 200, ref)
      assert.equal(get.headers['content-type'], OCI_MANIFEST)
      assert.equal(get.headers['docker-content-digest'], img.digest)
      assert.equal(get.body, img.manifest.toString())
    }
    assert.deepEqual((await api().get('/v2/app/one/tags/list')).body, { name: 'app/one', tags: ['v1'] })
    assert.ok((await api().get('/v2/_catalog')).body.repositories.includes('app/one'))
    // The same bytes under more tags, and a tag moved to another manifest.
    for (const t of ['test0', 'test1']) assert.equal((await putManifest('app/one', t, img.manifest)).status, 201)
    const other = await image('app/one')
    assert.equal((await putManifest('app/one', 'test0', other.manifest)).status, 201)
    assert.equal((await api().head('/v2/app/one/manifests/test0')).headers['docker-content-digest'], other.digest)
    assert.deepEqual(checkTree(join(dir, 'push')), [])
  })

  test('PUT by digest, and a digest that does not match the body', async () => {
    const img = await image('app/two')
    const put = await putManifest('app/two', img.digest, img.manifest)
    assert.equal(put.status, 201)
    assert.equal((await api().get(`/v2/app/two/manifests/${img.digest}`)).status, 200)
    assert.deepEqual((await api().get('/v2/app/two/tags/list')).body.tags, [])
    const wrong = await putManifest('app/two', sha256('something else'), img.manifest)
    assert.equal(wrong.status, 400)
    assert.equal(wrong.body.errors[0].code, 'DIGEST_INVALID')
  })

  test('missing blobs and children: 400 MANIFEST_BLOB_UNKNOWN, nothing stored', async () => {
    const config = Buffer.from('{"missing":true}')
    const manifest = imageManifest(config, [randomBytes(10)])
    const res = await putManifest('app/three', 'v1', manifest)
    assert.equal(res.status, 400)
    assert.equal(res.body.errors[0].code, 'MANIFEST_BLOB_UNKNOWN')
    assert.equal(res.body.errors[0].detail.missing.length, 2)
    assert.equal(
      existsSync(join(dir, 'push/docker/registry/v2/blobs/sha256', sha256(manifest).slice(7, 9), sha256(manifest).slice(7))),
      false,
    )
    // A blob pushed to another repository is not this one's.
    const img = await image('app/elsewhere')
    assert.equal((await putManifest('app/three', 'v1', img.manifest)).status, 400)
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length }],
    })
    const idx = await putManifest('app/three', 'list', index, OCI_INDEX)
    assert.equal(idx.status, 400)
    assert.equal(idx.body.errors[0].code, 'MANIFEST_BLOB_UNKNOWN')
  })

  test('an index over pushed children; served with its type', async () => {
    const a = await image('app/multi')
    const b = await image('app/multi')
    for (const m of [a, b]) assert.equal((await putManifest('app/multi', m.digest, m.manifest)).status, 201)
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: OCI_MANIFEST, digest: b.digest, size: b.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    })
    assert.equal((await putManifest('app/multi', 'latest', index, OCI_INDEX)).status, 201)
    const get = await api().get('/v2/app/multi/manifests/latest').set('Accept', OCI_INDEX)
    assert.equal(get.headers['content-type'], OCI_INDEX)
    assert.equal(get.headers['docker-content-digest'], sha256(index))
  })

  test('media type: from the body, else the shape; the Content-Type must agree', async () => {
    const img = await image('app/types')
    const doc = JSON.parse(img.manifest.toString())
    delete doc.mediaType
    const bare = Buffer.from(JSON.stringify(doc, null, '\t'))
    const put = await putManifest('app/types', 'emptylayer', bare)
    assert.equal(put.status, 201)
    const get = await api().get('/v2/app/types/manifests/emptylayer')
    assert.equal(get.headers['content-type'], OCI_MANIFEST)
    assert.equal(get.headers['docker-content-digest'], sha256(bare))
    const asIndex = await putManifest('app/types', 'wrong', bare, OCI_INDEX)
    assert.equal(asIndex.status, 400)
    assert.equal(asIndex.body.errors[0].code, 'MANIFEST_INVALID')
    const contradict = await putManifest('app/types', 'wrong', img.manifest, DOCKER_MANIFEST)
    assert.equal(contradict.body.errors[0].code, 'MANIFEST_INVALID')
    // Parameters on the Content-Type do not matter; a generic one is ignored.
    assert.equal((await putManifest('app/types', 'params', img.manifest, `${OCI_MANIFEST}; charset=utf-8`)).status, 201)
    assert.equal((await putManifest('app/types', 'generic', img.manifest, 'application/json')).status, 201)
  })

  test('bodies that are no storable manifest: MANIFEST_INVALID; over 4 MiB: 413', async () => {
    for (const body of [
      'not json',
      '[]',
      '{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}',
      '{"schemaVersion":2,"mediaType":"application/x-other","config":{}}',
      `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"digest":"sha256:nope"},"layers":[]}`,
    ]) {
      const res = await putManifest('app/bad', 'v1', body)
      assert.equal(res.status, 400, body)
      assert.equal(res.body.errors[0].code, 'MANIFEST_INVALID', body)
    }
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20)
    const res = await putManifest('app/bad', 'v1', big)
    assert.equal(res.status, 413)
    // Sent chunked, with no Content-Length: found out while reading, answered all the same.
    const chunked = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${app.url}/v2/app/bad/manifests/v1`)
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST } },
        (r) => {
          r.resume()
          resolve(r.statusCode!)
        },
      )
      req.on('error', reject)
      for (let i = 0; i < 5; i++) req.write(Buffer.alloc(1024 * 1024, 0x20))
      req.end()
    })
    assert.equal(chunked, 413)
    const badTag = await putManifest('app/bad', '.bad', '{}')
    assert.equal(badTag.status, 400)
    assert.equal(badTag.body.errors[0].code, 'TAG_INVALID')
  })

  test('subject: accepted when absent, answered with OCI-Subject, listed by the referrers API', async () => {
    const subject = await image('app/refs')
    const subjectDesc = { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length }
    const sbom = await image('app/refs', {
      artifactType: 'application/spdx+json',
      subject: subjectDesc,
      annotations: { 'org.example': 'sbom' },
    })
    const put = await putManifest('app/refs', sbom.digest, sbom.manifest)
    assert.equal(put.status, 201)
    assert.equal(put.headers['oci-subject'], subject.digest)
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      artifactType: 'application/vnd.food.stand',
      manifests: [],
      subject: subjectDesc,
      annotations: { a: 'b' },
    })
    const putIndex = await putManifest('app/refs', sha256(index), index, OCI_INDEX)
    assert.equal(putIndex.status, 201)
    assert.equal(putIndex.headers['oci-subject'], subject.digest)
    const refs = await api().get(`/v2/app/refs/referrers/${subject.digest}`)
    assert.equal(refs.status, 200)
    assert.equal(refs.headers['content-type'], OCI_INDEX)
    const manifests = JSON.parse(refs.text).manifests
    assert.equal(manifests.length, 2)
    const bySbom = manifests.find((m: { digest: string }) => m.digest === sbom.digest)
    assert.deepEqual(bySbom, {
      mediaType: OCI_MANIFEST,
      digest: sbom.digest,
      size: sbom.manifest.length,
      artifactType: 'application/spdx+json',
      annotations: { 'org.example': 'sbom' },
    })
    const filtered = JSON.parse(
      (await api().get(`/v2/app/refs/referrers/${subject.digest}?artifactType=application/vnd.food.stand`)).text,
    ).manifests
    assert.deepEqual(
      filtered.map((m: { digest: string }) => m.digest),
      [sha256(index)],
    )
    // Unknown repositories and subjects have no referrers: 200, empty.
    const none = await api().get(`/v2/never/pushed/referrers/${subject.digest}`)
    assert.equal(none.status, 200)
    assert.deepEqual(JSON.parse(none.text).manifests, [])
    // Deleting a referrer drops it from the list.
    assert.equal((await api().delete(`/v2/app/refs/manifests/${sbom.digest}`)).status, 202)
    assert.equal(JSON.parse((await api().get(`/v2/app/refs/referrers/${subject.digest}`)).text).manifests.length, 1)
  })

  test('deletes: a tag, a manifest with every tag pointing at it, a blob', async () => {
    const img = await image('app/del')
    for (const t of ['a', 'b', 'keep']) await putManifest('app/del', t, img.manifest)
    const other = await image('app/del')
    await putManifest('app/del', 'keep', other.manifest)
    const tag = await api().delete('/v2/app/del/manifests/a')
    assert.equal(tag.status, 202)
    assert.equal((await api().get('/v2/app/del/manifests/a')).status, 404)
    assert.equal((await api().get(`/v2/app/del/manifests/${img.digest}`)).status, 200)
    assert.equal((await api().delete('/v2/app/del/manifests/a')).status, 404)
    const byDigest = await api().delete(`/v2/app/del/manifests/${img.digest}`)
    assert.equal(byDigest.status, 202)
    assert.equal((await api().get(`/v2/app/del/manifests/${img.digest}`)).status, 404)
    assert.equal((await api().get('/v2/app/del/manifests/b')).status, 404)
    assert.deepEqual((await api().get('/v2/app/del/tags/list')).body.tags, ['keep'])
    const again = await api().delete(`/v2/app/del/manifests/${img.digest}`)
    assert.equal(again.status, 404)
    assert.equal(again.body.errors[0].code, 'MANIFEST_UNKNOWN')
    const blob = await api().delete(`/v2/app/del/blobs/${sha256(img.config)}`)
    assert.equal(blob.status, 202)
    assert.equal((await api().get(`/v2/app/del/blobs/${sha256(img.config)}`)).status, 404)
    const gone = await api().delete(`/v2/app/del/blobs/${sha256(img.config)}`)
    assert.equal(gone.status, 404)
    assert.equal(gone.body.errors[0].code, 'BLOB_UNKNOWN')
    const unknownRepo = await api().delete(`/v2/no/such/manifests/${img.digest}`)
    assert.equal(unknownRepo.status, 404)
    assert.equal(unknownRepo.body.errors[0].code, 'NAME_UNKNOWN')
    assert.deepEqual(checkTree(join(dir, 'push')), [])
  })

  test('a repository in the bundle and the push root: union of tags, the pushed tag wins, bundle content read-only', async () => {
    const before = (await api().get('/v2/library/multi/tags/list')).body.tags
    assert.deepEqual(before, ['1.0', 'latest'])
    // A manifest over the bundle's blobs, pushed without uploading them: they are copied in.
    const amd = bundle.amd64
    assert.equal((await putManifest('library/multi', 'latest', amd.manifest.bytes)).status, 201)
    assert.equal((await putManifest('library/multi', '2.0', amd.manifest.bytes)).status, 201)
    assert.deepEqual((await api().get('/v2/library/multi/tags/list')).body.tags, ['1.0', '2.0', 'latest'])
    assert.equal((await api().head('/v2/library/multi/manifests/latest')).headers['docker-content-digest'], amd.manifest.digest)
    assert.equal(
      (await api().head('/v2/library/multi/manifests/1.0').set('Accept', OCI_INDEX)).headers['docker-content-digest'],
      bundle.index.digest,
    )
    const alone = new Registry2Store(join(dir, 'push'))
    assert.equal((await alone.resolveTag('library/multi', 'latest'))?.value, amd.manifest.digest)
    assert.ok(await alone.stat('library/multi', { algorithm: 'sha256', hex: amd.layers[0]!.digest.slice(7), value: amd.layers[0]!.digest }))
    assert.deepEqual(checkTree(join(dir, 'push')), [])
    // An index whose children only the bundle holds: children and their blobs come along.
    assert.equal((await putManifest('library/multi', 'idx', bundle.index.bytes, OCI_INDEX)).status, 201)
    assert.ok(
      await alone.hasManifest('library/multi', {
        algorithm: 'sha256',
        hex: bundle.arm64.manifest.digest.slice(7),
        value: bundle.arm64.manifest.digest,
      }),
    )
    assert.deepEqual(checkTree(join(dir, 'push')), [])
    // Deleting the pushed tag brings the bundle's back; the bundle's own tags cannot be deleted.
    assert.equal((await api().delete('/v2/library/multi/manifests/latest')).status, 202)
    assert.equal(
      (await api().head('/v2/library/multi/manifests/latest').set('Accept', OCI_INDEX)).headers['docker-content-digest'],
      bundle.index.digest,
    )
    const ro = await api().delete('/v2/library/multi/manifests/1.0')
    assert.equal(ro.status, 405)
    assert.equal(ro.body.errors[0].code, 'UNSUPPORTED')
    assert.equal((await api().delete(`/v2/library/multi/blobs/${bundle.big.digest}`)).status, 405)
    assert.ok(existsSync(join(dir, 'bundle/docker/registry/v2/repositories/library/multi/_manifests/tags/1.0/current/link')))
  })

  test('the written tree is what docker-registry writes: link files hold the bare digest', () => {
    const base = join(dir, 'push/docker/registry/v2/repositories/app/one/_manifests')
    const current = readFileSync(join(base, 'tags/v1/current/link'), 'utf8')
    assert.match(current, /^sha256:[0-9a-f]{64}$/)
    assert.equal(readFileSync(join(base, 'tags/v1/index/sha256', current.slice(7), 'link'), 'utf8'), current)
    assert.equal(readFileSync(join(base, 'revisions/sha256', current.slice(7), 'link'), 'utf8'), current)
  })
})

describe('writes switched off', () => {
  let dir: string
  let app: PushApp
  before(async () => {
    dir = tempDir('outpost-push-')
    app = await startPushApp(join(dir, 'push'), { deletes: false })
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('delete off: 405 UNSUPPORTED with Allow; the content stays', async () => {
    const config = Buffer.from('{}')
    await pushBlob(app.url, 'keep/me', config)
    const manifest = imageManifest(config, [])
    assert.equal(
      (await request(app.url).put('/v2/keep/me/manifests/v1').set('Content-Type', OCI_MANIFEST).send(manifest.toString())).status,
      201,
    )
    const m = await request(app.url).delete('/v2/keep/me/manifests/v1')
    assert.equal(m.status, 405)
    assert.equal(m.body.errors[0].code, 'UNSUPPORTED')
    assert.equal(m.headers.allow, 'GET, HEAD, PUT')
    const b = await request(app.url).delete(`/v2/keep/me/blobs/${sha256(config)}`)
    assert.equal(b.status, 405)
    assert.equal(b.headers.allow, 'GET, HEAD')
    assert.equal((await request(app.url).get('/v2/keep/me/manifests/v1')).status, 200)
    // Cancelling an upload is no delete of content.
    const post = await request(app.url).post('/v2/keep/me/blobs/uploads/')
    assert.equal((await request(app.url).delete(post.headers.location)).status, 204)
  })

  test('a listener that may not write: every write is 405, reads work', async () => {
    const ro = await startPushApp(join(dir, 'push'), { writes: false })
    try {
      for (const [method, path] of [
        ['post', '/v2/keep/me/blobs/uploads/'],
        ['put', '/v2/keep/me/manifests/v2'],
        ['delete', '/v2/keep/me/manifests/v1'],
        ['patch', '/v2/keep/me/blobs/uploads/00000000-0000-4000-8000-000000000000'],
      ] as const) {
        const res = await request(ro.url)[method](path)
        assert.equal(res.status, 405, `${method} ${path}`)
        assert.equal(res.body.errors[0].code, 'UNSUPPORTED')
      }
      assert.equal((await request(ro.url).get('/v2/keep/me/manifests/v1')).status, 200)
    } finally {
      await ro.close()
    }
  })
})
