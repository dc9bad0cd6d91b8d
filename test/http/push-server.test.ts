/**
 * Pushing into a running server: the push root in the layout (its default
 * place, made at start), a push visible on every listener the moment its
 * PUT returns, the catalog following pushed content, delete on and off from
 * the configuration, and a push root that would write a bundle refused.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { ConfigError, loadConfig, startServer, silentLogger } from '../../src/server/index.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { httpsGet } from '../helpers/tls.js'
import { waitFor } from '../helpers/procs.js'
import { OCI_MANIFEST, imageManifest, pushBlob, sha256 } from '../helpers/push.js'

describe('push into a running server', () => {
  let dir: string
  let fx: Fixture
  let s: TestServer
  let pushUrl: string
  let ca: string
  before(async () => {
    dir = tempDir()
    fx = await buildRegistry2(join(dir, 'bundle'))
    s = await startTestServer({
      registry: { roots: [join(dir, 'bundle')], delete: true },
      listen: { push: '127.0.0.1:0', https: '127.0.0.1:0' },
    })
    pushUrl = s.running.listeners.find((l) => l.name === 'push')!.url
    ca = (await request(s.url).get('/ca.crt')).text
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('the push root defaults to <data_dir>/registry, an empty registry:2 tree made at start', () => {
    assert.ok(existsSync(join(s.dataDir, 'registry/docker/registry/v2/repositories')))
    assert.equal(s.running.layout.stores.stores[0]!.label, `registry2:${join(s.dataDir, 'registry')}`)
  })

  test('a push is served on every listener the moment its PUT returns', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}')
    const layer = randomBytes(1000)
    const manifest = imageManifest(config, [layer])
    // Asked everywhere first, so that any answer a cache kept would show.
    for (const url of [s.url, pushUrl]) {
      assert.equal((await request(url).get('/v2/library/multi/manifests/pushed')).status, 404)
      assert.deepEqual((await request(url).get('/v2/library/multi/tags/list')).body.tags, ['1.0', 'latest'])
    }
    assert.equal((await httpsGet(`${s.httpsUrl}/v2/library/multi/manifests/pushed`, { ca })).status, 404)
    await pushBlob(pushUrl, 'library/multi', config)
    await pushBlob(pushUrl, 'library/multi', layer)
    const put = await request(pushUrl).put('/v2/library/multi/manifests/pushed').set('Content-Type', OCI_MANIFEST).send(manifest.toString())
    assert.equal(put.status, 201)
    for (const url of [s.url, pushUrl]) {
      const get = await request(url).get('/v2/library/multi/manifests/pushed')
      assert.equal(get.status, 200, url)
      assert.equal(get.headers['docker-content-digest'], sha256(manifest))
      assert.deepEqual((await request(url).get('/v2/library/multi/tags/list')).body.tags, ['1.0', 'latest', 'pushed'])
      assert.equal((await request(url).head(`/v2/library/multi/blobs/${sha256(layer)}`)).status, 200)
    }
    const https = await httpsGet(`${s.httpsUrl}/v2/library/multi/manifests/pushed`, { ca })
    assert.equal(https.status, 200)
    assert.equal(https.headers['docker-content-digest'], sha256(manifest))
    // The bundle's tags are still served from the bundle, which was not written.
    assert.equal(
      (await request(s.url).head('/v2/library/multi/manifests/1.0').set('Accept', 'application/vnd.oci.image.index.v1+json')).headers[
        'docker-content-digest'
      ],
      fx.index.digest,
    )
    assert.equal(existsSync(join(dir, 'bundle/docker/registry/v2/repositories/library/multi/_manifests/tags/pushed')), false)
    assert.equal(
      readFileSync(join(s.dataDir, 'registry/docker/registry/v2/repositories/library/multi/_manifests/tags/pushed/current/link'), 'utf8'),
      sha256(manifest),
    )
  })

  test('the catalog sees pushed content through its watcher', async () => {
    await s.running.watcherReady
    const config = Buffer.from('{"architecture":"arm64","os":"linux"}')
    await pushBlob(pushUrl, 'new/repo', config)
    const manifest = imageManifest(config, [])
    assert.equal(
      (await request(pushUrl).put('/v2/new/repo/manifests/v9').set('Content-Type', OCI_MANIFEST).send(manifest.toString())).status,
      201,
    )
    await waitFor(async () => {
      const inv = await request(s.url).get('/inventory?repo=new/repo').set('Accept', 'application/json')
      return inv.body.images?.some(
        (i: { repository: string; tags: Array<{ tag: string; digest: string }> }) =>
          i.repository === 'new/repo' && i.tags.some((t) => t.tag === 'v9' && t.digest === sha256(manifest)),
      )
    }, 'the catalog to list new/repo:v9')
  })

  test('writes on the HTTP listener without htpasswd stay 405; deletes on the push listener follow registry.delete', async () => {
    const refused = await request(s.url).delete('/v2/new/repo/manifests/v9')
    assert.equal(refused.status, 405)
    assert.equal((await request(pushUrl).delete('/v2/new/repo/manifests/v9')).status, 202)
    assert.equal((await request(s.url).get('/v2/new/repo/manifests/v9')).status, 404)
  })
})

describe('push configuration', () => {
  test('OUTPOST_REGISTRY_DELETE and OUTPOST_REGISTRY_PUSH_ROOT; deletes are off by default', async () => {
    const dir = tempDir()
    try {
      const env = { OUTPOST_REGISTRY_DELETE: 'true', OUTPOST_REGISTRY_PUSH_ROOT: join(dir, 'pushed') }
      const { config } = loadConfig({
        env,
        noDefaultFile: true,
        flags: { data_dir: join(dir, 'data'), listen: { http: '127.0.0.1:0', https: 'off', push: '127.0.0.1:0', ntp: 'off' } },
      })
      assert.equal(config.registry.delete, true)
      const running = await startServer(config, silentLogger())
      try {
        const push = running.listeners.find((l) => l.name === 'push')!.url
        await pushBlob(push, 'a/b', Buffer.from('{}'))
        assert.ok(existsSync(join(dir, 'pushed/docker/registry/v2/repositories/a/b/_layers')))
        assert.equal((await request(push).delete(`/v2/a/b/blobs/${sha256('{}')}`)).status, 202)
      } finally {
        await running.close(500)
      }
      const off = loadConfig({ env: {}, noDefaultFile: true, flags: { data_dir: join(dir, 'data') } }).config
      assert.equal(off.registry.delete, false)
      assert.equal(off.registry.push_root, join(dir, 'data', 'registry'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a push root that is a bundle root is refused at start', async () => {
    const dir = tempDir()
    try {
      await assert.rejects(
        startTestServer({ registry: { roots: [join(dir, 'bundle')], push_root: join(dir, 'bundle') } }),
        (err: unknown) => err instanceof ConfigError && /registry\.push_root/.test(err.message),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a push root that cannot be written stops start-up, naming registry.push_root', async () => {
    const dir = tempDir()
    try {
      const file = join(dir, 'not-a-folder')
      writeFileSync(file, 'x')
      await assert.rejects(
        startTestServer({ registry: { push_root: file } }),
        (err: unknown) => err instanceof ConfigError && /registry\.push_root/.test(err.message),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
