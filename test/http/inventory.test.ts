/** Health, readiness, inventory and the ledger of misses over a real socket. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'

describe('health, readiness and inventory', () => {
  let dir: string
  let fx: Fixture
  let s: TestServer
  before(async () => {
    dir = tempDir()
    fx = await buildRegistry2(join(dir, 'registry'))
    mkdirSync(join(dir, 'files/bin/linux'), { recursive: true })
    writeFileSync(join(dir, 'files/bin/linux/kubeadm'), Buffer.alloc(1000, 1))
    writeFileSync(join(dir, 'files/README'), 'hello\n')
    writeFileSync(join(dir, 'origin.yaml'), '- src: k8s.gcr.io/pause\n  dest: library/pause\n')
    s = await startTestServer({
      registry: { roots: [join(dir, 'registry')], images_origin: [join(dir, 'origin.yaml')] },
      files: { roots: [`/files=${join(dir, 'files')}`] },
    })
    await s.running.scanned
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const api = () => request(s.url)

  test('/healthz', async () => {
    const res = await api().get('/healthz')
    assert.equal(res.status, 200)
    assert.equal(res.text, 'ok\n')
  })

  test('/readyz is 200 when every check passes; ?verbose lists them', async () => {
    const res = await api().get('/readyz')
    assert.equal(res.status, 200)
    assert.equal(res.text, 'ok\n')
    const verbose = await api().get('/readyz?verbose')
    assert.equal(verbose.status, 200)
    assert.equal(verbose.body.ready, true)
    const names = verbose.body.checks.map((c: { name: string }) => c.name)
    assert.ok(names.includes('catalog scan'))
    assert.ok(names.some((n: string) => n.startsWith('store registry2:')))
    assert.ok(names.includes('files /files'))
  })

  test('/readyz flips to 503 naming the root when a root is unreadable, and back', async () => {
    const root = join(dir, 'files')
    renameSync(root, `${root}.away`)
    try {
      const res = await api().get('/readyz')
      assert.equal(res.status, 503)
      assert.equal(res.body.ready, false)
      assert.equal(res.body.failing.length, 1)
      assert.equal(res.body.failing[0].name, 'files /files')
      assert.match(res.body.failing[0].detail, /ENOENT/)
    } finally {
      renameSync(`${root}.away`, root)
    }
    assert.equal((await api().get('/readyz')).status, 200)
    // The catalog walks the root again once it is back.
    const deadline = Date.now() + 5000
    let count = 0
    while (Date.now() < deadline) {
      count = (await api().get('/inventory').set('Accept', 'application/json')).body.files[0].count
      if (count === 2) break
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(count, 2)
  })

  test('/inventory as JSON: images with tags, digests, platforms, sizes; files; totals', async () => {
    const res = await api().get('/inventory').set('Accept', 'application/json')
    assert.equal(res.status, 200)
    const inv = res.body
    const multi = inv.images.find((i: { repository: string }) => i.repository === 'library/multi')
    assert.deepEqual(
      multi.tags.map((t: { tag: string }) => t.tag),
      ['1.0', 'latest'],
    )
    const latest = multi.tags[1]
    assert.equal(latest.digest, fx.index.digest)
    assert.deepEqual(latest.platforms, ['linux/amd64', 'linux/arm64/v8'])
    const expected =
      fx.index.size +
      [fx.amd64, fx.arm64].reduce((n, i) => n + i.manifest.size + i.config.size + i.layers.reduce((m, l) => m + l.size, 0), 0)
    assert.equal(latest.size, expected)
    const pause = inv.images.find((i: { repository: string }) => i.repository === 'library/pause')
    assert.deepEqual(pause.tags.find((t: { tag: string }) => t.tag === '3.9').platforms, ['linux/amd64'])
    assert.deepEqual(inv.files, [{ prefix: '/files', path: join(dir, 'files'), count: 2, bytes: 1006 }])
    assert.equal(inv.totals.repositories, 3)
    assert.equal(inv.scan.complete, true)
  })

  test('/inventory filters by repository and by prefix', async () => {
    const byRepo = await api().get('/inventory?repo=library/pause').set('Accept', 'application/json')
    assert.deepEqual(
      byRepo.body.images.map((i: { repository: string }) => i.repository),
      ['library/pause'],
    )
    const nested = await api().get('/inventory?repo=nested').set('Accept', 'application/json')
    assert.deepEqual(
      nested.body.images.map((i: { repository: string }) => i.repository),
      ['nested/deep/name'],
    )
    const byPrefix = await api().get('/inventory?prefix=/files/bin').set('Accept', 'application/json')
    assert.equal(byPrefix.body.files[0].count, 1)
    assert.equal(byPrefix.body.files[0].bytes, 1000)
  })

  test('/inventory as a text table for curl', async () => {
    const res = await api().get('/inventory').set('User-Agent', 'curl/7.88.1').set('Accept', '*/*')
    assert.equal(res.status, 200)
    assert.match(res.headers['content-type'], /^text\/plain/)
    assert.match(res.text, /library\/multi\s+latest\s+[0-9a-f]{12}\s+linux\/amd64,linux\/arm64\/v8/)
  })

  test('misses: registry and file 404s are recorded and listed as bundle input', async () => {
    await api().get('/v2/kube-proxy/manifests/v1.21.3?ns=k8s.gcr.io').set('User-Agent', 'containerd/1.6')
    await api().get('/v2/kube-proxy/manifests/v1.21.3?ns=k8s.gcr.io')
    await api().head('/v2/calico/node/manifests/v3.26.1?ns=quay.io')
    await api().get('/files/bin/linux/kubelet')
    // Served things are not misses.
    await api().get('/v2/pause/manifests/3.9?ns=k8s.gcr.io')
    const images = await api().get('/inventory/misses?format=images')
    assert.deepEqual(images.text.trim().split('\n').sort(), ['k8s.gcr.io/kube-proxy:v1.21.3', 'quay.io/calico/node:v3.26.1'])
    const files = await api().get('/inventory/misses?format=files')
    assert.equal(files.text, '/files/bin/linux/kubelet\n')
    const all = await api().get('/inventory/misses').set('Accept', 'application/json')
    const proxy = all.body.misses.find((m: { ref: string }) => m.ref === 'k8s.gcr.io/kube-proxy:v1.21.3')
    assert.equal(proxy.count, 2)
    assert.equal(proxy.kind, 'image')
    assert.equal(proxy.client, '127.0.0.1')
    assert.deepEqual(proxy.detail, { name: 'kube-proxy', ns: 'k8s.gcr.io' })
    const text = await api().get('/inventory/misses').set('User-Agent', 'curl/8')
    assert.match(text.text, /image\s+2\s+\S+\s+127\.0\.0\.1\s+k8s\.gcr\.io\/kube-proxy:v1\.21\.3/)
  })

  test('misses: an ns or path carrying line breaks never adds a line to a list', async () => {
    const before = (await api().get('/inventory/misses?format=images')).text.split('\n').length
    const evil = '/v2/kube-proxy/manifests/v1.0?ns=evil.io%0Aattacker.example/malware:latest%0Ak8s.gcr.io'
    assert.equal((await api().get(evil)).status, 404)
    await api().get('/v2/kube-proxy/manifests/v2.0?ns=evil.io%0D%0Aother.example/x:1')
    await api().get('/files/bin/a%0Ab')
    const images = await api().get('/inventory/misses?format=images')
    const lines = images.text.trim().split('\n')
    assert.equal(images.text.split('\n').length, before + 2)
    assert.ok(!lines.some((l) => l.includes('attacker.example') || l.includes('other.example')), images.text)
    for (const l of lines) assert.match(l, /^[\x21-\x7e]+$/)
    assert.ok(lines.includes('kube-proxy:v1.0'), images.text)
    const files = await api().get('/inventory/misses?format=files')
    for (const l of files.text.trim().split('\n')) assert.match(l, /^[\x21-\x7e]+$/)
    const all = await api().get('/inventory/misses').set('Accept', 'application/json')
    const row = all.body.misses.find((m: { ref: string }) => m.ref === 'kube-proxy:v1.0')
    assert.equal(row.detail.ns, undefined)
    assert.equal(row.detail.invalidNs, 'evil.io%0Aattacker.example/malware:latest%0Ak8s.gcr.io')
    const text = await api().get('/inventory/misses').set('User-Agent', 'curl/8')
    assert.ok(!text.text.split('\n').some((l) => l.startsWith('attacker.example')))
  })
})
