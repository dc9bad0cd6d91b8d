/**
 * The offline release as an operator on an air-gapped machine without Node uses it:
 * `npm run release` builds the tarball (or OUTPOST_RELEASE_TARBALL names one built
 * already); inside a network namespace with only loopback, with no `node` on PATH and the
 * system's Node unable to run, it is unpacked, checked and installed with
 * `install.sh --prefix` under dash, serves the demo bundle with the shipped
 * /etc/outpost/config.yaml (:80, :443, :123), skopeo pulls an image from it, and
 * `install.sh --uninstall` leaves only the config.
 */
import { before, after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { buildDemoBundle } from '../../src/demo/index.js'
import { tempDir } from '../helpers/server.js'
import { startOfflineHost, type OfflineHost } from '../helpers/offline-host.js'
import { waitFor } from '../helpers/procs.js'
import { which } from '../helpers/tools.js'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; devDependencies: Record<string, string> }
const NAME = `outpost-${pkg.version}-linux-${process.arch}`
const MAX_BYTES = 250 * 1024 * 1024

/** What the offline machine has: a shell, coreutils, tar, the clients. No node. */
const TOOLS: Record<string, string> = {
  sh: 'dash',
  dash: 'dash',
  ...Object.fromEntries(
    ['cat', 'cp', 'mkdir', 'mv', 'rm', 'rmdir', 'ln', 'chmod', 'readlink', 'dirname', 'id', 'sha256sum', 'ls', 'sleep'].map((t) => [
      t,
      'coreutils',
    ]),
  ),
  grep: 'grep',
  tar: 'tar',
  gzip: 'gzip',
  curl: 'curl',
  skopeo: 'skopeo',
}

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? [p, ...walk(p)] : [p]
  })

describe('the offline release on a machine without network or Node', () => {
  let work: string
  let tarball: string
  let host: OfflineHost
  let unpacked: string
  let prefix: string
  const ok = (r: { status: number; stdout: string; stderr: string }, what: string) =>
    assert.equal(r.status, 0, `${what} exited ${r.status}\n${r.stdout}\n${r.stderr}`)

  before(async () => {
    work = tempDir('outpost-e2e-release-')
    if (process.env.OUTPOST_RELEASE_TARBALL) {
      tarball = process.env.OUTPOST_RELEASE_TARBALL
    } else {
      const started = Date.now()
      const r = spawnSync(process.execPath, ['scripts/release.mjs', '--out-dir', join(work, 'release')], { encoding: 'utf8' })
      assert.equal(r.status, 0, `npm run release failed:\n${r.stdout}${r.stderr}`)
      tarball = r.stdout.trim().split('\n').pop()!
      process.stderr.write(`# release built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`)
    }
    const size = statSync(tarball).size
    process.stderr.write(`# ${relative(work, tarball)}: ${(size / 1024 / 1024).toFixed(1)} MiB\n`)
    host = await startOfflineHost(work, TOOLS)
    unpacked = join(work, 'unpacked', NAME)
    prefix = join(work, 'root')
  })
  after(async () => {
    await host?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  test('the tarball is one folder with SHA256SUMS over every file, the runtime, bin/outpost, install.sh and the unit', async () => {
    assert.match(tarball, new RegExp(`/${NAME}\\.tar\\.gz$`))
    assert.ok(statSync(tarball).size < MAX_BYTES, `${statSync(tarball).size} bytes`)
    const sum = readFileSync(`${tarball}.sha256`, 'utf8')
    assert.equal(sum, `${createHash('sha256').update(readFileSync(tarball)).digest('hex')}  ${NAME}.tar.gz\n`)

    // Inside the namespace: loopback is the only network; nothing on PATH is a node, and the system's cannot run.
    const links = await host.runAsHost('ip', ['-o', 'link', 'show'])
    ok(links, 'ip link')
    assert.deepEqual(
      links.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(': ')[1]),
      ['lo'],
    )
    const node = await host.run('sh', ['-c', 'command -v node'])
    assert.notEqual(node.status, 0, `node is visible inside: ${node.stdout}`)
    const system = which('node')
    if (system) assert.notEqual((await host.run(system, ['--version'])).status, 0, `${system} runs inside`)

    const dir = join(work, 'unpacked')
    ok(await host.run('mkdir', ['-p', dir]), 'mkdir')
    ok(await host.run('tar', ['-xzf', tarball, '-C', dir]), 'tar -xzf')
    assert.deepEqual(readdirSync(dir), [NAME])

    const files = walk(unpacked)
      .filter((p) => !statSync(p).isDirectory())
      .map((p) => relative(unpacked, p))
      .sort()
    for (const f of [
      'SHA256SUMS',
      'VERSION',
      'bin/outpost',
      'install.sh',
      'node/bin/node',
      'config/outpost.service',
      'config/config.yaml',
      'config/outpost.example.yaml',
      'dist/cli/index.js',
      'dist/cli.js',
      'dist/nodes/setup/bootstrap.sh',
      'package.json',
    ]) {
      assert.ok(files.includes(f), `${f} in the release`)
    }
    for (const f of ['bin/outpost', 'install.sh', 'node/bin/node', 'dist/cli/index.js', 'dist/cli.js']) {
      assert.ok(statSync(join(unpacked, f)).mode & 0o111, `${f} is executable`)
    }
    // The built CLI runs by itself where a node is on PATH (here, outside the namespace), under both entry points.
    for (const f of ['dist/cli/index.js', 'dist/cli.js']) {
      const r = spawnSync(join(unpacked, f), ['--version'], { encoding: 'utf8' })
      assert.equal(r.stdout.trim(), pkg.version, `./${f} --version: ${r.stderr}`)
    }
    const listed = readFileSync(join(unpacked, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.slice(66))
    assert.deepEqual(
      listed,
      files.filter((f) => f !== 'SHA256SUMS'),
    )
    ok(await host.run('sh', ['-c', `cd '${unpacked}' && sha256sum -c --quiet SHA256SUMS`]), 'sha256sum -c')
    for (const dev of Object.keys(pkg.devDependencies)) {
      assert.ok(!existsSync(join(unpacked, 'node_modules', dev)), `devDependency ${dev} in the release`)
    }
    assert.ok(existsSync(join(unpacked, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')))
    // Outpost's own addon (zero-copy bodies), compiled, and no link back to the checkout's native/.
    assert.ok(existsSync(join(unpacked, 'node_modules/outpost-sendfile/build/Release/outpost_sendfile.node')))
    assert.ok(!files.some((f) => f.startsWith('native/')))
    assert.equal(readFileSync(join(unpacked, 'VERSION'), 'utf8'), `${pkg.version}\n`)
  })

  test('install.sh --prefix under dash installs it, twice, writing nothing outside the prefix', async () => {
    const first = await host.run('dash', [join(unpacked, 'install.sh'), '--prefix', prefix])
    ok(first, 'install.sh')
    process.stderr.write(first.stdout.replace(/^/gm, '# '))
    assert.match(first.stdout, /checked\s+every file against SHA256SUMS/)
    assert.match(first.stdout, new RegExp(`checked\\s+.*bin/outpost --version: ${pkg.version.replaceAll('.', '\\.')}`))
    assert.match(first.stdout, new RegExp(`wrote\\s+${prefix}/etc/outpost/config\\.yaml`))
    const again = await host.run('dash', [join(unpacked, 'install.sh'), '--prefix', prefix])
    ok(again, 'install.sh again')
    assert.match(again.stdout, /replaced\s+/)
    assert.match(again.stdout, /kept\s+.*config\.yaml \(not changed\)/)

    const outpost = join(prefix, 'usr/local/bin/outpost')
    const version = await host.run(outpost, ['--version'])
    ok(version, 'outpost --version')
    assert.equal(version.stdout.trim(), pkg.version)
    // Through PATH, as an operator types it.
    const onPath = await host.run('sh', ['-c', `PATH="${join(prefix, 'usr/local/bin')}:$PATH" outpost --version`])
    assert.equal(onPath.stdout.trim(), pkg.version, onPath.stderr)
  })

  test('the installed Outpost serves a bundle with the shipped config, and skopeo pulls from it', async (t) => {
    const bundle = await buildDemoBundle(join(work, 'bundle'))
    // A file over the small-body limit: its body goes by sendfile.
    const large = randomBytes(3 * 1024 * 1024 + 5)
    writeFileSync(join(bundle, 'nginx/large.bin'), large)
    const config = join(prefix, 'etc/outpost/config.yaml')
    const shipped = readFileSync(config, 'utf8')
    assert.match(shipped, /^# bundle: .*$/m)
    assert.match(shipped, /^data_dir: \/var\/lib\/outpost$/m)
    // What an operator edits: the bundle, and (for the test) a data_dir under the work folder.
    const edited = shipped.replace(/^# bundle: .*$/m, `bundle: ${bundle}`).replace(/^data_dir: .*$/m, `data_dir: ${join(work, 'data')}`)
    writeFileSync(config, edited)
    const outpost = join(prefix, 'usr/local/bin/outpost')
    ok(await host.run(outpost, ['check-config', config]), 'outpost check-config')

    const server = host.start(outpost, ['serve', '--config', config])
    t.after(() => server.stop())
    await waitFor(
      async () => server.child.exitCode !== null || (await host.run('curl', ['-fsS', 'http://127.0.0.1/readyz'], 5000)).status === 0,
      `outpost serve to be ready on :80: ${server.output()}`,
      60_000,
    )
    assert.equal(server.child.exitCode, null, `outpost serve exited: ${server.output()}`)
    // The release's server uses the sendfile addon it carries, and sends the same bytes with it.
    assert.match(server.output(), /large bodies on plain HTTP go by sendfile/)
    for (const [range, bytes] of [
      ['', large],
      ['1000-2000000', large.subarray(1000, 2000001)],
    ] as const) {
      const out = join(work, `large${range}`)
      ok(
        await host.run('curl', ['-fsS', '-o', out, ...(range ? ['-r', range] : []), 'http://127.0.0.1/large.bin']),
        `curl large.bin ${range}`,
      )
      assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), createHash('sha256').update(bytes).digest('hex'), range)
    }

    const pulled = join(work, 'pulled')
    ok(
      await host.run(
        'skopeo',
        ['--insecure-policy', 'copy', '--src-tls-verify=false', 'docker://127.0.0.1:80/library/hello:1.0', `dir:${pulled}`],
        90_000,
      ),
      'skopeo copy',
    )
    let blobs = 0
    for (const f of readdirSync(pulled).filter((n) => /^[a-f0-9]{64}$/.test(n))) {
      assert.equal(
        createHash('sha256')
          .update(readFileSync(join(pulled, f)))
          .digest('hex'),
        f,
      )
      blobs++
    }
    assert.ok(blobs >= 2, `${blobs} blobs pulled`)

    // HTTPS on :443 with the CA Outpost made, by the bundled Node's TLS.
    const ca = join(work, 'data/tls/ca.crt')
    const https = await host.run('curl', ['-fsS', '--cacert', ca, 'https://127.0.0.1/v2/_catalog'])
    ok(https, 'curl https')
    assert.match(https.stdout, /library\/hello/)

    // `outpost status` where the command exists; /readyz otherwise.
    const help = await host.run(outpost, ['--help'])
    if (/^\s+status\b/m.test(help.stdout)) {
      const status = await host.run(outpost, ['status', 'http://127.0.0.1'])
      ok(status, 'outpost status')
      assert.match(status.stdout, /\bready\b/)
    } else {
      process.stderr.write('outpost status is not a command of this version: /readyz checked instead\n')
      const ready = await host.run('curl', ['-fsS', 'http://127.0.0.1/readyz'])
      ok(ready, 'curl /readyz')
      assert.equal(ready.stdout.trim(), 'ok')
    }
    const ls = await host.run(outpost, ['ls', 'http://127.0.0.1'])
    ok(ls, 'outpost ls')
    assert.match(ls.stdout, /library\/hello/)

    await server.stop()
    assert.equal(server.child.exitCode, 0, `outpost serve after SIGTERM: ${server.output()}`)
  })

  test('systemd-analyze verify accepts the installed unit with the installed release', async (t) => {
    const analyze = which('systemd-analyze')
    if (!analyze) {
      t.skip('systemd-analyze is not installed (Debian package systemd): the installed unit is not verified')
      return
    }
    // The unit names /opt/outpost/bin/outpost: the prefix's release takes that place, in this namespace only.
    const opt = join(work, 'opt')
    ok(await host.runAsHost('mkdir', ['-p', join(opt, 'outpost')]), 'mkdir')
    ok(await host.runAsHost('mount', ['--bind', opt, '/opt']), 'mount /opt')
    ok(await host.runAsHost('mount', ['--bind', join(prefix, 'opt/outpost'), '/opt/outpost']), 'mount /opt/outpost')
    const r = await host.runAsHost(analyze, ['verify', join(prefix, 'etc/systemd/system/outpost.service')])
    ok(r, 'systemd-analyze verify')
    assert.equal(r.stderr.trim(), '')
    ok(await host.runAsHost('umount', ['/opt/outpost']), 'umount')
    ok(await host.runAsHost('umount', ['/opt']), 'umount')
  })

  test('install.sh --uninstall leaves only the config', async () => {
    const config = join(prefix, 'etc/outpost/config.yaml')
    const edited = readFileSync(config, 'utf8')
    const r = await host.run('dash', [join(prefix, 'opt/outpost/install.sh'), '--uninstall', '--prefix', prefix])
    ok(r, 'install.sh --uninstall')
    assert.match(r.stdout, new RegExp(`kept\\s+${config}`))
    assert.deepEqual(
      walk(prefix)
        .map((p) => relative(prefix, p))
        .sort(),
      ['etc', 'etc/outpost', 'etc/outpost/config.yaml'],
    )
    assert.equal(readFileSync(config, 'utf8'), edited)
  })
  test('install.sh as root on a systemd machine (a stand-in systemctl): /opt/outpost, outpost on PATH, the unit enabled; --uninstall', async () => {
    // /etc, /opt, /usr and /run writable inside the namespace only, every write kept apart to be looked at.
    const upper = join(work, 'writes')
    await host.overlay(['/etc', '/opt', '/usr', '/run'], upper)
    ok(await host.runAsHost('mkdir', ['-p', '/run/systemd/system']), 'mkdir /run/systemd/system')
    const log = join(work, 'systemctl.log')
    const active = join(work, 'active')
    writeFileSync(
      join(host.path, 'systemctl'),
      `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$1" = is-active ] && [ ! -e '${active}' ]; then exit 3; fi\nexit 0\n`,
      { mode: 0o755 },
    )
    const calls = () => readFileSync(log, 'utf8').trim().split('\n')
    const exists = async (p: string) => (await host.run('sh', ['-c', `[ -e '${p}' ] || [ -L '${p}' ]`])).status === 0

    const r = await host.run('dash', [join(unpacked, 'install.sh')])
    ok(r, 'install.sh')
    assert.match(r.stdout, /installed\s+\/opt\/outpost\n/)
    assert.match(r.stdout, /linked\s+\/usr\/local\/bin\/outpost -> \/opt\/outpost\/bin\/outpost/)
    assert.match(r.stdout, /wrote\s+\/etc\/outpost\/config\.yaml/)
    assert.match(r.stdout, /wrote\s+\/etc\/systemd\/system\/outpost\.service/)
    assert.match(r.stdout, /enabled\s+outpost\.service/)
    assert.match(r.stdout, /systemctl start outpost/)
    assert.deepEqual(calls(), ['daemon-reload', 'enable outpost.service', 'is-active --quiet outpost.service'])
    // The overlays' upper folders are on a tmpfs of the namespace: list them from inside.
    const found = await host.runAsHost('find', [upper, '-mindepth', '2', '!', '-type', 'd'])
    ok(found, 'find')
    const written = found.stdout
      .trim()
      .split('\n')
      .map((p) => relative(upper, p))
      .filter((p) => !p.startsWith('.'))
    for (const p of written) {
      assert.match(
        p,
        /^(etc\/outpost\/config\.yaml|etc\/systemd\/system\/outpost\.service|opt\/outpost\/.+|usr\/local\/bin\/outpost)$/,
        `install.sh wrote ${p}`,
      )
    }
    assert.ok(written.includes('usr/local/bin/outpost'))

    const onPath = await host.run('sh', ['-c', 'PATH=/usr/local/bin:$PATH; command -v node || outpost --version'])
    ok(onPath, 'outpost --version on PATH')
    assert.equal(onPath.stdout.trim(), pkg.version)

    // An upgrade while the service runs: the same install, then a restart to do.
    writeFileSync(active, '')
    const again = await host.run('dash', [join(unpacked, 'install.sh')])
    ok(again, 'install.sh again')
    assert.match(again.stdout, /replaced\s+\/opt\/outpost/)
    assert.match(again.stdout, /kept\s+\/etc\/outpost\/config\.yaml \(not changed\)/)
    assert.match(again.stdout, /systemctl restart outpost/)

    writeFileSync(log, '')
    const gone = await host.run('dash', ['/opt/outpost/install.sh', '--uninstall'])
    ok(gone, 'install.sh --uninstall')
    assert.deepEqual(calls(), ['disable --now outpost.service', 'daemon-reload'])
    for (const p of ['/opt/outpost', '/usr/local/bin/outpost', '/etc/systemd/system/outpost.service']) {
      assert.equal(await exists(p), false, `${p} after --uninstall`)
    }
    assert.equal(await exists('/etc/outpost/config.yaml'), true)
  })
})
