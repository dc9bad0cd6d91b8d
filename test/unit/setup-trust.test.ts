/**
 * What node set-up trusts: signature checks for each kind of tree, the
 * address set-up files carry (server.advertise, or a Host that is
 * Outpost's), CA fingerprints, and RPM signature headers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  aptCheck,
  buildSetupContext,
  certSha256,
  chooseOrigin,
  renderAptSources,
  renderBootstrap,
  renderManifest,
  renderSetupIndex,
  renderYumRepo,
  setupFiles,
  yumChecks,
  type OriginPolicy,
  type SetupTree,
} from '../../src/nodes/setup/index.js'
import { rpmSignatureOf, spread } from '../../src/repos/signatures.js'
import { toSan, type San } from '../../src/tls/names.js'
import { loadConfig } from '../../src/server/config.js'

const ctx = (trees: SetupTree[], previousCas: string[] = [], caPem: string | null = null) =>
  buildSetupContext({
    origin: 'http://10.0.0.1:8080',
    domains: ['outpost.registry.local'],
    upstreams: ['docker.io'],
    caPem,
    previousCas,
    trees,
    httpsPort: null,
    ntpPort: 123,
  })

test('yum: gpgcheck follows the packages, repo_gpgcheck the metadata and a key to check it with', () => {
  const key = '/el9/RPM-GPG-KEY-x'
  const cases: Array<[Partial<SetupTree>, ReturnType<typeof yumChecks>]> = [
    [{}, { gpgcheck: false, repoGpgcheck: false, keyUrl: null, metadataUnchecked: false }],
    [
      { signed: false, packagesSigned: false },
      { gpgcheck: false, repoGpgcheck: false, keyUrl: null, metadataUnchecked: false },
    ],
    [
      { keyUrl: key, signed: true, packagesSigned: true },
      { gpgcheck: true, repoGpgcheck: true, keyUrl: key, metadataUnchecked: false },
    ],
    // Signed metadata, unsigned packages: dnf checks repomd.xml only.
    [
      { keyUrl: key, signed: true, packagesSigned: false },
      { gpgcheck: false, repoGpgcheck: true, keyUrl: key, metadataUnchecked: false },
    ],
    // Signed packages, no repomd.xml.asc.
    [
      { keyUrl: key, signed: false, packagesSigned: true },
      { gpgcheck: true, repoGpgcheck: false, keyUrl: key, metadataUnchecked: false },
    ],
    // A key but nothing signed: nothing to check, the key is not named.
    [
      { keyUrl: key, signed: false, packagesSigned: false },
      { gpgcheck: false, repoGpgcheck: false, keyUrl: null, metadataUnchecked: false },
    ],
    // Signed without a key in the tree (a distribution mirror): rpm checks packages with the node's keys.
    [
      { signed: true, packagesSigned: true },
      { gpgcheck: true, repoGpgcheck: false, keyUrl: null, metadataUnchecked: true },
    ],
    // Packages that could not be read: checked whenever the tree looks signed.
    [
      { signed: true, packagesSigned: null },
      { gpgcheck: true, repoGpgcheck: false, keyUrl: null, metadataUnchecked: true },
    ],
    [{ keyUrl: key }, { gpgcheck: true, repoGpgcheck: true, keyUrl: key, metadataUnchecked: false }],
  ]
  for (const [over, want] of cases) assert.deepEqual(yumChecks({ kind: 'yum', urlPath: '/el9/', ...over }), want, JSON.stringify(over))

  const repo = renderYumRepo(ctx([]), { kind: 'yum', urlPath: '/el9/', keyUrl: key, signed: true, packagesSigned: false }, 'el9')
  assert.match(repo, /^gpgcheck=0\ngpgkey=http:\/\/10\.0\.0\.1:8080\/el9\/RPM-GPG-KEY-x\nrepo_gpgcheck=1$/m)
  const mirror = renderYumRepo(ctx([]), { kind: 'yum', urlPath: '/el9/', signed: true, packagesSigned: true }, 'el9')
  assert.match(mirror, /^# repomd\.xml is signed but the tree publishes no key/m)
  assert.match(mirror, /^gpgcheck=1\nmodule_hotfixes=1$/m)
})

test('apt: Signed-By with the tree key, the node keys for a signed tree without one, Trusted only when unsigned', () => {
  const tree = (over: Partial<SetupTree>): SetupTree => ({ kind: 'apt', urlPath: '/debian/', suites: [{ name: 'bookworm' }], ...over })
  assert.equal(aptCheck(tree({ keyUrl: '/debian/k.gpg', signed: true }), 'bookworm'), 'key')
  assert.equal(aptCheck(tree({ signed: true }), 'bookworm'), 'node')
  assert.equal(aptCheck(tree({ keyUrl: '/debian/k.gpg', signed: false }), 'bookworm'), 'unsigned')
  assert.equal(aptCheck(tree({}), 'bookworm'), 'unsigned')
  // Each suite as its Release says.
  const mixed = tree({
    keyUrl: '/debian/k.gpg',
    signed: true,
    suites: [
      { name: 'bookworm', signed: true },
      { name: 'local', signed: false },
    ],
  })
  assert.equal(aptCheck(mixed, 'bookworm'), 'key')
  assert.equal(aptCheck(mixed, 'local'), 'unsigned')
  const files = setupFiles(ctx([mixed]))
  assert.deepEqual(
    files.filter((f) => f.kind.startsWith('apt')).map((f) => [f.kind, f.dest]),
    [
      ['apt-key', '/etc/apt/keyrings/outpost-debian.gpg'],
      ['apt', '/etc/apt/sources.list.d/outpost-debian-bookworm.sources'],
      ['apt', '/etc/apt/sources.list.d/outpost-debian-local.sources'],
    ],
  )
  const node = renderAptSources(ctx([]), tree({ signed: true }), 'debian', 'bookworm')
  assert.doesNotMatch(node, /Trusted|Signed-By/)
  assert.match(node, /^# Signed, and the tree publishes no key: apt checks it with the keys this node trusts\.$/m)
  const index = renderSetupIndex(ctx([mixed]), files)
  assert.match(index, /^ {2}\/debian\/ bookworm {2}signed: apt checks it with \/debian\/k\.gpg \(Signed-By\)$/m)
  assert.match(index, /^ {2}\/debian\/ local {2}UNSIGNED: trusted as it is \(Trusted: yes\)$/m)
})

test('CA fingerprints: the SHA-256 of the DER; the earlier CAs go to bootstrap.sh, the current one does not', () => {
  const der = Buffer.from('a certificate body')
  const pem = (b: Buffer) => `-----BEGIN CERTIFICATE-----\n${b.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`
  assert.equal(certSha256(pem(der)), createHash('sha256').update(der).digest('hex'))
  assert.equal(certSha256('no certificate'), null)
  const old = pem(Buffer.from('old'))
  const current = pem(Buffer.from('current'))
  const c = ctx([], [old, current, old], current)
  assert.deepEqual(c.oldCaSha256, [certSha256(old)])
  assert.match(renderBootstrap(c, setupFiles(c)), new RegExp(`^OLD_CA_FINGERPRINTS='${certSha256(old)}'$`, 'm'))
  assert.match(renderManifest(c, setupFiles(c)), new RegExp(`^# old-ca-sha256: ${certSha256(old)}$`, 'm'))
})

test("origins: server.advertise wins; without it only Outpost's own names and addresses", () => {
  const names = new Set(
    ['DNS:outpost.registry.local', 'IP:10.0.0.1', 'IP:::1', 'DNS:localhost'].map((n) => toSan(n.slice(n.indexOf(':') + 1))!),
  ) as Set<San>
  const policy = (advertise: string[] = []): OriginPolicy => ({ advertise, names: () => names })
  assert.deepEqual(chooseOrigin('http://10.0.0.1:8080', '10.0.0.1:8080', policy()), { ok: true, origin: 'http://10.0.0.1:8080' })
  assert.deepEqual(chooseOrigin('http://OUTPOST.registry.local', 'OUTPOST.registry.local', policy()), {
    ok: true,
    origin: 'http://OUTPOST.registry.local',
  })
  assert.equal(chooseOrigin('http://[::1]:8080', '[::1]:8080', policy()).ok, true)
  const refused = chooseOrigin('http://evil.example:8080', 'evil.example:8080', policy())
  assert.equal(refused.ok, false)
  assert.equal(!refused.ok && refused.status, 421)
  assert.equal((chooseOrigin('http://a_b', 'a_b', policy()) as { status: number }).status, 400)

  const two = policy(['http://10.0.0.1:8080', 'https://outpost.example/'])
  // The advertised URL the node asked on; else one on the same host; else the first.
  assert.deepEqual(chooseOrigin('https://outpost.example', 'outpost.example', two), { ok: true, origin: 'https://outpost.example' })
  assert.deepEqual(chooseOrigin('http://outpost.example:8080', 'outpost.example:8080', two), {
    ok: true,
    origin: 'https://outpost.example',
  })
  assert.deepEqual(chooseOrigin('http://evil.example', 'evil.example', two), { ok: true, origin: 'http://10.0.0.1:8080' })
  assert.deepEqual(chooseOrigin('http://a_b', 'a_b', two), { ok: true, origin: 'http://10.0.0.1:8080' })
})

test('server.advertise takes http(s) origins only', () => {
  const load = (advertise: unknown) => loadConfig({ env: {}, noDefaultFile: true, flags: { server: { advertise } } })
  assert.deepEqual(load(['http://10.0.0.1:8080', 'https://[fd00::1]', 'https://outpost.example/']).config.server.advertise, [
    'http://10.0.0.1:8080',
    'https://[fd00::1]',
    'https://outpost.example/',
  ])
  for (const bad of ['ftp://x', 'http://x/path', 'http://u:p@x', 'http://x?a', 'x:8080', "http://a'b"]) {
    assert.throws(() => load([bad]), /server\.advertise/, bad)
  }
  assert.deepEqual(
    loadConfig({ env: { OUTPOST_SERVER_ADVERTISE: 'http://a:1,http://b:2' }, noDefaultFile: true }).config.server.advertise,
    ['http://a:1', 'http://b:2'],
  )
})

test('RPM signature headers: signed, unsigned, not an RPM', () => {
  const rpm = (tags: number[]): Buffer => {
    const lead = Buffer.alloc(96)
    lead.writeUInt32BE(0xedabeedb, 0)
    const header = Buffer.alloc(16 + tags.length * 16)
    header.writeUInt32BE(0x8eade801, 0)
    header.writeUInt32BE(tags.length, 8)
    tags.forEach((tag, i) => header.writeUInt32BE(tag, 16 + i * 16))
    return Buffer.concat([lead, header])
  }
  // Digests only (header SHA1 269, SHA256 273, size 1000, MD5 1004).
  assert.equal(rpmSignatureOf(rpm([269, 273, 1000, 1004])), 'unsigned')
  for (const sig of [267, 268, 278, 1002, 1005, 1006]) assert.equal(rpmSignatureOf(rpm([269, sig, 1000])), 'signed', String(sig))
  assert.equal(rpmSignatureOf(Buffer.from('not an rpm at all, not even close to one; '.repeat(4))), null)
  assert.equal(rpmSignatureOf(rpm([]).subarray(0, 50)), null)
  assert.deepEqual(spread([1, 2, 3]), [1, 2, 3])
  assert.deepEqual(spread([...Array(100).keys()], 4), [0, 33, 66, 99])
})
