/**
 * Package trees built with the real tools, as a bundle's nginx/ folder holds
 * them:
 *
 * - yum: two noarch RPMs from rpmbuild, `outpost-app` requiring
 *   `outpost-dep >= 1.0`, indexed with createrepo_c;
 * - apt: the same pair as .debs from dpkg-deb, indexed with apt-ftparchive
 *   under dists/<suite>/main/binary-amd64, Release signed (InRelease and
 *   Release.gpg) with a throwaway ed25519 key whose public keyring is
 *   written for `signed-by`.
 */
import { copyFileSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runOk, which } from './tools.js'

export const YUM_TOOLS = { rpmbuild: 'rpm', createrepo_c: 'createrepo-c' }
export const APT_TOOLS = { 'dpkg-deb': 'dpkg', 'apt-ftparchive': 'apt-utils', gpg: 'gnupg', gpgconf: 'gnupg' }

const PAIR = [
  { name: 'outpost-dep', requires: null },
  { name: 'outpost-app', requires: 'outpost-dep >= 1.0' },
] as const

export interface RealYumTree {
  dir: string
  /** Package file names under dir/Packages. */
  rpms: string[]
}

/** Builds the RPMs in `work` and the tree in `dir`. */
export const buildYumTree = async (work: string, dir: string): Promise<RealYumTree> => {
  const topdir = join(work, 'rpmbuild')
  mkdirSync(topdir, { recursive: true })
  for (const p of PAIR) {
    const spec = join(work, `${p.name}.spec`)
    writeFileSync(
      spec,
      [
        `Name: ${p.name}`,
        'Version: 1.0',
        'Release: 1',
        `Summary: Outpost test package ${p.name}`,
        'License: MIT',
        'BuildArch: noarch',
        // No automatic dependencies: nothing outside the pair is needed to resolve it.
        'AutoReqProv: no',
        ...(p.requires ? [`Requires: ${p.requires}`] : []),
        '%description',
        `Outpost test package ${p.name}.`,
        '%install',
        `mkdir -p %{buildroot}/usr/share/${p.name}`,
        `echo ${p.name} > %{buildroot}/usr/share/${p.name}/README`,
        '%files',
        `/usr/share/${p.name}/README`,
        '',
      ].join('\n'),
    )
    await runOk('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${topdir}`, '--define', '_build_id_links none', spec], {
      env: { ...process.env, HOME: work },
    })
  }
  const packages = join(dir, 'Packages')
  mkdirSync(packages, { recursive: true })
  const built = join(topdir, 'RPMS', 'noarch')
  const rpms = readdirSync(built).sort()
  for (const f of rpms) copyFileSync(join(built, f), join(packages, f))
  // gz explicitly: createrepo_c 1.x defaults to zstd, which Node 20 cannot read.
  await runOk('createrepo_c', ['--quiet', '--general-compress-type=gz', dir])
  return { dir, rpms }
}

export interface RealAptTree {
  /** Archive root (holds dists/ and pool/). */
  dir: string
  suite: string
  /** Pool paths relative to dir. */
  debs: string[]
  /** Binary OpenPGP keyring with the signing key, for `signed-by`. */
  keyring: string
  gnupgHome: string
}

/** Builds the .debs in `work` and the signed archive in `dir`. Call stopGpgAgent(gnupgHome) when done. */
export const buildAptTree = async (work: string, dir: string, suite = 'bookworm'): Promise<RealAptTree> => {
  const debs: string[] = []
  for (const p of PAIR) {
    const pkg = join(work, `pkg-${p.name}`)
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true })
    mkdirSync(join(pkg, 'usr', 'share', p.name), { recursive: true })
    writeFileSync(join(pkg, 'usr', 'share', p.name, 'README'), `${p.name}\n`)
    writeFileSync(
      join(pkg, 'DEBIAN', 'control'),
      [
        `Package: ${p.name}`,
        'Version: 1.0',
        'Architecture: all',
        'Maintainer: Outpost tests <tests@outpost.invalid>',
        ...(p.requires ? [`Depends: ${p.requires.replace('>= 1.0', '(>= 1.0)')}`] : []),
        `Description: Outpost test package ${p.name}`,
        '',
      ].join('\n'),
    )
    const rel = `pool/main/o/${p.name}/${p.name}_1.0_all.deb`
    mkdirSync(join(dir, 'pool', 'main', 'o', p.name), { recursive: true })
    await runOk('dpkg-deb', ['-Zgzip', '--root-owner-group', '--build', pkg, join(dir, rel)])
    debs.push(rel)
  }
  const dists = join(dir, 'dists', suite)
  const binary = join(dists, 'main', 'binary-amd64')
  mkdirSync(binary, { recursive: true })
  const packages = await runOk('apt-ftparchive', ['packages', 'pool'], { cwd: dir })
  writeFileSync(join(binary, 'Packages'), packages.stdout)
  await runOk('gzip', ['-9nk', join(binary, 'Packages')])
  const release = await runOk('apt-ftparchive', [
    '-o',
    `APT::FTPArchive::Release::Suite=${suite}`,
    '-o',
    `APT::FTPArchive::Release::Codename=${suite}`,
    '-o',
    'APT::FTPArchive::Release::Architectures=amd64',
    '-o',
    'APT::FTPArchive::Release::Components=main',
    'release',
    dists,
  ])
  // Written after apt-ftparchive has read the directory, so Release does not list itself.
  writeFileSync(join(work, 'Release'), release.stdout)
  renameSync(join(work, 'Release'), join(dists, 'Release'))

  const gnupgHome = join(work, 'gnupg')
  mkdirSync(gnupgHome, { recursive: true, mode: 0o700 })
  const gpg = (args: string[]) =>
    runOk('gpg', ['--homedir', gnupgHome, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args])
  await gpg(['--quick-gen-key', 'Outpost Test Archive <archive@outpost.invalid>', 'ed25519', 'sign', '1d'])
  const keyring = join(work, 'archive-keyring.gpg')
  await gpg(['--yes', '--output', keyring, '--export'])
  await gpg(['--yes', '--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')])
  await gpg(['--yes', '--armor', '--detach-sign', '--output', join(dists, 'Release.gpg'), join(dists, 'Release')])
  return { dir, suite, debs, keyring, gnupgHome }
}

/** Stops the gpg-agent that gpg started for this home directory. */
export const stopGpgAgent = async (gnupgHome: string): Promise<void> => {
  await runOk('gpgconf', ['--homedir', gnupgHome, '--kill', 'all']).catch(() => {})
}

export const SIGN_TOOLS = { gpg: 'gnupg', gpgconf: 'gnupg', rpmsign: 'rpm' }

export interface SignedYumTree {
  /** The armoured public key, also written into the tree as RPM-GPG-KEY-outpost-test. */
  key: string
  gnupgHome: string
}

/**
 * Signs a yum tree built by buildYumTree: each RPM with rpmsign (an ed25519
 * key, which rpm ≥ 4.16 verifies), the metadata made again over the signed
 * packages, repomd.xml with a detached armoured signature (repomd.xml.asc),
 * and the public key published in the tree. Call stopGpgAgent(gnupgHome) when done.
 */
export const signYumTree = async (work: string, tree: RealYumTree): Promise<SignedYumTree> => {
  const gnupgHome = join(work, 'gnupg-rpm')
  mkdirSync(gnupgHome, { recursive: true, mode: 0o700 })
  const uid = 'Outpost Test Packages <packages@outpost.invalid>'
  const env = { ...process.env, GNUPGHOME: gnupgHome, HOME: work }
  const gpg = (args: string[]) =>
    runOk('gpg', ['--homedir', gnupgHome, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env })
  await gpg(['--quick-gen-key', uid, 'ed25519', 'sign', '1d'])
  const define = (k: string, v: string) => ['--define', `${k} ${v}`]
  await runOk(
    'rpmsign',
    [
      '--addsign',
      ...define('_gpg_name', uid),
      ...define('_gpg_path', gnupgHome),
      ...define('__gpg', which('gpg') ?? '/usr/bin/gpg'),
      ...tree.rpms.map((f) => join(tree.dir, 'Packages', f)),
    ],
    { env },
  )
  await runOk('createrepo_c', ['--quiet', '--general-compress-type=gz', tree.dir])
  const repomd = join(tree.dir, 'repodata', 'repomd.xml')
  await gpg(['--yes', '--local-user', uid, '--armor', '--detach-sign', '--output', `${repomd}.asc`, repomd])
  const key = (await gpg(['--armor', '--export', uid])).stdout
  writeFileSync(join(tree.dir, 'RPM-GPG-KEY-outpost-test'), key)
  return { key, gnupgHome }
}
