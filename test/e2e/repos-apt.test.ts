/**
 * apt-get against an apt archive served by Outpost: `apt-get update` under a
 * throwaway configuration verifies InRelease with the archive key given by
 * `signed-by`, then `apt-get install --download-only` fetches outpost-app
 * and, through its Depends, outpost-dep, byte for byte.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestServer, tempDir } from '../helpers/server.js'
import { requireTools, runOk } from '../helpers/tools.js'
import { APT_TOOLS, buildAptTree, stopGpgAgent } from '../helpers/real-trees.js'

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

/** An apt configuration that touches nothing of the host's. */
const aptConfig = (dir: string, sourcesLine: string): string => {
  for (const d of [
    'etc/apt/sources.list.d',
    'etc/apt/apt.conf.d',
    'etc/apt/preferences.d',
    'etc/apt/trusted.gpg.d',
    'state/lists/partial',
    'cache/archives/partial',
    'log',
  ]) {
    mkdirSync(join(dir, d), { recursive: true })
  }
  writeFileSync(join(dir, 'status'), '')
  writeFileSync(join(dir, 'etc/apt/sources.list'), `${sourcesLine}\n`)
  const conf = join(dir, 'apt.conf')
  writeFileSync(
    conf,
    [
      `Dir "${dir}/";`,
      `Dir::State "${dir}/state";`,
      `Dir::State::status "${dir}/status";`,
      `Dir::Cache "${dir}/cache";`,
      `Dir::Etc "${dir}/etc/apt";`,
      `Dir::Log "${dir}/log";`,
      'APT::Architecture "amd64";',
      'APT::Architectures { "amd64"; };',
      // The downloads land in a root-owned temp dir: do not drop to _apt.
      'APT::Sandbox::User "root";',
      'Debug::NoLocking "true";',
      'Acquire::Languages "none";',
      'Acquire::Retries "0";',
      'Acquire::http::Timeout "10";',
      'Acquire::http::Proxy "false";',
      '',
    ].join('\n'),
  )
  return conf
}

test('apt-get update + install --download-only from Outpost, Release signed and checked with signed-by', async (t) => {
  requireTools({ ...APT_TOOLS, 'apt-get': 'apt' })
  const work = tempDir('outpost-apt-')
  t.after(() => rmSync(work, { recursive: true, force: true }))
  const root = join(work, 'nginx')
  const tree = await buildAptTree(join(work, 'build'), join(root, 'debian'))
  t.after(() => stopGpgAgent(tree.gnupgHome))

  const s = await startTestServer({ files: { roots: [{ prefix: '/', path: root }] } })
  t.after(() => s.close())

  const aptDir = join(work, 'apt')
  const conf = aptConfig(aptDir, `deb [signed-by=${tree.keyring}] ${s.url}/debian ${tree.suite} main`)
  const env = { ...process.env, APT_CONFIG: conf, DEBIAN_FRONTEND: 'noninteractive' }
  const update = await runOk('apt-get', ['-q', 'update'], { env })
  assert.doesNotMatch(update.stdout + update.stderr, /^(W|E):/m, update.stdout + update.stderr)
  assert.match(update.stdout, /InRelease/)
  await runOk('apt-get', ['-q', '-y', 'install', '--download-only', '--no-install-recommends', 'outpost-app'], { env })
  const archives = join(aptDir, 'cache', 'archives')
  const got = readdirSync(archives)
    .filter((f) => f.endsWith('.deb'))
    .sort()
  assert.deepEqual(got, ['outpost-app_1.0_all.deb', 'outpost-dep_1.0_all.deb'])
  for (const rel of tree.debs) {
    const name = rel.slice(rel.lastIndexOf('/') + 1)
    assert.equal(sha256(join(archives, name)), sha256(join(tree.dir, rel)), name)
  }

  const reports = await s.running.packageTrees.check()
  assert.deepEqual(
    reports.map((r) => [r.kind, r.url, r.suite, r.ok, r.packages, r.indexFiles]),
    [['apt', '/debian/', 'bookworm', true, 2, 2]],
    JSON.stringify(reports),
  )
})
