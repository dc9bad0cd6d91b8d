/**
 * skopeo (containers/image) against a listener with registry.auth.htpasswd,
 * and against the push listener. skopeo sends credentials only after
 * `GET /v2/` has challenged it, and without credentials it then sends an
 * empty `Basic Og==`: reads must pass either way, writes need valid ones.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildRegistry2 } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, run, runOk } from '../helpers/procs.js'

// `htpasswd -nbB alice s3cret` (apache2-utils).
const ALICE = 'alice:$2y$05$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC'

describe('skopeo and who may write', () => {
  let dir: string
  let server: TestServer
  let skopeo: string
  let http: string
  let push: string
  const common = ['--insecure-policy']

  before(async () => {
    skopeo = requireTool('skopeo', 'skopeo')
    dir = tempDir('outpost-e2e-skopeo-auth-')
    await buildRegistry2(join(dir, 'registry'))
    writeFileSync(join(dir, 'htpasswd'), `${ALICE}\n`)
    server = await startTestServer({
      registry: { roots: [join(dir, 'registry')], auth: { htpasswd: join(dir, 'htpasswd') } },
      listen: { push: '127.0.0.1:0' },
    })
    http = server.hostPort
    push = server.running.listeners.find((l) => l.name === 'push')!.url.replace('http://', '')
  })
  after(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const inspect = (hostPort: string, ...extra: string[]) =>
    runOk(skopeo, [...common, 'inspect', '--raw', '--tls-verify=false', ...extra, `docker://${hostPort}/library/multi:1.0`])

  test('reads: anonymous, with good or wrong credentials, and on the push listener', async () => {
    for (const r of [
      await inspect(http),
      await inspect(http, '--creds', 'alice:s3cret'),
      await inspect(http, '--creds', 'alice:wrong'),
      await inspect(push),
    ]) {
      assert.equal(JSON.parse(r.stdout).mediaType, 'application/vnd.oci.image.index.v1+json')
    }
  })

  const copyTo = (hostPort: string, ...creds: string[]) =>
    run(skopeo, [
      ...common,
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      ...creds,
      `docker://${http}/library/pause:3.9`,
      `docker://${hostPort}/pushed/pause:3.9`,
    ])

  test('writes on the htpasswd listener: unauthorized without or with wrong credentials', async () => {
    for (const creds of [[], ['--dest-creds', 'alice:wrong'], ['--dest-creds', 'mallory:s3cret']]) {
      const r = await copyTo(http, ...creds)
      assert.notEqual(r.status, 0)
      assert.match(r.stderr, /unauthorized/i, creds.join(' '))
    }
  })

  test('writes with valid credentials, and on the push listener without any, get past the access check', async () => {
    for (const r of [await copyTo(http, '--dest-creds', 'alice:s3cret'), await copyTo(push)]) {
      assert.doesNotMatch(r.stderr, /unauthorized|read-only here/i)
      assert.equal(r.status, 0, r.stderr)
    }
  })
})
