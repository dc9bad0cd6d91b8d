/** /setup/ over a real socket: the files, the script, the Host they are rendered for. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import http from 'node:http'
import request from 'supertest'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { writeAptTree, writeYumTree } from '../helpers/synthetic-trees.js'

/** A GET with the Host header exactly as given. */
const getWithHost = (url: string, path: string, host: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const u = new URL(url)
    const req = http.get({ host: u.hostname, port: u.port, path, headers: { host } }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('error', reject)
  })

describe('node set-up files', () => {
  let dir: string
  let s: TestServer
  before(async () => {
    dir = tempDir()
    writeFileSync(join(dir, 'images_origin.yaml'), '- src: harbor.example.com/k8s/kube-apiserver\n  dest: library/kube-apiserver\n')
    s = await startTestServer({
      data_dir: join(dir, 'data'),
      listen: { ntp: '127.0.0.1:0' },
      registry: {
        images_origin: [join(dir, 'images_origin.yaml')],
        mappings: ['mirror.example.org/=library/'],
        domains: ['outpost.registry.local', 'registry.cluster.local'],
      },
      // Names nodes may ask on besides this host's own: the certificate's extra names.
      tls: { extra_sans: ['bootstrap.example', '10.1.2.3'] },
    })
  })
  after(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('/setup/ lists every file and where it goes', async () => {
    await request(s.url).get('/setup').expect(301).expect('Location', '/setup/')
    const res = await request(s.url).get('/setup/').expect(200)
    assert.match(res.text, new RegExp(`curl -fsSL ${s.url}/setup/bootstrap.sh \\| sh`))
    for (const host of [
      'docker.io',
      'registry.k8s.io',
      'k8s.gcr.io',
      'quay.io',
      'gcr.io',
      'ghcr.io',
      'harbor.example.com',
      'mirror.example.org',
      'outpost.registry.local',
      'registry.cluster.local',
    ]) {
      assert.match(res.text, new RegExp(`/setup/containerd/${host.replace(/\./g, '\\.')}/hosts\\.toml`), host)
    }
    assert.match(res.text, /\/setup\/chrony\.conf/)
    assert.match(res.text, /no ca\.crt: Outpost has no CA yet/)
  })

  test('bootstrap.sh carries the address it was asked on', async () => {
    const res = await request(s.url).get('/setup/bootstrap.sh').expect(200)
    assert.match(res.headers['content-type']!, /^text\/x-shellscript/)
    assert.match(res.text, new RegExp(`^OUTPOST_SERVED_URL='${s.url}'$`, 'm'))
    assert.match(res.text, new RegExp(`^NTP_PORT='${s.running.ntp!.port}'$`, 'm'))
    const named = await getWithHost(s.url, '/setup/bootstrap.sh', 'bootstrap.example:8080')
    assert.equal(named.status, 200)
    assert.match(named.body, /^OUTPOST_SERVED_URL='http:\/\/bootstrap\.example:8080'$/m)
    const toml = await getWithHost(s.url, '/setup/containerd/docker.io/hosts.toml', '10.1.2.3:8080')
    assert.match(toml.body, /^server = "http:\/\/10\.1\.2\.3:8080"$/m)
    const chrony = await getWithHost(s.url, '/setup/chrony.conf', '10.1.2.3:8080')
    assert.match(chrony.body, new RegExp(`^server 10\\.1\\.2\\.3 port ${s.running.ntp!.port} iburst$`, 'm'))
  })

  test('a Host that cannot be written into files is refused', async () => {
    const res = await getWithHost(s.url, '/setup/bootstrap.sh', 'bad_host:8080')
    assert.equal(res.status, 400)
    assert.match(res.body, /Host header \(bad_host:8080\)/)
  })

  test("a Host that is not one of Outpost's names or addresses is refused for every set-up file", async () => {
    for (const path of [
      '/setup/',
      '/setup/bootstrap.sh',
      '/setup/manifest.txt',
      '/setup/containerd/docker.io/hosts.toml',
      '/setup/chrony.conf',
    ]) {
      const res = await getWithHost(s.url, path, 'attacker.example:8080')
      assert.equal(res.status, 421, path)
      assert.match(res.body, /^421 the Host header \(attacker\.example:8080\) is not one of Outpost's names or addresses/, path)
      assert.match(res.body, /server\.advertise/)
      assert.doesNotMatch(res.body, /OUTPOST_SERVED_URL/)
    }
    // Its names: the registry domains, loopback, and what tls.extra_sans adds.
    for (const host of ['registry.cluster.local:8080', 'localhost:8080', '[::1]:8080', 'BOOTSTRAP.example:8080', '10.1.2.3']) {
      assert.equal((await getWithHost(s.url, '/setup/manifest.txt', host)).status, 200, host)
    }
    // Other endpoints do not care about the Host.
    assert.equal((await getWithHost(s.url, '/healthz', 'attacker.example')).status, 200)
  })

  test('errors are a line of text, or JSON for clients that ask for it', async () => {
    const text = await request(s.url).get('/setup/nothing').expect(404)
    assert.match(text.headers['content-type']!, /^text\/plain/)
    assert.equal(text.text, '404 no such set-up file; see /setup/\n')
    const json = await request(s.url).get('/setup/nothing').set('Accept', 'application/json').expect(404)
    assert.deepEqual(json.body, { error: 'no such set-up file; see /setup/' })
    const unknown = await request(s.url).get('/no/such/endpoint').set('Accept', 'application/json').expect(404)
    assert.deepEqual(unknown.body, { error: 'Not Found' })
    assert.equal((await request(s.url).get('/no/such/endpoint').expect(404)).text, '404 Not Found\n')
  })

  test('each file, and clear 404s', async () => {
    const toml = await request(s.url).get('/setup/containerd/harbor.example.com/hosts.toml').expect(200)
    assert.match(toml.text, new RegExp(`^server = "${s.url}"$`, 'm'))
    assert.ok(!toml.text.includes('ca ='))
    await request(s.url).get('/setup/containerd/evil.example/hosts.toml').expect(404)
    const conf = await request(s.url).get('/setup/containers/registries.conf').expect(200)
    assert.match(conf.text, /^prefix = "registry\.cluster\.local"$/m)
    const daemon = await request(s.url).get('/setup/docker/daemon.json').expect(200)
    assert.deepEqual(daemon.body['registry-mirrors'], [s.url])
    const ca = await request(s.url).get('/setup/ca.crt').expect(404)
    assert.match(ca.text, /no CA yet/)
    const ts = await request(s.url).get('/setup/timesyncd.conf').expect(404)
    assert.match(ts.text, /port 123/)
    await request(s.url).get('/setup/nothing').expect(404)
  })
})

test('with HTTPS on, the CA is served and every registry directory gets it, mirrors over HTTPS', async (t) => {
  const s = await startTestServer({ listen: { https: '127.0.0.1:0' } })
  t.after(() => s.close())
  const ca = await fetch(`${s.url}/setup/ca.crt`)
  assert.equal(ca.status, 200)
  const caText = await ca.text()
  assert.match(caText, /^-----BEGIN CERTIFICATE-----/)
  assert.equal(caText, await (await fetch(`${s.url}/ca.crt`)).text())
  const script = await request(s.url).get('/setup/bootstrap.sh').expect(200)
  assert.match(script.text, /^ca-trust \/setup\/ca\.crt - \* \* \*$/m)
  const toml = await request(s.url).get('/setup/containerd/docker.io/hosts.toml').expect(200)
  assert.match(toml.text, /^server = "https:/m)
  assert.match(toml.text, /ca = "/)
})

test('time off: no chrony.conf, and the script says so', async (t) => {
  const s = await startTestServer()
  t.after(() => s.close())
  const res = await request(s.url).get('/setup/chrony.conf').expect(404)
  assert.match(res.text, /serves no time/)
  const script = await request(s.url).get('/setup/bootstrap.sh').expect(200)
  assert.match(script.text, /^NTP_PORT=''$/m)
  assert.doesNotMatch(script.text, /^chrony /m)
})

test('package trees under the file roots: their components and signing keys reach the sources', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZfake\n-----END PGP PUBLIC KEY BLOCK-----\n'
  const root = join(dir, 'nginx')
  writeAptTree(join(root, 'debian'), { components: ['main', 'contrib'], unmirrored: ['non-free'] })
  writeFileSync(join(root, 'debian', 'archive-keyring.asc'), KEY)
  // Signed: the key is used only for a tree whose Release carries a signature.
  writeFileSync(
    join(root, 'debian', 'dists', 'bookworm', 'Release.gpg'),
    '-----BEGIN PGP SIGNATURE-----\n\nfake\n-----END PGP SIGNATURE-----\n',
  )
  writeAptTree(join(root, 'ubuntu'), { suite: 'jammy' })
  writeYumTree(join(root, 'rocky', '9', 'os'))
  writeFileSync(join(root, 'rocky', '9', 'os', 'RPM-GPG-KEY-Rocky-9'), KEY)
  const s = await startTestServer({ files: { roots: [`/=${root}`] } })
  t.after(() => s.close())
  await s.running.scanned
  await s.running.packageTrees.check()

  const debian = await request(s.url).get('/setup/apt/outpost-debian-bookworm.sources').expect(200)
  assert.equal(
    debian.text,
    [
      `# /etc/apt/sources.list.d/outpost-debian-bookworm.sources, from Outpost (${s.url}/setup/).`,
      'Types: deb',
      `URIs: ${s.url}/debian/`,
      'Suites: bookworm',
      'Components: main contrib',
      'Signed-By: /etc/apt/keyrings/outpost-debian.asc',
      '',
    ].join('\n'),
  )
  // A tree without a key is trusted as it is; its components are what its Release names.
  const ubuntu = await request(s.url).get('/setup/apt/outpost-ubuntu-jammy.sources').expect(200)
  assert.match(ubuntu.text, /^Components: main\nTrusted: yes\n$/m)

  const rocky = await request(s.url).get('/setup/yum/outpost-rocky-9-os.repo').expect(200)
  assert.match(rocky.text, new RegExp(`^gpgcheck=1\ngpgkey=${s.url}/rocky/9/os/RPM-GPG-KEY-Rocky-9$`, 'm'))

  // bootstrap.sh fetches the apt key from the tree, where the file root serves it.
  const script = await request(s.url).get('/setup/bootstrap.sh').expect(200)
  assert.match(script.text, /^apt-key \/debian\/archive-keyring\.asc \/etc\/apt\/keyrings\/outpost-debian\.asc debian bookworm \*$/m)
  assert.equal(
    (await request(s.url).get('/debian/archive-keyring.asc').expect(200)).text,
    readFileSync(join(root, 'debian', 'archive-keyring.asc'), 'utf8'),
  )
  const index = await request(s.url).get('/setup/').expect(200)
  assert.match(index.text, /\/debian\/archive-keyring\.asc {2}→ {2}\/etc\/apt\/keyrings\/outpost-debian\.asc/)
})

test('server.advertise: set-up files carry the advertised URLs, never the Host', async (t) => {
  const s = await startTestServer({
    listen: { ntp: '127.0.0.1:0' },
    server: { advertise: ['http://10.9.8.7:8080', 'https://outpost.example'] },
  })
  t.after(() => s.close())
  const script = await request(s.url).get('/setup/bootstrap.sh').expect(200)
  assert.match(script.text, /^OUTPOST_SERVED_URL='http:\/\/10\.9\.8\.7:8080'$/m)
  const chrony = await request(s.url).get('/setup/chrony.conf').expect(200)
  assert.match(chrony.text, new RegExp(`^server 10\\.9\\.8\\.7 port ${s.running.ntp!.port} iburst$`, 'm'))
  // Asked on the other advertised name: that one.
  const named = await getWithHost(s.url, '/setup/containerd/docker.io/hosts.toml', 'outpost.example')
  assert.equal(named.status, 200)
  assert.match(named.body, /^server = "https:\/\/outpost\.example"$/m)
  // Any other Host: the first advertised URL, not the Host.
  const other = await getWithHost(s.url, '/setup/bootstrap.sh', 'attacker.example:8080')
  assert.equal(other.status, 200)
  assert.match(other.body, /^OUTPOST_SERVED_URL='http:\/\/10\.9\.8\.7:8080'$/m)
  assert.doesNotMatch(other.body, /attacker/)
})
