/**
 * What import writes into a push root is served by the registry API like
 * pushed content: imported by a writer of its own (as `outpost import`, a
 * process of its own, does) beside a serving app over the same tree.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { makeImage, makeIndex, type ImageParts } from '../../src/demo/images.js'
import { DOCKER_MANIFEST, OCI_INDEX, Registry2WritableStore } from '../../src/images/index.js'
import { importPaths, WriterSink, type ImportedImage } from '../../src/images/import/index.js'
import { tempDir } from '../helpers/server.js'
import { startPushApp, sha256, type PushApp } from '../helpers/push.js'
import { filesToTar, layoutFiles, legacyDockerFiles, plainImage, writeFile, writeTree } from '../helpers/image-archives.js'

const ACCEPT = [OCI_INDEX, DOCKER_MANIFEST, 'application/vnd.oci.image.manifest.v1+json'].join(', ')

describe('imported images are served from the push root', () => {
  let dir: string
  let app: PushApp
  let amd64: ImageParts
  let results: ImportedImage[]

  before(async () => {
    dir = tempDir('outpost-http-import-')
    const root = join(dir, 'push')
    app = await startPushApp(root)
    amd64 = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'etc/arch': 'amd64\n' } })
    const index = makeIndex([{ image: amd64, platform: { architecture: 'amd64', os: 'linux' } }])
    const layout = writeTree(
      join(dir, 'layout'),
      layoutFiles(
        [{ manifest: index, mediaType: OCI_INDEX, blobs: [], annotations: { 'io.containerd.image.name': 'docker.io/library/hello:1.0' } }],
        [amd64.manifest, amd64.config, ...amd64.layers],
      ),
    )
    const plain = await plainImage([{ 'etc/one': '1\n' }])
    const legacy = writeFile(join(dir, 'legacy.tar'), await filesToTar(legacyDockerFiles([{ image: plain, repoTags: ['pause:3.9'] }])))
    // Another writer over the same tree, as the command in a process of its own.
    const writer = new Registry2WritableStore(root)
    results = []
    for await (const r of importPaths([layout, legacy], new WriterSink(writer, { prepare: () => writer.init() }))) results.push(r)
  })
  after(async () => {
    await app?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('catalog, tags and manifests by tag, with the digest import printed', async () => {
    const catalog = await request(app.url).get('/v2/_catalog')
    assert.deepEqual(catalog.body.repositories, ['library/hello', 'library/pause'])
    for (const r of results) {
      const tags = await request(app.url).get(`/v2/${r.name}/tags/list`)
      assert.ok(tags.body.tags.includes(r.tag))
      const m = await request(app.url)
        .get(`/v2/${r.name}/manifests/${r.tag}`)
        .set('Accept', ACCEPT)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => done(null, Buffer.concat(chunks)))
        })
      assert.equal(m.status, 200, r.line)
      assert.equal(m.headers['docker-content-digest'], r.digest)
      assert.equal(sha256(m.body as Buffer), r.digest)
      assert.equal(m.headers['content-type'], r.mediaType)
    }
    assert.equal(results.find((r) => r.name === 'library/pause')!.mediaType, DOCKER_MANIFEST)
  })

  test('every blob of an imported image is served from its repository', async () => {
    for (const b of [amd64.config, ...amd64.layers]) {
      const res = await request(app.url).get(`/v2/library/hello/blobs/${b.digest}`).buffer(true)
      assert.equal(res.status, 200)
      assert.equal(res.headers['docker-content-digest'], b.digest)
    }
    // A blob of another repository is not served here (registry:2 links blobs per repository).
    const other = await request(app.url).head(`/v2/library/pause/blobs/${amd64.layers[0]!.digest}`)
    assert.equal(other.status, 404)
  })
})
