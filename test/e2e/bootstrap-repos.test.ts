/**
 * dnf and apt-get fetch a package through the sources bootstrap.sh wrote.
 * The trees are built here with the real tools (rpmbuild + createrepo_c,
 * dpkg-deb + apt-ftparchive) and served by a small static server beside the
 * nodes router, standing in for Outpost's file roots. Both clients run
 * isolated from this machine's own configuration: only the sources under
 * the --root directory.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono } from 'hono'
import { tempDir } from '../helpers/server.js'
import { requireTool, runOk } from '../helpers/procs.js'
import { openDb } from '../../src/catalog/db.js'
import { nodesApi, NodeStore, type SetupTree } from '../../src/nodes/index.js'
import { silentLogger } from '../../src/server/index.js'

const PKG = 'outpost-hello'

const buildYumTree = async (work: string, dir: string): Promise<void> => {
  const topdir = join(work, 'rpmbuild')
  mkdirSync(topdir, { recursive: true })
  const spec = join(work, `${PKG}.spec`)
  writeFileSync(
    spec,
    [
      `Name: ${PKG}`,
      'Version: 1.0',
      'Release: 1',
      'Summary: Outpost test package',
      'License: MIT',
      'BuildArch: noarch',
      'AutoReqProv: no',
      '%description',
      'Outpost test package.',
      '%install',
      `mkdir -p %{buildroot}/usr/share/${PKG}`,
      `echo hello > %{buildroot}/usr/share/${PKG}/README`,
      '%files',
      `/usr/share/${PKG}/README`,
      '',
    ].join('\n'),
  )
  await runOk('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${topdir}`, '--define', '_build_id_links none', spec], {
    env: { ...process.env, HOME: work },
  })
  mkdirSync(join(dir, 'Packages'), { recursive: true })
  for (const f of readdirSync(join(topdir, 'RPMS', 'noarch'))) copyFileSync(join(topdir, 'RPMS', 'noarch', f), join(dir, 'Packages', f))
  // gz explicitly: createrepo_c may default to zstd.
  await runOk('createrepo_c', ['--quiet', '--general-compress-type=gz', dir])
}

const buildAptTree = async (work: string, dir: string, arch: string): Promise<void> => {
  const pkg = join(work, 'deb')
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true })
  mkdirSync(join(pkg, 'usr', 'share', PKG), { recursive: true })
  writeFileSync(
    join(pkg, 'DEBIAN', 'control'),
    `Package: ${PKG}\nVersion: 1.0\nArchitecture: all\nMaintainer: Outpost tests <tests@example.invalid>\nDescription: Outpost test package\n`,
  )
  writeFileSync(join(pkg, 'usr', 'share', PKG, 'README'), 'hello\n')
  mkdirSync(join(dir, 'pool', 'main'), { recursive: true })
  await runOk('dpkg-deb', ['--build', '--root-owner-group', pkg, join(dir, 'pool', 'main', `${PKG}_1.0_all.deb`)])
  const bin = join(dir, 'dists', 'bookworm', 'main', `binary-${arch}`)
  mkdirSync(bin, { recursive: true })
  const packages = await runOk('sh', ['-c', `cd "${dir}" && apt-ftparchive --arch ${arch} packages pool`])
  writeFileSync(join(bin, 'Packages'), packages.stdout)
  const o = (k: string, v: string) => ['-o', `APT::FTPArchive::Release::${k}=${v}`]
  const release = await runOk('apt-ftparchive', [
    ...o('Suite', 'bookworm'),
    ...o('Codename', 'bookworm'),
    ...o('Components', 'main'),
    ...o('Architectures', arch),
    'release',
    join(dir, 'dists', 'bookworm'),
  ])
  writeFileSync(join(work, 'Release'), release.stdout)
  renameSync(join(work, 'Release'), join(dir, 'dists', 'bookworm', 'Release'))
}

describe('package managers use the sources bootstrap.sh wrote', () => {
  let dir: string
  let url: string
  let script: string
  let close: () => Promise<void>

  before(async () => {
    for (const [tool, pkg] of [
      ['rpmbuild', 'rpm'],
      ['createrepo_c', 'createrepo-c'],
      ['dnf', 'dnf'],
      ['dpkg-deb', 'dpkg'],
      ['apt-ftparchive', 'apt-utils'],
      ['apt-get', 'apt'],
    ] as const)
      requireTool(tool, pkg)
    dir = tempDir('outpost-e2e-repos-')
    const arch = (await runOk('dpkg', ['--print-architecture'])).stdout.trim()
    await buildYumTree(join(dir, 'work-yum'), join(dir, 'trees', 'rocky', '9', 'os'))
    await buildAptTree(join(dir, 'work-apt'), join(dir, 'trees', 'debian'), arch)
    const trees: SetupTree[] = [
      { kind: 'yum', urlPath: '/rocky/9/os/' },
      { kind: 'apt', urlPath: '/debian/', suites: [{ name: 'bookworm', components: ['main'] }] },
    ]
    const db = openDb(':memory:')
    const app = new Hono()
    app.route(
      '/',
      nodesApi({
        logger: silentLogger(),
        store: new NodeStore(db),
        thresholds: { offsetMs: 500, staleAfterS: 86400 },
        ntp: () => null,
        setup: {
          domains: ['outpost.registry.local'],
          upstreams: ['docker.io'],
          caPem: () => null,
          trees: () => trees,
          httpsPort: () => null,
        },
      }),
    )
    app.use('/*', serveStatic({ root: join(dir, 'trees') }))
    const server = createAdaptorServer({ fetch: app.fetch }) as Server
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
        db.close()
      })
    script = join(dir, 'bootstrap.sh')
    writeFileSync(script, await (await fetch(`${url}/setup/bootstrap.sh`)).text())
  })
  after(async () => {
    await close?.()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const bootstrap = async (name: string, osRelease: string): Promise<string> => {
    const root = join(dir, name)
    mkdirSync(join(root, 'etc'), { recursive: true })
    writeFileSync(join(root, 'etc', 'os-release'), osRelease)
    const env = { ...process.env }
    delete env.OUTPOST_URL
    await runOk('sh', [script, '--root', root, '--no-checkin'], { env })
    return root
  }

  test('dnf downloads a package from the .repo file', async () => {
    const root = await bootstrap('rocky', 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')
    const repos = join(root, 'etc', 'yum.repos.d')
    assert.deepEqual(readdirSync(repos), ['outpost-rocky-9-os.repo'])
    const conf = join(dir, 'dnf.conf')
    // Only our reposdir; cache inside the test directory.
    writeFileSync(conf, `[main]\nreposdir=${repos}\ncachedir=${join(dir, 'dnf-cache')}\n`)
    const dest = join(dir, 'dnf-download')
    await runOk('dnf', ['-c', conf, '--releasever=9', `--setopt=reposdir=${repos}`, '-q', 'download', '--destdir', dest, PKG], {
      timeoutMs: 180_000,
    })
    assert.deepEqual(readdirSync(dest), [`${PKG}-1.0-1.noarch.rpm`])
  })

  test('apt-get downloads a package from the .sources file', async () => {
    const root = await bootstrap(
      'debian',
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
    )
    const parts = join(root, 'etc', 'apt', 'sources.list.d')
    assert.deepEqual(readdirSync(parts), ['outpost-debian-bookworm.sources'])
    const state = join(dir, 'apt')
    for (const d of ['state/lists/partial', 'cache/archives/partial', 'download']) mkdirSync(join(state, d), { recursive: true })
    writeFileSync(join(state, 'status'), '')
    // Nothing from this machine's apt configuration: only the sources under --root.
    const isolated = [
      ['Dir::Etc::SourceList', '/dev/null'],
      ['Dir::Etc::SourceParts', parts],
      ['Dir::Etc::Parts', '/dev/null'],
      ['Dir::Etc::Preferences', '/dev/null'],
      ['Dir::Etc::PreferencesParts', '/dev/null'],
      ['Dir::State', join(state, 'state')],
      ['Dir::State::status', join(state, 'status')],
      ['Dir::Cache', join(state, 'cache')],
      ['Debug::NoLocking', '1'],
      ['Acquire::Languages', 'none'],
      ['APT::Sandbox::User', 'root'],
    ].flatMap(([k, v]) => ['-o', `${k}=${v}`])
    await runOk('apt-get', [...isolated, 'update'], { timeoutMs: 120_000 })
    await runOk('sh', ['-c', `cd "${join(state, 'download')}" && apt-get "$@" download ${PKG}`, 'apt-get', ...isolated], {
      timeoutMs: 120_000,
    })
    assert.ok(existsSync(join(state, 'download', `${PKG}_1.0_all.deb`)), readdirSync(join(state, 'download')).join(', '))
  })
})
