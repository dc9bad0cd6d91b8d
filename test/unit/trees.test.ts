import { test } from 'node:test'
import assert from 'node:assert/strict'
import { appendFileSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkTrees, detectTrees, PackageTrees } from '../../src/repos/trees.js'
import { tempDir } from '../helpers/server.js'
import { writeAptTree, writeYumTree } from '../helpers/synthetic-trees.js'

const setup = (t: import('node:test').TestContext): string => {
  const base = tempDir('outpost-trees-')
  t.after(() => rmSync(base, { recursive: true, force: true }))
  return base
}

test('detects yum, apt (nested suites) and flat apt trees, and stops descending at each', async (t) => {
  const base = setup(t)
  const root = join(base, 'nginx')
  writeYumTree(join(root, 'centos', '7', 'x86_64'))
  writeYumTree(join(root, 'centos', '7', 'x86_64', 'nested'))
  writeAptTree(join(root, 'debian'))
  writeAptTree(join(root, 'debian'), { suite: 'stable/updates' })
  writeAptTree(join(root, 'flat'), { flat: true })
  mkdirSync(join(root, 'files', 'storage.googleapis.com'), { recursive: true })
  writeFileSync(join(root, 'files', 'storage.googleapis.com', 'kubeadm'), 'x')
  const extra = join(base, 'extra')
  writeYumTree(join(extra, 'el8'))
  const trees = await detectTrees([
    { prefix: '/', path: root },
    { prefix: '/extra', path: extra },
  ])
  assert.deepEqual(
    trees.map((t) => [t.kind, t.url, t.suite]),
    [
      ['yum', '/centos/7/x86_64/', null],
      ['apt', '/debian/', 'bookworm'],
      ['apt', '/debian/', 'stable/updates'],
      ['apt', '/flat/', null],
      ['yum', '/extra/el8/', null],
    ],
  )
})

test('whole trees check clean, and count packages and index files', async (t) => {
  const base = setup(t)
  writeYumTree(join(base, 'el'))
  writeAptTree(join(base, 'deb'), { archs: ['amd64', 'arm64'] })
  writeAptTree(join(base, 'flat'), { flat: true })
  for (const full of [false, true]) {
    const reports = await checkTrees([{ prefix: '/', path: base }], { full })
    assert.deepEqual(
      reports.map((r) => [r.kind, r.url, r.ok, r.packages, r.indexFiles, r.full]),
      [
        ['apt', '/deb/', true, 2, 4, full],
        ['yum', '/el/', true, 2, 2, full],
        ['apt', '/flat/', true, 2, 2, full],
      ],
      JSON.stringify(reports.map((r) => r.problems)),
    )
  }
})

test('a corrupted package and a missing index file are both named', async (t) => {
  const base = setup(t)
  const yum = writeYumTree(join(base, 'el'))
  const apt = writeAptTree(join(base, 'deb'))
  truncateSync(join(base, 'el', yum.packages[0]!), 10)
  rmSync(join(base, 'el', yum.filelistsHref))
  rmSync(join(base, 'deb', 'dists', 'bookworm', 'main', 'binary-amd64', 'Packages'))
  rmSync(join(base, 'deb', 'dists', 'bookworm', 'main', 'binary-amd64', 'Packages.gz'))
  const [debReport, elReport] = await checkTrees([{ prefix: '/repos', path: base }])
  assert.equal(elReport!.ok, false)
  assert.deepEqual(elReport!.problems.map((p) => [p.kind, p.file]).sort(), [
    ['missing', `/repos/el/${yum.filelistsHref}`],
    ['size', `/repos/el/${yum.packages[0]}`],
  ])
  assert.match(elReport!.problems.find((p) => p.kind === 'size')!.detail, /10 bytes, .*primary\.xml\.gz lists \d+/)
  assert.equal(debReport!.ok, false)
  assert.deepEqual(
    debReport!.problems.map((p) => [p.kind, p.file]),
    [['missing', '/repos/deb/dists/bookworm/main/binary-amd64/Packages']],
  )
  assert.equal(apt.packages.length, 2)
})

test('same-size corruption needs a full check; a corrupted index is always caught', async (t) => {
  const base = setup(t)
  const yum = writeYumTree(join(base, 'el'))
  const apt = writeAptTree(join(base, 'deb'))
  const flip = (path: string): void => {
    const b = readFileSync(path)
    b[5] = b[5]! ^ 0xff
    writeFileSync(path, b)
  }
  flip(join(base, 'el', yum.packages[1]!))
  flip(join(base, 'deb', apt.packages[0]!))
  assert.ok(
    (await checkTrees([{ prefix: '/', path: base }])).every((r) => r.ok),
    'sizes still match',
  )
  const full = await checkTrees([{ prefix: '/', path: base }], { full: true })
  assert.deepEqual(
    full.flatMap((r) => r.problems.map((p) => [p.kind, p.file])),
    [
      ['checksum', `/deb/${apt.packages[0]}`],
      ['checksum', `/el/${yum.packages[1]}`],
    ],
  )
  appendFileSync(join(base, 'deb', 'dists', 'bookworm', 'main', 'binary-amd64', 'Packages'), '\n')
  const again = await checkTrees([{ prefix: '/', path: base }])
  assert.deepEqual(
    again[0]!.problems.map((p) => [p.kind, p.file]),
    [['size', '/deb/dists/bookworm/main/binary-amd64/Packages']],
  )
})

test('a partial mirror (an architecture left out) is a note, not a problem', async (t) => {
  const base = setup(t)
  writeAptTree(join(base, 'deb'), { archs: ['amd64', 'arm64'], partial: true })
  const [r] = await checkTrees([{ prefix: '/', path: base }])
  assert.equal(r!.ok, true)
  assert.deepEqual(r!.notes, ['/deb/dists/bookworm/main/binary-arm64/: listed in Release but not mirrored'])
})

test('a package reached through a symlink out of the root is a problem; inside is fine unless symlinks: never', async (t) => {
  const base = setup(t)
  const root = join(base, 'root')
  const yum = writeYumTree(join(root, 'el'))
  const outside = join(base, 'outside.rpm')
  const target = join(root, 'el', yum.packages[0]!)
  writeFileSync(outside, readFileSync(target))
  rmSync(target)
  symlinkSync(outside, target)
  const inside = join(root, 'el', yum.packages[1]!)
  const shared = join(root, 'shared.rpm')
  writeFileSync(shared, readFileSync(inside))
  rmSync(inside)
  symlinkSync('../../shared.rpm', inside)
  const [r] = await checkTrees([{ prefix: '/', path: root }])
  assert.deepEqual(
    r!.problems.map((p) => [p.kind, p.file]),
    [['outside', `/el/${yum.packages[0]}`]],
  )
  const [never] = await checkTrees([{ prefix: '/', path: root }], { symlinks: 'never' })
  assert.deepEqual(
    never!.problems.map((p) => p.kind),
    ['outside', 'outside'],
  )
})

test('PackageTrees keeps the latest reports and joins a running check', async (t) => {
  const base = setup(t)
  writeYumTree(join(base, 'el'))
  const trees = new PackageTrees({ roots: [{ prefix: '/', path: base }], symlinks: 'inside' })
  t.after(() => trees.close())
  assert.equal(trees.state, 'idle')
  assert.equal(trees.reports, null)
  const a = trees.check()
  const b = trees.check()
  assert.equal(trees.state, 'checking')
  assert.equal(await a, await b)
  assert.equal(trees.state, 'done')
  assert.equal(trees.reports!.length, 1)
})

test('each tree reports its signing key and, per apt suite, the components it mirrors', async (t) => {
  const base = setup(t)
  const ARMORED = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZfake\n-----END PGP PUBLIC KEY BLOCK-----\n'
  writeAptTree(join(base, 'debian'), { components: ['main', 'contrib'], unmirrored: ['non-free'] })
  writeAptTree(join(base, 'debian'), { suite: 'stable/updates', components: ['updates/main'] })
  writeFileSync(join(base, 'debian', 'archive-keyring.asc'), ARMORED)
  writeAptTree(join(base, 'flat'), { flat: true })
  writeFileSync(join(base, 'flat', 'Release.gpg'), '-----BEGIN PGP SIGNATURE-----\n\niHUEfake\n-----END PGP SIGNATURE-----\n')
  writeYumTree(join(base, 'rocky', '9', 'os'))
  writeFileSync(join(base, 'rocky', '9', 'os', 'RPM-GPG-KEY-Rocky-9'), ARMORED)
  writeYumTree(join(base, 'el'))
  const reports = await checkTrees([{ prefix: '/repo', path: base }])
  assert.deepEqual(
    reports.map((r) => [r.kind, r.url, r.suite, r.components, r.signingKey, r.ok]),
    [
      ['apt', '/repo/debian/', 'bookworm', ['main', 'contrib'], '/repo/debian/archive-keyring.asc', true],
      ['apt', '/repo/debian/', 'stable/updates', ['main'], '/repo/debian/archive-keyring.asc', true],
      ['yum', '/repo/el/', null, [], null, true],
      ['apt', '/repo/flat/', null, [], null, true],
      ['yum', '/repo/rocky/9/os/', null, [], '/repo/rocky/9/os/RPM-GPG-KEY-Rocky-9', true],
    ],
    JSON.stringify(reports.map((r) => r.problems)),
  )
})
