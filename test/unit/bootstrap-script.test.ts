/** bootstrap.sh is a real file: shellcheck passes on it and on what Outpost serves, and the build ships it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { buildSetupContext, fillTemplate, renderBootstrap, setupFiles } from '../../src/nodes/setup/index.js'
import { tempDir } from '../helpers/server.js'

const TEMPLATE = 'src/nodes/setup/bootstrap.sh'

const shellcheck = (file: string, input?: string) => {
  const r = spawnSync('shellcheck', ['--shell=sh', '--severity=style', input === undefined ? file : '-'], { input, encoding: 'utf8' })
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('shellcheck is not installed (apt-get install shellcheck; CI installs it in .ci/run)')
  }
  assert.equal(r.status, 0, `shellcheck ${file}:\n${r.stdout}${r.stderr}`)
}

test('shellcheck passes on the bootstrap.sh template', () => {
  shellcheck(TEMPLATE)
})

test('shellcheck passes on bootstrap.sh as served, with every kind of file in its manifest', () => {
  const ctx = buildSetupContext({
    origin: 'http://10.0.0.1:8080',
    domains: ['outpost.registry.local', 'registry.cluster.local'],
    upstreams: ['docker.io', 'registry.k8s.io'],
    caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    trees: [
      { kind: 'yum', urlPath: '/rocky/9/os/', keyUrl: '/rocky/9/os/RPM-GPG-KEY-Rocky-9' },
      {
        kind: 'apt',
        urlPath: '/debian/',
        suites: [{ name: 'bookworm', components: ['main', 'contrib'] }],
        keyUrl: '/debian/archive-keyring.asc',
      },
    ],
    httpsPort: 8443,
    ntpPort: 123,
  })
  const script = renderBootstrap(ctx, setupFiles(ctx))
  assert.doesNotMatch(script, /@@[A-Z_]+@@/, 'every placeholder is filled')
  shellcheck('served bootstrap.sh', script)
})

test('placeholders: each one filled once, none left without a value', () => {
  assert.equal(fillTemplate("A='@@A@@' # @@A@@ @@…@@", { A: 'x@@B@@' }), "A='x@@B@@' # x@@B@@ @@…@@", 'values are not filled again')
  assert.throws(() => fillTemplate("A='@@A@@' B='@@B@@'", { A: 'x' }), /no value for @@B@@/)
  const template = readFileSync(TEMPLATE, 'utf8')
  assert.deepEqual([...new Set([...template.matchAll(/@@([A-Z_]+)@@/g)].map((m) => m[1]))].sort(), [
    'MANIFEST',
    'NTP_PORT',
    'OLD_CA_FINGERPRINTS',
    'OUTPOST_SERVED_URL',
    'REGISTRY_DOMAINS',
  ])
})

test('the build copies bootstrap.sh beside the compiled module', (t) => {
  const out = tempDir('outpost-build-')
  t.after(() => rmSync(out, { recursive: true, force: true }))
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
  assert.match(pkg.scripts.build!, /node scripts\/copy-assets\.mjs/)
  const r = spawnSync(process.execPath, ['scripts/copy-assets.mjs', out], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(readFileSync(join(out, 'nodes', 'setup', 'bootstrap.sh'), 'utf8'), readFileSync(TEMPLATE, 'utf8'))
})
