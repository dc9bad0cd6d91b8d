/**
 * Images are checked whole by the scan: a bundle with a removed layer, a
 * removed child manifest of an index, a config that is not JSON and a
 * foreign layer. /inventory (JSON and text) and /readyz name each problem:
 * the image, the platform, the digest and the kind.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import request from 'supertest'
import { buildBrokenBundle, type BrokenBundle } from '../helpers/broken-bundle.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'

describe('images checked whole: scan, /inventory, /readyz', () => {
  let dir: string
  let b: BrokenBundle
  let s: TestServer
  before(async () => {
    dir = tempDir('outpost-bundle-images-')
    b = await buildBrokenBundle(dir)
    s = await startTestServer({ bundle: dir })
    await s.running.scanned
  })
  after(async () => {
    await s?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const expected = () => [
    {
      image: 'library/badconfig:1.0',
      platform: 'unknown',
      digest: b.badconfig.config.digest,
      kind: 'corrupt',
      part: 'config',
      detail: 'not valid JSON',
    },
    { image: 'library/multi:1.0', platform: 'linux/arm64/v8', digest: b.multiArm.manifest.digest, kind: 'missing', part: 'manifest' },
    { image: 'library/pause:3.3', platform: 'linux/amd64', digest: b.pause.layers[0]!.digest, kind: 'missing', part: 'layer' },
    { image: 'library/win:1.0', platform: 'linux/amd64', digest: b.foreignLayer.digest, kind: 'foreign', part: 'layer' },
  ]

  test('/inventory JSON carries problems: [{image, platform, digest, kind}]', async () => {
    const inv = (await request(s.url).get('/inventory').set('Accept', 'application/json')).body
    assert.deepEqual(inv.problems, expected())
    // A tag whose index lacks a child is still listed, with the platforms it is for.
    const multi = inv.images.find((i: { repository: string }) => i.repository === 'library/multi')
    assert.deepEqual(multi.tags[0].platforms, ['linux/amd64', 'linux/arm64/v8'])
    const byRepo = (await request(s.url).get('/inventory?repo=library/pause').set('Accept', 'application/json')).body
    assert.deepEqual(
      byRepo.problems.map((p: { image: string }) => p.image),
      ['library/pause:3.3'],
    )
  })

  test('/inventory text names each problem on one line', async () => {
    const text = (await request(s.url).get('/inventory').set('User-Agent', 'curl/8')).text
    for (const p of expected()) {
      const line = new RegExp(`^  ${p.image.replace(/[.]/g, '\\.')} ${p.platform} ${p.kind} ${p.digest} \\(${p.part}`, 'm')
      assert.match(text, line)
    }
    assert.match(text, /^Image problems: 4$/m)
  })

  test('/readyz fails on the three broken images, naming each, and says the foreign layer', async () => {
    const res = await request(s.url).get('/readyz')
    assert.equal(res.status, 503)
    const images = res.body.failing.find((c: { name: string }) => c.name === 'images')
    assert.ok(images, JSON.stringify(res.body))
    assert.equal(res.body.failing.length, 1, JSON.stringify(res.body))
    assert.match(images.detail, /^3 image\(s\) broken: /)
    for (const p of expected()) assert.ok(images.detail.includes(`${p.image} ${p.platform} ${p.kind} ${p.digest}`), images.detail)
  })

  test('/inventory/requirements: every image without requirements; lists POSTed are checked; bad input is a 400 naming the line', async () => {
    const every = (await request(s.url).get('/inventory/requirements').set('Accept', 'application/json')).body
    assert.equal(every.ok, false)
    assert.deepEqual(every.platforms, { needed: [], configured: [], nodes: [] })
    assert.deepEqual(
      Object.fromEntries(every.requirements.map((r: { requirement: string; status: string }) => [r.requirement, r.status])),
      {
        'library/badconfig:1.0': 'incomplete',
        'library/both:1.0': 'present',
        'library/good:1.0': 'present',
        'library/multi:1.0': 'incomplete',
        'library/pause:3.3': 'incomplete',
        'library/win:1.0': 'present',
      },
    )
    const sent = await request(s.url)
      .post('/inventory/requirements')
      .set('Accept', 'application/json')
      .send({ images: [{ name: 'images.list', text: 'registry.k8s.io/pause:3.3\ndocker.io/library/good:1.0\n' }], platforms: ['arm64'] })
    assert.equal(sent.status, 200, sent.text)
    assert.deepEqual(
      sent.body.requirements.map((r: { requirement: string; status: string; source: string }) => [r.requirement, r.status, r.source]),
      [
        ['registry.k8s.io/pause:3.3', 'incomplete', 'images.list:1'],
        ['docker.io/library/good:1.0', 'incomplete', 'images.list:2'],
      ],
    )
    const text = await request(s.url)
      .post('/inventory/requirements')
      .set('User-Agent', 'curl/8')
      .send({ images: [{ name: 'k.list', text: 'docker.io/library/good:1.0\n' }] })
    assert.match(text.text, /^docker\.io\/library\/good:1\.0 present {2}\(library\/good:1\.0; linux\/amd64\)$/m)
    const bad = await request(s.url)
      .post('/inventory/requirements')
      .set('Accept', 'application/json')
      .send({ images: [{ name: 'k.list', text: 'registry.k8s.io/pause:3.9\nnot an image\n' }] })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error, 'k.list:2: "not an image": not an image reference')
    const notJson = await request(s.url).post('/inventory/requirements').set('Content-Type', 'application/json').send('{')
    assert.equal(notJson.status, 400)
    const badPlatform = await request(s.url)
      .post('/inventory/requirements')
      .send({ platforms: ['not a platform!'] })
    assert.equal(badPlatform.status, 400)
  })
})
