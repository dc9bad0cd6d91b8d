/** Blob uploads over a real socket: sessions, chunks, monolithic pushes, mounts, limits. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { Registry2Store } from '../../src/images/index.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { tempDir } from '../helpers/server.js'
import { checkTree, pushBlob, sha256, startPushApp, type PushApp } from '../helpers/push.js'

const UUID_PATH = /^\/v2\/up\/load\/blobs\/uploads\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const binary = (res: request.Response, cb: (err: Error | null, body: Buffer) => void): void => {
  const chunks: Buffer[] = []
  res.on('data', (c: Buffer) => chunks.push(c))
  res.on('end', () => cb(null, Buffer.concat(chunks)))
}

describe('blob uploads', () => {
  let dir: string
  let app: PushApp
  let bundle: Fixture
  const api = () => request(app.url)
  const blobPath = (name: string, digest: string) =>
    join(
      dir,
      'push',
      'docker/registry/v2',
      ...(name
        ? ['repositories', name, '_layers/sha256', digest.slice(7), 'link']
        : ['blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data']),
    )

  before(async () => {
    dir = tempDir('outpost-push-')
    bundle = await buildRegistry2(join(dir, 'bundle'))
    app = await startPushApp(join(dir, 'push'), { stores: [new Registry2Store(join(dir, 'bundle'))], writer: { maxUploads: 20 } })
  })
  after(async () => {
    await app.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('POST opens a session in a repository that does not exist yet', async () => {
    const res = await api().post('/v2/up/load/blobs/uploads/')
    assert.equal(res.status, 202)
    assert.match(res.headers.location, UUID_PATH)
    assert.equal(res.headers['docker-upload-uuid'], res.headers.location.split('/').pop())
    assert.equal(res.headers.range, '0-0')
    assert.equal(res.headers['content-length'], '0')
    const id = res.headers['docker-upload-uuid']
    // docker-registry's session files: data and startedat (RFC 3339, whole seconds, UTC).
    const session = join(dir, 'push/docker/registry/v2/repositories/up/load/_uploads', id)
    assert.match(readFileSync(join(session, 'startedat'), 'utf8'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.equal(readFileSync(join(session, 'data')).length, 0)
    // Not a blob until the PUT.
    assert.equal((await api().get('/v2/up/load/tags/list')).status, 404)
  })

  test('monolithic POST ?digest=: 201, readable at once; a wrong digest stores nothing', async () => {
    const bytes = randomBytes(129)
    const digest = sha256(bytes)
    const res = await api().post(`/v2/up/load/blobs/uploads/?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes)
    assert.equal(res.status, 201)
    assert.equal(res.headers.location, `/v2/up/load/blobs/${digest}`)
    assert.equal(res.headers['docker-content-digest'], digest)
    const get = await api().get(`/v2/up/load/blobs/${digest}`).buffer(true).parse(binary)
    assert.equal(get.status, 200)
    assert.ok((get.body as Buffer).equals(bytes))
    assert.equal(readFileSync(blobPath('up/load', digest), 'utf8'), digest)

    const other = randomBytes(50)
    const bad = await api()
      .post(`/v2/up/load/blobs/uploads/?digest=${sha256(randomBytes(3))}`)
      .set('Content-Type', 'application/octet-stream')
      .send(other)
    assert.equal(bad.status, 400)
    assert.equal(bad.body.errors[0].code, 'DIGEST_INVALID')
    assert.equal(existsSync(blobPath('', sha256(other))), false)
    const malformed = await api().post('/v2/up/load/blobs/uploads/?digest=sha256:nope').send(other)
    assert.equal(malformed.status, 400)
    assert.equal(malformed.body.errors[0].code, 'DIGEST_INVALID')
  })

  test('POST then PUT with the whole body', async () => {
    const bytes = randomBytes(1000)
    const digest = await pushBlob(app.url, 'up/load', bytes)
    assert.equal((await api().head(`/v2/up/load/blobs/${digest}`)).headers['content-length'], '1000')
  })

  test('streamed PATCH without Content-Range, then PUT with no body', async () => {
    const bytes = randomBytes(42)
    const post = await api().post('/v2/up/load/blobs/uploads/')
    const patch = await api().patch(post.headers.location).set('Content-Type', 'application/octet-stream').send(bytes)
    assert.equal(patch.status, 202)
    assert.equal(patch.headers.range, '0-41')
    assert.equal(patch.headers.location, post.headers.location)
    const put = await api()
      .put(`${patch.headers.location}?digest=${sha256(bytes)}`)
      .set('Content-Length', '0')
    assert.equal(put.status, 201)
    assert.equal(put.headers.location, `/v2/up/load/blobs/${sha256(bytes)}`)
    // The session is over.
    const again = await api().get(post.headers.location)
    assert.equal(again.status, 404)
    assert.equal(again.body.errors[0].code, 'BLOB_UPLOAD_UNKNOWN')
    assert.equal((await api().patch(post.headers.location).send(bytes)).status, 404)
  })

  test('chunked: ranges in order, 416 out of order and on a resend, status 204, stale URLs still valid', async () => {
    const bytes = randomBytes(42)
    const fresh = await api().post('/v2/up/load/blobs/uploads/')
    const early = await api()
      .patch(fresh.headers.location)
      .set('Content-Range', '22-41')
      .set('Content-Type', 'application/octet-stream')
      .send(bytes.subarray(22))
    assert.equal(early.status, 416)
    // The 416 left the session as it was.
    assert.equal((await api().get(fresh.headers.location)).headers.range, '0-0')

    const post = await api().post('/v2/up/load/blobs/uploads/')
    const first = await api()
      .patch(post.headers.location)
      .set('Content-Range', '0-21')
      .set('Content-Type', 'application/octet-stream')
      .send(bytes.subarray(0, 22))
    assert.equal(first.status, 202)
    assert.equal(first.headers.range, '0-21')
    const resend = await api()
      .patch(post.headers.location)
      .set('Content-Range', '0-21')
      .set('Content-Type', 'application/octet-stream')
      .send(bytes.subarray(0, 22))
    assert.equal(resend.status, 416)
    const status = await api().get(post.headers.location)
    assert.equal(status.status, 204)
    assert.equal(status.headers.range, '0-21')
    assert.equal(status.headers.location, post.headers.location)
    assert.equal(status.headers['docker-upload-uuid'], post.headers['docker-upload-uuid'])
    const second = await api()
      .patch(status.headers.location)
      .set('Content-Range', 'bytes 22-41/42')
      .set('Content-Type', 'application/octet-stream')
      .send(bytes.subarray(22))
    assert.equal(second.status, 202)
    assert.equal(second.headers.range, '0-41')
    const put = await api().put(`${second.headers.location}?digest=${sha256(bytes)}`)
    assert.equal(put.status, 201)
    const get = await api()
      .get(`/v2/up/load/blobs/${sha256(bytes)}`)
      .buffer(true)
      .parse(binary)
    assert.ok((get.body as Buffer).equals(bytes))
  })

  test('a final chunk may come with the PUT, with or without Content-Range', async () => {
    const bytes = randomBytes(300)
    const post = await api().post('/v2/up/load/blobs/uploads/')
    await api().patch(post.headers.location).set('Content-Range', '0-99').send(bytes.subarray(0, 100))
    const bad = await api()
      .put(`${post.headers.location}?digest=${sha256(bytes)}`)
      .set('Content-Range', '50-249')
      .send(bytes.subarray(100))
    assert.equal(bad.status, 416)
    const put = await api()
      .put(`${post.headers.location}?digest=${sha256(bytes)}`)
      .set('Content-Range', '100-299')
      .send(bytes.subarray(100))
    assert.equal(put.status, 201)
  })

  test('Content-Range that disagrees with the body or its length is BLOB_UPLOAD_INVALID; nothing is kept', async () => {
    const post = await api().post('/v2/up/load/blobs/uploads/')
    const res = await api().patch(post.headers.location).set('Content-Range', '0-9').send(randomBytes(5))
    assert.equal(res.status, 400)
    assert.equal(res.body.errors[0].code, 'BLOB_UPLOAD_INVALID')
    const syntax = await api().patch(post.headers.location).set('Content-Range', 'ten-twenty').send(randomBytes(11))
    assert.equal(syntax.status, 400)
    assert.equal((await api().get(post.headers.location)).headers.range, '0-0')
  })

  test('PUT without a digest, with a malformed one, with a wrong one', async () => {
    const bytes = randomBytes(10)
    const post = await api().post('/v2/up/load/blobs/uploads/')
    const none = await api().put(post.headers.location).send(bytes)
    assert.equal(none.status, 400)
    assert.equal(none.body.errors[0].code, 'DIGEST_INVALID')
    const malformed = await api().put(`${post.headers.location}?digest=sha256:xyz`).send(bytes)
    assert.equal(malformed.body.errors[0].code, 'DIGEST_INVALID')
    const wrong = await api()
      .put(`${post.headers.location}?digest=${sha256('other')}`)
      .send(bytes)
    assert.equal(wrong.status, 400)
    assert.equal(wrong.body.errors[0].code, 'DIGEST_INVALID')
    // A digest mismatch ends the session and stores nothing.
    assert.equal((await api().get(post.headers.location)).status, 404)
    assert.equal(existsSync(blobPath('', sha256(bytes))), false)
  })

  test('DELETE cancels a session; unknown sessions are BLOB_UPLOAD_UNKNOWN', async () => {
    const post = await api().post('/v2/up/load/blobs/uploads/')
    await api().patch(post.headers.location).send(randomBytes(10))
    const del = await api().delete(post.headers.location)
    assert.equal(del.status, 204)
    assert.equal(existsSync(join(dir, 'push/docker/registry/v2/repositories/up/load/_uploads', post.headers['docker-upload-uuid'])), false)
    for (const path of [
      post.headers.location,
      '/v2/up/load/blobs/uploads/00000000-0000-4000-8000-000000000000',
      '/v2/up/load/blobs/uploads/not-a-uuid',
    ]) {
      const res = await api().get(path)
      assert.equal(res.status, 404, path)
      assert.equal(res.body.errors[0].code, 'BLOB_UPLOAD_UNKNOWN')
      assert.equal((await api().delete(path)).status, 404)
    }
    // A session belongs to its repository.
    const mine = await api().post('/v2/up/load/blobs/uploads/')
    assert.equal((await api().get(mine.headers.location.replace('/up/load/', '/other/'))).status, 404)
  })

  test('mount from a pushed repository: 201, linked in the target, readable at once', async () => {
    const bytes = randomBytes(64)
    const digest = await pushBlob(app.url, 'up/load', bytes)
    const res = await api().post(`/v2/mounted/here/blobs/uploads/?mount=${digest}&from=up/load`)
    assert.equal(res.status, 201)
    assert.equal(res.headers.location, `/v2/mounted/here/blobs/${digest}`)
    assert.equal(res.headers['docker-content-digest'], digest)
    assert.equal((await api().get(`/v2/mounted/here/blobs/${digest}`)).status, 200)
    assert.equal(readFileSync(blobPath('mounted/here', digest), 'utf8'), digest)
  })

  test('mount from a bundle repository copies the blob into the push root', async () => {
    const layer = bundle.amd64.layers[0]!
    assert.equal(existsSync(blobPath('', layer.digest)), false)
    const res = await api().post(`/v2/from/bundle/blobs/uploads/?mount=${layer.digest}&from=library/multi`)
    assert.equal(res.status, 201)
    assert.ok(readFileSync(blobPath('', layer.digest)).equals(layer.bytes))
    // The push root alone serves it (docker-registry over the push root would).
    const alone = new Registry2Store(join(dir, 'push'))
    assert.equal(
      (await alone.stat('from/bundle', { algorithm: 'sha256', hex: layer.digest.slice(7), value: layer.digest }))?.size,
      layer.size,
    )
    assert.deepEqual(checkTree(join(dir, 'push')), [])
  })

  test('mount that cannot happen opens a plain session (202)', async () => {
    const unknown = sha256('hello world')
    for (const q of [
      `mount=${unknown}`,
      `mount=${unknown}&from=up/load`,
      `mount=${bundle.unlinked.digest}&from=library/multi`,
      `mount=${bundle.amd64.layers[0]!.digest}&from=library/pause`,
    ]) {
      const res = await api().post(`/v2/mount/target/blobs/uploads/?${q}`)
      assert.equal(res.status, 202, q)
      assert.match(res.headers.location, /^\/v2\/mount\/target\/blobs\/uploads\//)
      await api().delete(res.headers.location)
    }
  })

  test('a large blob in 1 MiB chunks and streamed whole', async () => {
    const bytes = randomBytes(8 * 1024 * 1024 + 3)
    const post = await api().post('/v2/up/large/blobs/uploads/')
    let loc = post.headers.location
    for (let at = 0; at < bytes.length; at += 1024 * 1024) {
      const end = Math.min(at + 1024 * 1024, bytes.length) - 1
      const res = await api()
        .patch(loc)
        .set('Content-Range', `${at}-${end}`)
        .set('Content-Type', 'application/octet-stream')
        .send(bytes.subarray(at, end + 1))
      assert.equal(res.status, 202)
      loc = res.headers.location
    }
    assert.equal((await api().put(`${loc}?digest=${sha256(bytes)}`)).status, 201)
    const streamed = randomBytes(5 * 1024 * 1024)
    assert.equal(await pushBlob(app.url, 'up/large', streamed), sha256(streamed))
    const get = await api()
      .get(`/v2/up/large/blobs/${sha256(bytes)}`)
      .buffer(true)
      .parse(binary)
    assert.ok((get.body as Buffer).equals(bytes))
  })

  test('open sessions are bounded: TOOMANYREQUESTS past the limit', async () => {
    const opened: string[] = []
    let refused: request.Response | undefined
    for (let i = 0; i < 25 && !refused; i++) {
      const res = await api().post('/v2/many/sessions/blobs/uploads/')
      if (res.status === 202) opened.push(res.headers.location)
      else refused = res
    }
    assert.ok(refused, 'some POST was refused')
    assert.equal(refused.status, 429)
    assert.equal(refused.body.errors[0].code, 'TOOMANYREQUESTS')
    for (const loc of opened) await api().delete(loc)
    assert.equal((await api().post('/v2/many/sessions/blobs/uploads/')).status, 202)
  })

  test('upload leftovers: no stray files in the tree after all of the above', () => {
    assert.deepEqual(checkTree(join(dir, 'push')), [])
    const work = join(dir, 'push/.outpost-work')
    assert.deepEqual(readdirSync(work), [])
  })
})
