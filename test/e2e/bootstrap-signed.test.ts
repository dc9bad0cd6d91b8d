/**
 * A signed apt archive under Outpost's file roots, its key published in the
 * tree: detection finds the key and the mirrored components, bootstrap.sh
 * writes the key and a `.sources` file with `Signed-By:`, and apt-get
 * verifies InRelease with that key (and refuses the archive without it).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestServer, tempDir } from '../helpers/server.js'
import { requireTools, run, runOk } from '../helpers/tools.js'
import { APT_TOOLS, buildAptTree, stopGpgAgent } from '../helpers/real-trees.js'

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
