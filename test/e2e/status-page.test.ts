/**
 * `/status` in a real browser (headless Chromium): a bundle with a removed
 * layer, a removed child manifest, a corrupt config and a foreign layer; a
 * yum tree missing a package; requirements; nodes that are skewed, stale and
 * of an architecture an image lacks, one of them with hostile text; misses.
 * Each section's rendered text says exactly what is wrong; the page loads
 * with scripts off too; the screenshots stay in the test's temporary
 * folder. A client that is not on loopback sees no server path.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync, statSync } from 'node:fs'
import { createServer, request as httpRequest, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import { join } from 'node:path'
import request from 'supertest'
import { NodeStore } from '../../src/nodes/index.js'
import { buildBrokenBundle, type BrokenBundle } from '../helpers/broken-bundle.js'
import { writeAptTree, writeYumTree } from '../helpers/synthetic-trees.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { loadPage, loadPageWithoutScripts, textOf } from '../helpers/chromium.js'

const HOSTILE = {
  os: '<script>alert(1)</script>',
  kernel: '</textarea><b id="injected">x</b>',
  runtime: '"><svg onload=alert(2)>',
  userAgent: '<img src=x onerror=alert(3)>',
}

describe('/status in a browser', () => {
  let dir: string
  let b: BrokenBundle
  let s: TestServer
  let shots: string
  before(async () => {
    dir = tempDir('outpost-status-')
    // The screenshots are the CI artifact: a temporary folder of their own, kept after the test.
    shots = tempDir('outpost-status-screenshots-')
    b = await buildBrokenBundle(join(dir, 'bundle'))
    const yum = writeYumTree(join(b.nginx, 'centos/7/os/x86_64'))
    rmSync(join(yum.dir, yum.packages[1]!))
    writeAptTree(join(b.nginx, 'debian'))
    writeFileSync(join(dir, 'images.list'), 'docker.io/library/good:1.0\nregistry.k8s.io/pause:3.3\nquay.io/calico/node:v3.27.2\n')
    s = await startTestServer({
      bundle: b.dir,
      listen: { https: '127.0.0.1:0' },
      nodes: { stale_after_s: 3600 },
      requirements: { images: [join(dir, 'images.list')] },
    })
    await s.running.scanned
    const checkin = async (body: Record<string, unknown>) => {
      const res = await request(s.url).post('/nodes/checkin').send(body)
      assert.equal(res.status, 200, res.text)
    }
    await checkin({
      hostname: 'arm-worker-1',
      arch: 'arm64',
      os: { id: 'debian', version: '12', name: HOSTILE.os },
      kernel: HOSTILE.kernel,
      runtime: { name: HOSTILE.runtime, version: '1.7' },
      labels: { role: 'kube_node' },
    })
    await checkin({
      hostname: 'cp-1',
      arch: 'amd64',
      clockMs: Date.now() - 5000,
      clockPrecisionMs: 1,
      labels: { role: 'kube_control_plane' },
    })
    new NodeStore(s.running.catalog.db).record(
      { hostname: 'old-node', addresses: ['10.0.0.9'], labels: {}, arch: 'amd64' },
      { receivedMs: Date.now() - 3 * 86_400_000, remoteAddress: '10.0.0.9', offset: null },
    )
    await request(s.url).get('/v2/kube-proxy/manifests/v1.21.3?ns=k8s.gcr.io').set('User-Agent', 'containerd/1.7')
    await request(s.url).get('/v2/kube-proxy/manifests/v1.21.3?ns=k8s.gcr.io').set('User-Agent', HOSTILE.userAgent)
    await request(s.url).get("/files/dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl'&x")
    // The package trees are checked after the scan, in the background.
    for (let i = 0; i < 100 && s.running.catalog.trees().length < 2; i++) await new Promise((r) => setTimeout(r, 100))
    assert.equal(s.running.catalog.trees().length, 2)
  })
  after(async () => {
    await s?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** The text of one section of the page (`<section id=…>`). */
  const sectionText = (dom: string, id: string): string => {
    const m = new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`).exec(dom)
    assert.ok(m, `section ${id} is on the page`)
    return textOf(m[1]!)
  }

  const assertSections = (dom: string): void => {
    const text = textOf(dom)
    assert.match(text, /Outpost \d+\.\d+\.\d+ NOT READY/)

    const readiness = sectionText(dom, 'readiness')
    assert.ok(
      readiness.includes(
        `images : 3 image(s) broken: library/badconfig:1.0 unknown corrupt ${b.badconfig.config.digest} (config: not valid JSON)`,
      ),
      readiness,
    )
    assert.ok(readiness.includes(`library/multi:1.0 linux/arm64/v8 missing ${b.multiArm.manifest.digest} (manifest)`), readiness)
    assert.ok(readiness.includes(`library/pause:3.3 linux/amd64 missing ${b.pause.layers[0]!.digest} (layer)`), readiness)
    assert.ok(readiness.includes(`library/win:1.0 linux/amd64 foreign ${b.foreignLayer.digest} (layer)`), readiness)
    assert.match(readiness, /package trees : yum \/centos\/7\/os\/x86_64\/: 1 problem\(s\)/)
    assert.match(readiness, /requirements : 1 missing, 2 incomplete: /)

    const server = sectionText(dom, 'server')
    assert.ok(server.includes(`http ${s.hostPort} ${s.url}`), server)
    assert.ok(server.includes(`https ${s.httpsHostPort} ${s.httpsUrl}`), server)
    assert.match(server, /Certificate O=Outpost, CN=outpost\.registry\.local \(generated\): expires \d{4}-\d\d-\d\d, 8\d\d days left/)

    const images = sectionText(dom, 'images')
    assert.match(images, /6 repositories, 6 tags, .*; 3 images broken/)
    for (const line of [
      `library/badconfig:1.0 unknown corrupt ${b.badconfig.config.digest} (config: not valid JSON)`,
      `library/multi:1.0 linux/arm64/v8 missing ${b.multiArm.manifest.digest} (manifest)`,
      `library/pause:3.3 linux/amd64 missing ${b.pause.layers[0]!.digest} (layer)`,
      `library/win:1.0 linux/amd64 foreign ${b.foreignLayer.digest} (layer)`,
    ])
      assert.ok(images.includes(line), `${line}\n${images}`)
    assert.ok(images.includes('library/multi:1.0 linux/amd64 linux/arm64/v8 ✗ broken: 1 problem'), images)
    assert.ok(images.includes('library/both:1.0 linux/amd64 linux/arm64 whole'), images)
    assert.ok(images.includes('library/win:1.0 linux/amd64 1 foreign layer not held'), images)

    const files = sectionText(dom, 'files')
    assert.match(
      files,
      /\/centos\/7\/os\/x86_64\/ yum 2 FAILED missing \/centos\/7\/os\/x86_64\/Packages\/beta-2\.0-1\.noarch\.rpm: listed in /,
    )
    assert.match(files, /\/debian\/ bookworm apt 2 ok/)

    const requirements = sectionText(dom, 'requirements')
    assert.match(requirements, /0 present, 1 missing, 2 incomplete/)
    assert.ok(
      requirements.includes('quay.io/calico/node:v3.27.2 missing no repository holds it; tried calico/node images.list:3'),
      requirements,
    )
    assert.ok(
      requirements.includes(
        'docker.io/library/good:1.0 incomplete library/good:1.0; lacks linux/arm64, needed by arm-worker-1 images.list:1',
      ),
      requirements,
    )
    assert.match(requirements, /Platforms needed: linux\/arm64 1 node linux\/amd64 2 nodes/)

    const nodes = sectionText(dom, 'nodes')
    assert.match(nodes, /3 nodes checked in, 3 flagged/)
    assert.ok(nodes.includes('ARCH 1 image(s) lack linux/arm64: library/good:1.0'), nodes)
    // The offset includes the check-in's own latency, which grows on a loaded machine.
    assert.match(nodes, /cp-1 .* amd64 \d+s ago \(\S+\) -5\.\d\d s kube_control_plane SKEW/)
    assert.match(nodes, /old-node 10\.0\.0\.9 .* 3d ago .* STALE/)
    // Hostile text is text: shown as typed, never markup.
    assert.ok(nodes.includes(HOSTILE.os), nodes)
    assert.ok(nodes.includes(HOSTILE.kernel), nodes)

    const misses = sectionText(dom, 'misses')
    assert.match(misses, /image 2 \S+ 127\.0\.0\.1 k8s\.gcr\.io\/kube-proxy:v1\.21\.3/)
    assert.ok(misses.includes("/files/dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl'&x"), misses)
    assert.ok(misses.includes(`k8s.gcr.io/kube-proxy:v1.21.3 ${HOSTILE.userAgent}`), misses)
    const pull = /<textarea id="pull-images"[^>]*>([^<]*)<\/textarea>/.exec(dom)
    assert.ok(pull, 'the image pull list')
    assert.equal(pull[1]!.trim(), 'k8s.gcr.io/kube-proxy:v1.21.3')

    // Nothing injected: the page's only script is its own, no element came from a client.
    assert.equal((dom.match(/<script/g) ?? []).length, 1)
    assert.doesNotMatch(dom, /<img|<svg|<b id="injected"/i)
  }

  test('the server sends the whole page: HTML, its own CSP, nothing from another origin', async () => {
    const res = await request(s.url).get('/status')
    assert.equal(res.status, 200)
    assert.match(res.headers['content-type'], /^text\/html/)
    assert.match(
      res.headers['content-security-policy'],
      /^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'; img-src 'none'/,
    )
    assert.match(res.text, /<meta http-equiv="refresh" content="15">/)
    assert.match(res.text, /<meta name="viewport" content="width=device-width, initial-scale=1">/)
    assert.doesNotMatch(res.text, /(src|href)="(https?:)?\/\//, 'no link or load off this origin')
    assertSections(res.text)
    // The file listing links to it.
    assert.match((await request(s.url).get('/files/')).text, /<a href="\/status" rel="related">Outpost status<\/a>/)
  })

  test('headless Chromium renders each section; with scripts off too; screenshots saved', async (t) => {
    t.diagnostic(`screenshots: ${shots}`)
    const page = await loadPage(`${s.url}/status`, { work: dir, screenshot: join(shots, 'status.png') })
    assertSections(page.dom)
    assert.doesNotMatch(page.dom, /<button[^>]*hidden/, 'the copy buttons appear once the inline script ran under the CSP')
    await loadPage(`${s.url}/status`, { work: dir, screenshot: join(shots, 'status-phone.png'), width: 390, height: 844 })
    const noScript = await loadPageWithoutScripts(`${s.url}/status`, { work: dir, screenshot: join(shots, 'status-nojs.png') })
    assertSections(noScript.dom)
    assert.match(noScript.dom, /<button[^>]*hidden/, 'with scripts off the copy buttons stay hidden; everything else is there')
    for (const f of ['status.png', 'status-phone.png', 'status-nojs.png']) assert.ok(statSync(join(shots, f)).size > 10_000, f)
  })

  describe('a client that is not on loopback', () => {
    let proxy: Server
    let url: string
    before(async () => {
      // The server's own request handler, fed requests whose peer address is 10.20.30.40.
      const handler = s.running.listeners.find((l) => l.name === 'http')!.server.listeners('request')[0] as RequestListener
      proxy = createServer((req: IncomingMessage, res) => {
        Object.defineProperty(req.socket, 'remoteAddress', { value: '10.20.30.40', configurable: true })
        handler(req, res)
      })
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
      url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`
    })
    after(async () => {
      await new Promise((r) => proxy.close(r))
    })

    test('sees no server path, and the same problems', async () => {
      const html = await new Promise<string>((resolve, reject) =>
        httpRequest(`${url}/status`, (res) => {
          let body = ''
          res.on('data', (c) => (body += c))
          res.on('end', () => resolve(body))
        })
          .on('error', reject)
          .end(),
      )
      assert.ok(!html.includes(dir), 'the bundle and data folders are not named')
      assert.ok(!html.includes(s.dataDir), 'the data_dir is not named')
      assert.ok(!html.includes('/tmp/'), html.match(/.{80}\/tmp\/.{80}/)?.[0])
      assert.match(textOf(html), /store registry2:\[bundle\]\/registry ok \[bundle\]\/registry\/docker\/registry\/v2/)
      assert.match(textOf(html), /store registry2:\[registry\.push_root\] ok \[registry\.push_root\]\/docker\/registry\/v2/)
      assert.match(textOf(html), /files \/ ok \[bundle\]\/nginx/)
      assert.ok(textOf(html).includes(`library/pause:3.3 linux/amd64 missing ${b.pause.layers[0]!.digest} (layer)`))
      // The loopback client sees the folders.
      const local = await request(s.url).get('/status')
      assert.ok(local.text.includes(b.nginx))
    })
  })
})
