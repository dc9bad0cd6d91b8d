import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  packagesIndexes,
  parseDeb822,
  parsePackages,
  parseRelease,
  preferredChecksum,
  sourcesComponents,
  stripClearsign,
} from '../../src/repos/apt.js'
import { IndexParseError, joinListed } from '../../src/repos/checks.js'

// As apt-ftparchive 2.6 writes it.
const RELEASE = `Architectures: amd64
Codename: bookworm
Components: main
Date: Mon, 23 Nov 2026 09:04:44 +0000
Suite: bookworm
MD5Sum:
 a21c765518b6020ab390d6dfbd3e862f             1028 main/binary-amd64/Packages
 809fa44e4313cce3e2eb87954c55b84a              569 main/binary-amd64/Packages.gz
SHA256:
 ed47a0f6737284736ba0752d8afcc5327ffa03639529de44eb5c23e2b549d660             1028 main/binary-amd64/Packages
 f9fca17f122510e1347400b1f462b486c6731e3f186015a4492c83d023b6c0f5              569 main/binary-amd64/Packages.gz
 0000000000000000000000000000000000000000000000000000000000000000              100 main/i18n/Translation-en.xz
`

const PACKAGES = `Package: outpost-app
Architecture: all
Version: 1.0
Maintainer: Outpost tests <tests@outpost.invalid>
Depends: outpost-dep (>= 1.0)
Filename: pool/main/o/outpost-app/outpost-app_1.0_all.deb
Size: 626
MD5sum: fbafd36e6d64e743e2a2e29454369196
SHA256: 5aa718c3620ec58061222411761822a269a58f31e2f645e9e85cbb093c4cf035
Description: test package app
 with a long description
 .
 and a second paragraph

Package: outpost-dep
Architecture: all
Version: 1:1.0-2
Filename: pool/main/o/outpost-dep/outpost-dep_1.0_all.deb
Size: 612
MD5sum: f97e9551edb5317442ecf95674e2f192
Description: test package dep
`

test('deb822: paragraphs, case-insensitive fields, continuation lines', () => {
  const ps = parseDeb822(PACKAGES)
  assert.equal(ps.length, 2)
  assert.equal(ps[0]!.get('package'), 'outpost-app')
  assert.equal(ps[0]!.get('description'), 'test package app\nwith a long description\n.\nand a second paragraph')
  assert.deepEqual(parseDeb822('\n\n# comment\nA: 1\n\n\nb:2\n'), [new Map([['a', '1']]), new Map([['b', '2']])])
  assert.throws(() => parseDeb822(' orphan continuation'), IndexParseError)
  assert.throws(() => parseDeb822('no colon here'), IndexParseError)
})

test('Release: suite, components, every listed file with size and checksums', () => {
  const r = parseRelease(RELEASE)
  assert.equal(r.suite, 'bookworm')
  assert.equal(r.codename, 'bookworm')
  assert.deepEqual(r.components, ['main'])
  assert.deepEqual(r.architectures, ['amd64'])
  assert.equal(r.entries.length, 3)
  assert.deepEqual(r.entries[1], {
    path: 'main/binary-amd64/Packages.gz',
    size: 569,
    checksums: { md5: '809fa44e4313cce3e2eb87954c55b84a', sha256: 'f9fca17f122510e1347400b1f462b486c6731e3f186015a4492c83d023b6c0f5' },
  })
  assert.throws(() => parseRelease('SHA256:\n abc notasize x\n'), IndexParseError)
  assert.throws(() => parseRelease('SHA256:\n ab 1 x\nMD5Sum:\n cd 2 x\n'), IndexParseError, 'two sizes for one file')
})

test('Packages indexes are grouped across compressions; other files are left alone', () => {
  const groups = packagesIndexes(parseRelease(RELEASE).entries)
  assert.deepEqual([...groups.keys()], ['main/binary-amd64/Packages'])
  assert.deepEqual(
    groups.get('main/binary-amd64/Packages')!.map((e) => e.path),
    ['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz'],
  )
  const flat = packagesIndexes([
    { path: 'Packages.xz', size: 1, checksums: {} },
    { path: 'Sources.gz', size: 1, checksums: {} },
  ])
  assert.deepEqual([...flat.keys()], ['Packages'])
})

test('InRelease: the clearsigned text, dash-escaping undone', () => {
  const signed = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Suite: bookworm
- -----not a boundary
SHA256:
 ed47a0f6737284736ba0752d8afcc5327ffa03639529de44eb5c23e2b549d660 1028 main/binary-amd64/Packages
-----BEGIN PGP SIGNATURE-----

iHUEARYIAB0WIQ==
-----END PGP SIGNATURE-----
`
  const body = stripClearsign(signed)
  assert.equal(body.split('\n')[1], '-----not a boundary')
  assert.equal(parseRelease(body.replace('-----not a boundary\n', '')).entries[0]!.size, 1028)
  assert.equal(stripClearsign(RELEASE), RELEASE, 'unsigned text passes through')
  assert.throws(() => stripClearsign('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSuite: x\n'), IndexParseError)
})

test('Packages: filename, size, the preferred checksum', () => {
  const pkgs = parsePackages(PACKAGES)
  assert.deepEqual(pkgs[0], {
    name: 'outpost-app',
    version: '1.0',
    architecture: 'all',
    filename: 'pool/main/o/outpost-app/outpost-app_1.0_all.deb',
    size: 626,
    checksum: { algorithm: 'sha256', value: '5aa718c3620ec58061222411761822a269a58f31e2f645e9e85cbb093c4cf035' },
  })
  assert.deepEqual(
    pkgs[1]!.checksum,
    { algorithm: 'md5', value: 'f97e9551edb5317442ecf95674e2f192' },
    'MD5 when nothing stronger is listed',
  )
  assert.equal(pkgs[1]!.version, '1:1.0-2')
  assert.throws(() => parsePackages('Package: x\nVersion: 1\n'), IndexParseError)
  assert.equal(preferredChecksum({}), null)
})

test('paths from indexes cannot leave the tree', () => {
  assert.equal(joinListed('/srv/t', 'pool/a.deb'), '/srv/t/pool/a.deb')
  assert.equal(joinListed('/srv/t', './a.deb'), '/srv/t/a.deb')
  for (const bad of ['../x.deb', 'pool/../../x', '/etc/passwd', 'a\\b', 'a\u0000b', '', '.'])
    assert.equal(joinListed('/srv/t', bad), null, bad)
})

test('components as a sources entry names them', () => {
  assert.deepEqual(sourcesComponents('bookworm', ['main', 'contrib']), ['main', 'contrib'])
  assert.deepEqual(sourcesComponents('stretch/updates', ['updates/main', 'updates/contrib']), ['main', 'contrib'])
  assert.deepEqual(sourcesComponents('bookworm', ['updates/main']), ['updates/main'], 'only a suite path is joined')
  assert.deepEqual(sourcesComponents('bookworm', ['main', 'bad\nline', 'main']), ['main'])
})
