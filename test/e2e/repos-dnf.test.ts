/**
 * dnf against a yum tree served by Outpost: `dnf download --resolve` from a
 * throwaway installroot and reposdir fetches outpost-app and, through its
 * Requires, outpost-dep, byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestServer, tempDir } from '../helpers/server.js'
import { requireTools, runOk, run } from '../helpers/tools.js'
import { buildYumTree, YUM_TOOLS } from '../helpers/real-trees.js'

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

test('dnf download --resolve fetches a package and its dependency from Outpost', async (t) => {
  requireTools({ ...YUM_TOOLS, dnf: 'dnf' })
  const plugin = await run('dnf', ['download', '--help'])
  assert.equal(plugin.code, 0, `dnf has no "download" command: apt-get install -y dnf-plugins-core\n${plugin.stderr}`)
  const work = tempDir('outpost-dnf-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const root = join(work, 'nginx')
  const tree = await buildYumTree(join(work, 'build'), join(root, 'centos', '7', 'x86_64'))

  const s = await startTestServer({ files: { roots: [{ prefix: '/', path: root }] } })
  t.after(() => s.close())

  const reposdir = join(work, 'repos.d')
  mkdirSync(reposdir)
  writeFileSync(
    join(reposdir, 'outpost.repo'),
    [
      '[outpost]',
      'name=Outpost test',
      `baseurl=${s.url}/centos/7/x86_64/`,
      'enabled=1',
      'gpgcheck=0',
      'repo_gpgcheck=0',
      'metadata_expire=0',
      '',
    ].join('\n'),
  )
  const dest = join(work, 'downloads')
  await runOk('dnf', [
    '--quiet',
    '--assumeyes',
    `--installroot=${join(work, 'installroot')}`,
    `--setopt=reposdir=${reposdir}`,
    `--setopt=cachedir=${join(work, 'cache')}`,
    '--setopt=install_weak_deps=False',
    '--releasever=1',
    '--disableplugin=*',
    '--enableplugin=download',
    'download',
    '--resolve',
    `--destdir=${dest}`,
    'outpost-app',
  ])
  assert.deepEqual(readdirSync(dest).sort(), tree.rpms)
  for (const rpm of tree.rpms) assert.equal(sha256(join(dest, rpm)), sha256(join(tree.dir, 'Packages', rpm)), rpm)

  // The tree is detected and checks clean.
  const reports = await s.running.packageTrees.check()
  assert.deepEqual(
    reports.map((r) => [r.kind, r.url, r.ok, r.packages]),
    [['yum', '/centos/7/x86_64/', true, 2]],
    JSON.stringify(reports),
  )
})
