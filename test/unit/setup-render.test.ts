/** Set-up files rendered from a SetupContext: each renderer, the file list, and bootstrap.sh. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import {
  buildSetupContext,
  parseOrigin,
  registryHostsOf,
  renderHostsToml,
  renderRegistriesConf,
  renderDaemonJson,
  renderYumRepo,
  renderAptSources,
  renderChronyConf,
  renderTimesyncdConf,
  renderBootstrap,
  setupFiles,
  findSetupFile,
  renderSetupIndex,
  yumMatch,
  aptMatch,
  treeSlug,
  type SetupTree,
  type SetupContextInput,
} from '../../src/nodes/setup/index.js'

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
const TREES: SetupTree[] = [
  { kind: 'yum', urlPath: '/centos/7/os/x86_64/' },
  { kind: 'yum', urlPath: '/rocky/9.2/BaseOS/aarch64/os', keyUrl: '/rocky/RPM-GPG-KEY-Rocky-9' },
  {
    kind: 'apt',
    urlPath: '/debian/',
    suites: [
      { name: 'bookworm', components: ['main', 'contrib'] },
      { name: 'bookworm-updates', components: ['main', 'contrib'] },
    ],
    keyUrl: '/debian/outpost.asc',
  },
  { kind: 'apt', urlPath: '/ubuntu/jammy/', suites: [{ name: 'jammy' }] },
  { kind: 'apt', urlPath: '/files/kubernetes/deb' },
]

const input = (over: Partial<SetupContextInput> = {}): SetupContextInput => ({
  origin: 'http://10.0.0.1:8080',
  domains: ['outpost.registry.local'],
  upstreams: ['docker.io', 'registry.k8s.io', 'k8s.gcr.io'],
  caPem: null,
  trees: TREES,
  httpsPort: null,
  ntpPort: 123,
  ...over,
})
const plain = buildSetupContext(input())
const secure = buildSetupContext(input({ caPem: CA, httpsPort: 8443 }))

test('origins: what may be written into files and scripts', () => {
  assert.deepEqual(parseOrigin('http://10.0.0.1:8080'), { scheme: 'http', host: '10.0.0.1', port: 8080 })
  assert.deepEqual(parseOrigin('https://bootstrap.example:443'), { scheme: 'https', host: 'bootstrap.example', port: 443 })
  assert.deepEqual(parseOrigin('http://[fd00::1]:8080'), { scheme: 'http', host: 'fd00::1', port: 8080 })
  assert.equal(parseOrigin('ftp://x'), null)
  assert.equal(parseOrigin('http://user:pw@x'), null)
  assert.equal(parseOrigin('http://a_b:80'), null)
  assert.equal(parseOrigin("http://a'b"), null)
})

test('the context: plain HTTP until there is a CA and an HTTPS listener', () => {
  assert.equal(plain.baseUrl, 'http://10.0.0.1:8080')
  assert.deepEqual(plain.registry, { url: 'http://10.0.0.1:8080', hostPort: '10.0.0.1:8080', secure: false })
  assert.equal(buildSetupContext(input({ caPem: CA })).registry.secure, false)
  assert.deepEqual(secure.registry, { url: 'https://outpost.registry.local:8443', hostPort: 'outpost.registry.local:8443', secure: true })
  assert.deepEqual(buildSetupContext(input({ caPem: CA, httpsPort: 443 })).registry.hostPort, 'outpost.registry.local')
  assert.equal(buildSetupContext(input({ origin: 'http://10.0.0.1' })).baseUrl, 'http://10.0.0.1')
  assert.equal(buildSetupContext(input({ origin: 'http://[fd00::1]:8080' })).outpostHost, 'fd00::1')
  assert.throws(() => buildSetupContext(input({ origin: 'http://bad host' })), /not a usable origin/)
})

test('registry hosts that get a hosts.toml', () => {
  assert.deepEqual(registryHostsOf(plain), [
    'docker.io',
    'registry.k8s.io',
    'k8s.gcr.io',
    'outpost.registry.local',
    'outpost.registry.local:8080',
    '10.0.0.1:8080',
  ])
  assert.deepEqual(registryHostsOf(secure), [
    'docker.io',
    'registry.k8s.io',
    'k8s.gcr.io',
    'outpost.registry.local',
    'outpost.registry.local:8443',
  ])
})

test('containerd hosts.toml: Outpost as mirror and as server; CA only over HTTPS', () => {
  assert.equal(
    renderHostsToml(plain, 'docker.io'),
    [
      '# /etc/containerd/certs.d/docker.io/hosts.toml, from Outpost (http://10.0.0.1:8080/setup/).',
      '# docker.io images are pulled through Outpost; "server" is Outpost too, so an image it lacks fails here instead of reaching the internet.',
      'server = "http://10.0.0.1:8080"',
      '',
      '[host."http://10.0.0.1:8080"]',
      '  capabilities = ["pull", "resolve"]',
      '',
    ].join('\n'),
  )
  assert.equal(
    renderHostsToml(secure, 'k8s.gcr.io'),
    [
      '# /etc/containerd/certs.d/k8s.gcr.io/hosts.toml, from Outpost (http://10.0.0.1:8080/setup/).',
      '# k8s.gcr.io images are pulled through Outpost; "server" is Outpost too, so an image it lacks fails here instead of reaching the internet.',
      'server = "https://outpost.registry.local:8443"',
      'ca = "ca.crt"',
      '',
      '[host."https://outpost.registry.local:8443"]',
      '  capabilities = ["pull", "resolve"]',
      '  ca = "ca.crt"',
      '',
    ].join('\n'),
  )
  const self = renderHostsToml(secure, 'outpost.registry.local:8443')
  assert.match(self, /^server = "https:\/\/outpost\.registry\.local:8443"\nca = "ca\.crt"\n$/m)
  assert.ok(!self.includes('[host.'))
  assert.ok(!renderHostsToml(plain, 'quay.io').includes('ca ='))
})

test('registries.conf drop-in: Outpost is the location, the upstream host rides in the path', () => {
  const text = renderRegistriesConf(secure)
  assert.match(text, /^\[\[registry\]\]\nprefix = "docker.io"\nlocation = "outpost.registry.local:8443\/docker.io"\ninsecure = false$/m)
  assert.match(text, /^\[\[registry\]\]\nprefix = "outpost.registry.local"\nlocation = "outpost.registry.local:8443"\ninsecure = false$/m)
  assert.match(renderRegistriesConf(plain), /^prefix = "k8s.gcr.io"\nlocation = "10.0.0.1:8080\/k8s.gcr.io"\ninsecure = true$/m)
  assert.ok(!text.includes('[[registry.mirror]]'))
})

test('Docker daemon.json', () => {
  assert.deepEqual(JSON.parse(renderDaemonJson(secure)), { 'registry-mirrors': ['https://outpost.registry.local:8443'] })
  assert.deepEqual(JSON.parse(renderDaemonJson(plain)), {
    'registry-mirrors': ['http://10.0.0.1:8080'],
    'insecure-registries': ['10.0.0.1:8080', 'outpost.registry.local', 'outpost.registry.local:8080'],
  })
})

test('which nodes a tree is for', () => {
  assert.deepEqual(yumMatch(TREES[0]!), { os: 'centos', version: '7', arch: 'x86_64' })
  assert.deepEqual(yumMatch(TREES[1]!), { os: 'rocky', version: '9', arch: 'aarch64' })
  assert.deepEqual(yumMatch({ kind: 'yum', urlPath: '/repos/kubernetes/' }), { os: '*', version: '*', arch: '*' })
  assert.deepEqual(yumMatch({ kind: 'yum', urlPath: '/x/', os: 'ol', osVersion: '8', arch: 'amd64' }), {
    os: 'ol',
    version: '8',
    arch: 'x86_64',
  })
  assert.deepEqual(aptMatch(TREES[2]!, 'bookworm-updates'), { os: 'debian', version: 'bookworm', arch: '*' })
  assert.deepEqual(aptMatch(TREES[3]!, 'jammy'), { os: 'ubuntu', version: 'jammy', arch: '*' })
  assert.deepEqual(aptMatch(TREES[4]!, null), { os: '*', version: '*', arch: '*' })
  assert.deepEqual(aptMatch({ kind: 'apt', urlPath: '/debian/k8s/' }, 'stable'), { os: 'debian', version: '*', arch: '*' })
  assert.equal(treeSlug('/rocky/9.2/BaseOS/aarch64/os'), 'rocky-9.2-baseos-aarch64-os')
  assert.equal(treeSlug('/'), 'root')
})

test('yum .repo files', () => {
  assert.equal(
    renderYumRepo(plain, TREES[0]!, 'centos-7-os-x86_64'),
    [
      '# /etc/yum.repos.d/outpost-centos-7-os-x86_64.repo, from Outpost (http://10.0.0.1:8080/setup/).',
      '[outpost-centos-7-os-x86_64]',
      'name=Outpost centos/7/os/x86_64',
      'baseurl=http://10.0.0.1:8080/centos/7/os/x86_64/',
      'enabled=1',
      'gpgcheck=0',
      'module_hotfixes=1',
      'skip_if_unavailable=0',
      '',
    ].join('\n'),
  )
  const signed = renderYumRepo(plain, TREES[1]!, 'rocky')
  assert.match(signed, /^baseurl=http:\/\/10\.0\.0\.1:8080\/rocky\/9\.2\/BaseOS\/aarch64\/os\/$/m)
  assert.match(signed, /^gpgcheck=1\ngpgkey=http:\/\/10\.0\.0\.1:8080\/rocky\/RPM-GPG-KEY-Rocky-9$/m)
})

test('apt deb822 .sources files', () => {
  assert.equal(
    renderAptSources(plain, TREES[2]!, 'debian', 'bookworm'),
    [
      '# /etc/apt/sources.list.d/outpost-debian-bookworm.sources, from Outpost (http://10.0.0.1:8080/setup/).',
      'Types: deb',
      'URIs: http://10.0.0.1:8080/debian/',
      'Suites: bookworm',
      'Components: main contrib',
      'Signed-By: /etc/apt/keyrings/outpost-debian.asc',
      '',
    ].join('\n'),
  )
  assert.match(renderAptSources(plain, TREES[3]!, 'ubuntu-jammy', 'jammy'), /^Components: main\nTrusted: yes\n$/m)
  const flat = renderAptSources(plain, TREES[4]!, 'files-kubernetes-deb', null)
  assert.match(flat, /^URIs: http:\/\/10\.0\.0\.1:8080\/files\/kubernetes\/deb\/\nSuites: \.\/\nTrusted: yes\n$/m)
  assert.ok(!flat.includes('Components'))
})

test('time: chrony.conf at Outpost, timesyncd only on port 123, nothing when time is off', () => {
  assert.match(renderChronyConf(plain)!, /^server 10\.0\.0\.1 iburst$/m)
  assert.match(renderChronyConf(plain)!, /^makestep 1\.0 3$/m)
  assert.ok(!/^(pool|server) .*ntp\.org/m.test(renderChronyConf(plain)!))
  assert.match(renderChronyConf(buildSetupContext(input({ ntpPort: 11123 })))!, /^server 10\.0\.0\.1 port 11123 iburst$/m)
  assert.equal(renderChronyConf(buildSetupContext(input({ ntpPort: null }))), null)
  assert.match(renderTimesyncdConf(plain)!, /^\[Time\]\nNTP=10\.0\.0\.1\n# .*\nFallbackNTP=\n$/m)
  assert.equal(renderTimesyncdConf(buildSetupContext(input({ ntpPort: 11123 }))), null)
})

test('the file list: CA files only with a CA, keys beside their sources, every URL served', () => {
  const kinds = (files: ReturnType<typeof setupFiles>) => files.map((f) => f.kind)
  const p = setupFiles(plain)
  assert.ok(!kinds(p).some((k) => k.includes('ca')))
  assert.equal(findSetupFile(p, '/setup/ca.crt'), undefined)
  const s = setupFiles(secure)
  assert.equal(s.filter((f) => f.kind === 'containerd-ca').length, registryHostsOf(secure).length)
  assert.deepEqual(
    s.find((f) => f.kind === 'ca-trust'),
    { ...s.find((f) => f.kind === 'ca-trust')!, url: '/setup/ca.crt', dest: '-' },
  )
  assert.equal(findSetupFile(s, '/setup/ca.crt')!.render!(), CA)
  assert.ok(s.some((f) => f.kind === 'docker-ca' && f.dest === '/etc/docker/certs.d/outpost.registry.local:8443/ca.crt'))
  const key = s.find((f) => f.kind === 'apt-key')!
  assert.deepEqual([key.url, key.dest, key.render], ['/debian/outpost.asc', '/etc/apt/keyrings/outpost-debian.asc', undefined])
  assert.deepEqual(
    s.filter((f) => f.kind === 'apt').map((f) => [f.dest, f.match.version]),
    [
      ['/etc/apt/sources.list.d/outpost-debian-bookworm.sources', 'bookworm'],
      ['/etc/apt/sources.list.d/outpost-debian-bookworm-updates.sources', 'bookworm'],
      ['/etc/apt/sources.list.d/outpost-ubuntu-jammy-jammy.sources', 'jammy'],
      ['/etc/apt/sources.list.d/outpost-files-kubernetes-deb.sources', '*'],
    ],
  )
  for (const f of s)
    if (f.render)
      assert.equal(
        findSetupFile(s, f.url),
        s.find((g) => g.url === f.url),
      )
  const index = renderSetupIndex(secure, s)
  assert.match(index, /\/setup\/containerd\/docker\.io\/hosts\.toml {2}→ {2}\/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml/)
  assert.match(index, /\/setup\/yum\/outpost-centos-7-os-x86_64\.repo .*\[centos 7 x86_64\]/)
})

test('bootstrap.sh: carries its address and manifest, and is valid sh', () => {
  const script = renderBootstrap(secure, setupFiles(secure))
  assert.ok(script.startsWith('#!/bin/sh\n'))
  assert.match(script, /^OUTPOST_SERVED_URL='http:\/\/10\.0\.0\.1:8080'$/m)
  assert.match(script, /^REGISTRY_DOMAINS='outpost\.registry\.local'$/m)
  assert.match(script, /^NTP_PORT='123'$/m)
  assert.match(
    script,
    /^containerd \/setup\/containerd\/docker\.io\/hosts\.toml \/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml \* \* \*$/m,
  )
  assert.match(
    script,
    /^yum \/setup\/yum\/outpost-rocky-9\.2-baseos-aarch64-os\.repo \/etc\/yum\.repos\.d\/outpost-rocky-9\.2-baseos-aarch64-os\.repo rocky 9 aarch64$/m,
  )
  assert.match(script, /^ca-trust \/setup\/ca\.crt - \* \* \*$/m)
  // Shell's own ${…} survived the template; the placeholder did not.
  assert.ok(script.includes('OUTPOST_URL=${OUTPOST_URL:-$OUTPOST_SERVED_URL}'))
  assert.ok(!script.includes('$\\{'))
  assert.ok(script.trimEnd().endsWith('main "$@"'))
  for (const shell of ['sh', 'dash', 'bash']) {
    const r = spawnSync(shell, ['-n'], { input: script, encoding: 'utf8' })
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT' && shell !== 'sh') continue
    assert.equal(r.status, 0, `${shell} -n: ${r.stderr}`)
  }
  assert.doesNotMatch(renderBootstrap(plain, setupFiles(plain)), /^ca-trust /m)
})

test('nothing that could break out of quoting reaches bootstrap.sh', () => {
  // Trees with unsafe paths are left out of the set-up altogether.
  const ctx = buildSetupContext(
    input({
      trees: [
        { kind: 'yum', urlPath: "/x'; rm -rf /; '/" },
        { kind: 'apt', urlPath: '/d/', suites: [{ name: 'x' }], keyUrl: '/k $(id)' },
        TREES[0]!,
      ],
    }),
  )
  const files = setupFiles(ctx)
  assert.deepEqual(
    files.filter((f) => f.kind === 'yum' || f.kind.startsWith('apt')).map((f) => f.url),
    ['/setup/yum/outpost-centos-7-os-x86_64.repo'],
  )
  assert.ok(!renderBootstrap(ctx, files).includes('rm -rf /;'))
  // And the script renderer checks every manifest field itself.
  const bad = [{ ...files[0]!, dest: '/etc/x y' }]
  assert.throws(() => renderBootstrap(ctx, bad), /refusing to write/)
})
