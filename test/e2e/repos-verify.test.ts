/**
 * `outpost verify --repos` on real trees (rpmbuild + createrepo_c,
 * dpkg-deb + apt-ftparchive): clean trees pass; one corrupted package and
 * one missing index file make it fail and name both.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/server.js'
import { requireTools, run } from '../helpers/tools.js'
import { APT_TOOLS, buildAptTree, buildYumTree, stopGpgAgent, YUM_TOOLS } from '../helpers/real-trees.js'
import { parseRepomd } from '../../src/repos/yum.js'

const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url))

const verify = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', CLI, 'verify', ...args], { env: { ...process.env, OUTPOST_CONFIG: '' }, timeoutMs: 60_000 })

test('outpost verify --repos passes whole trees and names a corrupted package and a missing index', async (t) => {
  requireTools({ ...YUM_TOOLS, ...APT_TOOLS })
  const work = tempDir('outpost-verify-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const root = join(work, 'nginx')
  const yum = await buildYumTree(join(work, 'build-rpm'), join(root, 'centos', '7', 'x86_64'))
  const apt = await buildAptTree(join(work, 'build-deb'), join(root, 'debian'))
  t.after(() => stopGpgAgent(apt.gnupgHome))

  const clean = await verify('--repos', '--files-root', root)
  assert.equal(clean.code, 0, clean.stdout + clean.stderr)
  assert.match(clean.stdout, /^yum \/centos\/7\/x86_64\/\s+2 packages, \d+ index files\s+ok$/m)
  assert.match(clean.stdout, /^apt \/debian\/ bookworm\s+2 packages, 2 index files\s+ok$/m)
  assert.match(clean.stdout, /2 package trees, 4 packages, 0 problems/)

  // Corrupt a package (same size, so only --full sees it) and a second one
  // (truncated, so the default check sees it), and remove an index file.
  const deb = join(apt.dir, apt.debs[0]!)
  const bytes = readFileSync(deb)
  bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff
  writeFileSync(deb, bytes)
  const rpm = join(yum.dir, 'Packages', yum.rpms[1]!)
  truncateSync(rpm, 100)
  const other = parseRepomd(readFileSync(join(yum.dir, 'repodata', 'repomd.xml'))).find((e) => e.type === 'other')!
  rmSync(join(yum.dir, other.href))

  const quick = await verify('--repos', '--files-root', root)
  assert.equal(quick.code, 1, quick.stdout + quick.stderr)
  assert.match(quick.stdout, new RegExp(`size +/centos/7/x86_64/Packages/${yum.rpms[1]!.replace(/\./g, '\\.')} +\\(100 bytes`))
  assert.match(quick.stdout, new RegExp(`missing +/centos/7/x86_64/${other.href.replace(/\./g, '\\.')}`))
  assert.doesNotMatch(quick.stdout, /^ +checksum /m)

  const full = await verify('--repos', '--full', '--json', '--files-root', root)
  assert.equal(full.code, 1)
  const reports = JSON.parse(full.stdout) as Array<{
    kind: string
    ok: boolean
    full: boolean
    problems: Array<{ kind: string; file: string; detail: string }>
  }>
  assert.deepEqual(
    reports.map((r) => [r.kind, r.ok, r.full, r.problems.map((p) => `${p.kind} ${p.file}`).sort()]),
    [
      ['yum', false, true, [`missing /centos/7/x86_64/${other.href}`, `size /centos/7/x86_64/Packages/${yum.rpms[1]}`]],
      ['apt', false, true, [`checksum /debian/${apt.debs[0]}`]],
    ],
  )
  assert.match(
    reports[1]!.problems[0]!.detail,
    /^sha256 [0-9a-f]{64}, \/debian\/dists\/bookworm\/main\/binary-amd64\/Packages lists [0-9a-f]{64}$/,
  )
})
