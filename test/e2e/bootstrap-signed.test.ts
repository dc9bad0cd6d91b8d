/**
 * Signed trees under Outpost's file roots, their keys published in the tree:
 *
 * - apt: detection finds the key and the mirrored components, bootstrap.sh
 *   writes the key and a `.sources` file with `Signed-By:` (never
 *   `Trusted: yes`), and apt-get verifies InRelease with that key (and
 *   refuses the archive without it);
 * - yum: packages signed with rpmsign and repomd.xml with a detached
 *   signature: the `.repo` file has gpgcheck=1, repo_gpgcheck=1 and the
 *   tree's key, and dnf installs through it checking both (and refuses the
 *   metadata against another key).
 *
 * Unsigned trees beside them are still trusted as they are, and /setup/ says so.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestServer, tempDir } from '../helpers/server.js'
import { requireTools, run, runOk } from '../helpers/tools.js'
import { APT_TOOLS, SIGN_TOOLS, YUM_TOOLS, buildAptTree, buildYumTree, signYumTree, stopGpgAgent } from '../helpers/real-trees.js'
import { writeAptTree } from '../helpers/synthetic-trees.js'

test('apt-get checks the archive with the key Outpost found in the tree and bootstrap.sh installed', async (t) => {
  requireTools({ ...APT_TOOLS, 'apt-get': 'apt' })
  const work = tempDir('outpost-signed-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const files = join(work, 'nginx')
  const tree = await buildAptTree(join(work, 'build'), join(files, 'debian'))
  t.after(() => stopGpgAgent(tree.gnupgHome))
  // Published beside dists/, as archives publish their keys.
  copyFileSync(tree.keyring, join(tree.dir, 'archive-keyring.gpg'))

  const s = await startTestServer({ files: { roots: [{ prefix: '/', path: files }] } })
  t.after(() => s.close())
  await s.running.scanned
  const reports = await s.running.packageTrees.check()
  assert.deepEqual(
    reports.map((r) => [r.url, r.suite, r.ok, r.components, r.signingKey]),
    [['/debian/', 'bookworm', true, ['main'], '/debian/archive-keyring.gpg']],
  )

  const script = join(work, 'bootstrap.sh')
  writeFileSync(script, await (await fetch(`${s.url}/setup/bootstrap.sh`)).text())
  const node = join(work, 'node')
  mkdirSync(join(node, 'etc'), { recursive: true })
  writeFileSync(
    join(node, 'etc', 'os-release'),
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
  )
  const env = { ...process.env }
  delete env.OUTPOST_URL
  await runOk('sh', [script, '--root', node, '--no-checkin'], { env })

  const keyring = join(node, 'etc/apt/keyrings/outpost-debian.gpg')
  assert.deepEqual(readFileSync(keyring), readFileSync(tree.keyring))
  const sourcesFile = join(node, 'etc/apt/sources.list.d/outpost-debian-bookworm.sources')
  const sources = readFileSync(sourcesFile, 'utf8')
  assert.match(sources, /^Components: main\nSigned-By: \/etc\/apt\/keyrings\/outpost-debian\.gpg\n$/m)
  assert.doesNotMatch(sources, /Trusted/)

  // apt reads the sources as the node would; Signed-By names a path on the
  // node, which here lives under --root.
  const apt = join(work, 'apt')
  for (const d of ['sources', 'state/lists/partial', 'cache/archives/partial']) mkdirSync(join(apt, d), { recursive: true })
  writeFileSync(join(apt, 'status'), '')
  const aptGet = (signedBy: string) => {
    writeFileSync(join(apt, 'sources', 'outpost.sources'), sources.replace(/^Signed-By: .*$/m, `Signed-By: ${signedBy}`))
    rmSync(join(apt, 'state', 'lists'), { recursive: true, force: true })
    mkdirSync(join(apt, 'state', 'lists', 'partial'), { recursive: true })
    const options = [
      ['Dir::Etc::SourceList', '/dev/null'],
      ['Dir::Etc::SourceParts', join(apt, 'sources')],
      ['Dir::Etc::Parts', '/dev/null'],
      ['Dir::Etc::Preferences', '/dev/null'],
      ['Dir::Etc::PreferencesParts', '/dev/null'],
      ['Dir::Etc::Trusted', '/dev/null'],
      ['Dir::Etc::TrustedParts', '/dev/null'],
      ['Dir::State', join(apt, 'state')],
      ['Dir::State::status', join(apt, 'status')],
      ['Dir::Cache', join(apt, 'cache')],
      ['Debug::NoLocking', '1'],
      ['Acquire::Languages', 'none'],
      ['Acquire::Retries', '0'],
      ['APT::Sandbox::User', 'root'],
    ].flatMap(([k, v]) => ['-o', `${k}=${v}`])
    return run('apt-get', [...options, '-q', 'update'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 120_000 })
  }
  const checked = await aptGet(keyring)
  assert.equal(checked.code, 0, checked.stdout + checked.stderr)
  assert.doesNotMatch(checked.stdout + checked.stderr, /^(W|E):/m, checked.stdout + checked.stderr)

  // The same archive against another key is refused: the signature was checked.
  const other = join(work, 'other.gpg')
  writeFileSync(other, '')
  const refused = await aptGet(other)
  assert.notEqual(refused.code, 0)
  assert.match(
    refused.stdout + refused.stderr,
    /NO_PUBKEY|not signed|signatures? (couldn't|could not) be verified|is not signed/i,
    refused.stdout + refused.stderr,
  )
})

test('an unsigned apt tree beside a signed one is trusted as it is, and /setup/ says which is which', async (t) => {
  requireTools({ ...APT_TOOLS })
  const work = tempDir('outpost-signed-apt-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const files = join(work, 'nginx')
  const tree = await buildAptTree(join(work, 'build'), join(files, 'debian'))
  t.after(() => stopGpgAgent(tree.gnupgHome))
  copyFileSync(tree.keyring, join(tree.dir, 'archive-keyring.gpg'))
  writeAptTree(join(files, 'local', 'debs'), { suite: 'bookworm' })
  const s = await startTestServer({ files: { roots: [{ prefix: '/', path: files }] } })
  t.after(() => s.close())
  await s.running.scanned
  await s.running.packageTrees.check()
  const unsigned = await (await fetch(`${s.url}/setup/apt/outpost-local-debs-bookworm.sources`)).text()
  assert.match(unsigned, /^Trusted: yes$/m)
  assert.doesNotMatch(unsigned, /Signed-By/)
  const index = await (await fetch(`${s.url}/setup/`)).text()
  assert.match(index, /^ {2}\/debian\/ bookworm {2}signed: apt checks it with \/debian\/archive-keyring\.gpg \(Signed-By\)$/m)
  assert.match(index, /^ {2}\/local\/debs\/ bookworm {2}UNSIGNED: trusted as it is \(Trusted: yes\)$/m)
})

test('dnf installs from a signed yum tree with gpgcheck=1 and repo_gpgcheck=1, with the key Outpost found in the tree', async (t) => {
  requireTools({ ...YUM_TOOLS, ...SIGN_TOOLS, dnf: 'dnf' })
  // dnf installs into a root of its own (--installroot), which needs root.
  if (process.getuid && process.getuid() !== 0) throw new Error('dnf --installroot needs root')
  const work = tempDir('outpost-signed-yum-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const files = join(work, 'nginx')
  const tree = await buildYumTree(join(work, 'build'), join(files, 'rocky', '9', 'os'))
  const signed = await signYumTree(join(work, 'build'), tree)
  t.after(() => stopGpgAgent(signed.gnupgHome))
  // An unsigned tree beside it: still installed unchecked, and said so.
  await buildYumTree(join(work, 'build-unsigned'), join(files, 'local', 'el9'))

  const s = await startTestServer({ files: { roots: [{ prefix: '/', path: files }] } })
  t.after(() => s.close())
  await s.running.scanned
  const reports = await s.running.packageTrees.check()
  assert.deepEqual(
    reports.map((r) => [r.url, r.ok, r.signingKey, r.signed, r.packagesSigned]),
    [
      ['/local/el9/', true, null, false, false],
      ['/rocky/9/os/', true, '/rocky/9/os/RPM-GPG-KEY-outpost-test', true, true],
    ],
  )
  const repo = await (await fetch(`${s.url}/setup/yum/outpost-rocky-9-os.repo`)).text()
  assert.match(repo, new RegExp(`^gpgcheck=1\ngpgkey=${s.url}/rocky/9/os/RPM-GPG-KEY-outpost-test\nrepo_gpgcheck=1$`, 'm'))
  const local = await (await fetch(`${s.url}/setup/yum/outpost-local-el9.repo`)).text()
  assert.match(local, /^gpgcheck=0$/m)
  assert.doesNotMatch(local, /gpgkey|repo_gpgcheck/)
  const index = await (await fetch(`${s.url}/setup/`)).text()
  assert.match(
    index,
    /^ {2}\/rocky\/9\/os\/ {2}signed: dnf checks packages \(gpgcheck=1\) and repomd\.xml \(repo_gpgcheck=1\) with \/rocky\/9\/os\/RPM-GPG-KEY-outpost-test$/m,
  )
  assert.match(index, /^ {2}\/local\/el9\/ {2}UNSIGNED: packages installed unchecked \(gpgcheck=0\)$/m)

  // bootstrap.sh writes the .repo files on a Rocky 9 node; dnf uses only those.
  const script = join(work, 'bootstrap.sh')
  writeFileSync(script, await (await fetch(`${s.url}/setup/bootstrap.sh`)).text())
  const node = join(work, 'node')
  mkdirSync(join(node, 'etc'), { recursive: true })
  writeFileSync(join(node, 'etc', 'os-release'), 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')
  const env = { ...process.env }
  delete env.OUTPOST_URL
  await runOk('sh', [script, '--root', node], { env })
  const repos = join(node, 'etc', 'yum.repos.d')
  assert.equal(readFileSync(join(repos, 'outpost-rocky-9-os.repo'), 'utf8'), repo)
  rmSync(join(repos, 'outpost-local-el9.repo'))

  const dnf = (name: string) => {
    const installroot = join(work, `installroot-${name}`)
    const conf = join(work, `dnf-${name}.conf`)
    writeFileSync(conf, `[main]\nreposdir=${repos}\ncachedir=${join(work, `cache-${name}`)}\ninstall_weak_deps=0\n`)
    const r = run(
      'dnf',
      ['-y', '-c', conf, `--installroot=${installroot}`, '--releasever=9', `--setopt=reposdir=${repos}`, 'install', 'outpost-app'],
      { env: { ...process.env, GNUPGHOME: '' }, timeoutMs: 180_000 },
    )
    return { r, installroot }
  }
  const ok = dnf('checked')
  const installed = await ok.r
  assert.equal(installed.code, 0, installed.stdout + installed.stderr)
  // dnf imported the tree's key when asked (-y): the packages' and the metadata's signatures were checked with it.
  assert.match(installed.stdout + installed.stderr, /Importing GPG key/)
  assert.ok(existsSync(join(ok.installroot, 'usr/share/outpost-app/README')))

  // The same tree against another (valid) key: the metadata is refused, nothing is installed.
  const otherHome = join(work, 'gnupg-other')
  mkdirSync(otherHome, { recursive: true, mode: 0o700 })
  const gpg = (args: string[]) =>
    runOk('gpg', ['--homedir', otherHome, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args])
  t.after(() => stopGpgAgent(otherHome))
  await gpg(['--quick-gen-key', 'Someone Else <else@outpost.invalid>', 'ed25519', 'sign', '1d'])
  const other = join(work, 'other.asc')
  writeFileSync(other, (await gpg(['--armor', '--export'])).stdout)
  writeFileSync(join(repos, 'outpost-rocky-9-os.repo'), repo.replace(/^gpgkey=.*$/m, `gpgkey=file://${other}`))
  const refused = dnf('refused')
  const r = await refused.r
  assert.notEqual(r.code, 0, r.stdout + r.stderr)
  assert.match(r.stdout + r.stderr, /repomd\.xml GPG signature verification error/i)
  assert.ok(!existsSync(join(refused.installroot, 'usr/share/outpost-app/README')))
})
