/**
 * Real clients verify Outpost's HTTPS listener against the CA it hands out
 * at /ca.crt, and nothing else: curl, openssl s_client (registry domain as
 * SNI), openssl verify, skopeo with --src-cert-dir.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { requireTool, run, runOk } from '../helpers/procs.js'

const DOMAIN = 'outpost.registry.local'

describe('real clients over HTTPS, trusting only /ca.crt', () => {
  let dir: string
  let server: TestServer
  let fx: Fixture
  let port: string
  let caFile: string
  let certDir: string
  let curl: string
  let openssl: string

  before(async () => {
    curl = requireTool('curl', 'curl')
    openssl = requireTool('openssl', 'openssl')
    dir = tempDir('outpost-e2e-tls-')
    fx = await buildRegistry2(join(dir, 'registry'))
    server = await startTestServer({ registry: { roots: [join(dir, 'registry')] }, listen: { https: '127.0.0.1:0' } })
    port = server.httpsHostPort!.split(':')[1]!
    // What a node does first: fetch the CA over plain HTTP.
    certDir = join(dir, 'certs')
    mkdirSync(certDir)
    caFile = join(certDir, 'ca.crt')
    await runOk(curl, ['-fsS', '-o', caFile, `${server.url}/ca.crt`])
  })

  after(async () => {
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('curl --cacert: registry domain, 127.0.0.1 and localhost verify; a blob arrives intact', async () => {
    const resolve = ['--resolve', `${DOMAIN}:${port}:127.0.0.1`]
    const v2 = await runOk(curl, [
      '-fsS',
      '--cacert',
      caFile,
      ...resolve,
      '-w',
      '%{http_code} %{ssl_verify_result}',
      '-o',
      '/dev/null',
      `https://${DOMAIN}:${port}/v2/`,
    ])
    assert.equal(v2.stdout, '200 0')
    await runOk(curl, ['-fsS', '--cacert', caFile, '-o', '/dev/null', `https://127.0.0.1:${port}/healthz`])
    await runOk(curl, [
      '-fsS',
      '--cacert',
      caFile,
      '--resolve',
      `localhost:${port}:127.0.0.1`,
      '-o',
      '/dev/null',
      `https://localhost:${port}/healthz`,
    ])
    const out = join(dir, 'big.blob')
    await runOk(curl, [
      '-fsS',
      '--cacert',
      caFile,
      ...resolve,
      '-o',
      out,
      `https://${DOMAIN}:${port}/v2/library/multi/blobs/${fx.big.digest}`,
    ])
    assert.equal(`sha256:${createHash('sha256').update(readFileSync(out)).digest('hex')}`, fx.big.digest)
    // /ca.crt over HTTPS is the same file.
    const again = await runOk(curl, ['-fsS', '--cacert', caFile, ...resolve, `https://${DOMAIN}:${port}/ca.crt`])
    assert.equal(again.stdout, readFileSync(caFile, 'utf8'))
  })

  test('curl without the CA, or with a name not in the certificate, is refused', async () => {
    const noCa = await run(curl, [
      '-sS',
      '--capath',
      '/nonexistent',
      '--cacert',
      '/dev/null',
      '-o',
      '/dev/null',
      `https://127.0.0.1:${port}/v2/`,
    ])
    assert.notEqual(noCa.status, 0, 'unverified server accepted')
    const wrongName = await run(curl, [
      '-sS',
      '--cacert',
      caFile,
      '--resolve',
      `elsewhere.local:${port}:127.0.0.1`,
      '-o',
      '/dev/null',
      `https://elsewhere.local:${port}/v2/`,
    ])
    assert.equal(wrongName.status, 60, `curl: ${wrongName.stderr}`)
    assert.match(wrongName.stderr, /no alternative certificate subject name matches|does not match/)
  })

  test('openssl s_client -verify_return_error with the registry domain as SNI; TLS 1.2 and 1.3 only', async () => {
    const sclient = (extra: string[]) =>
      run(
        openssl,
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-servername',
          DOMAIN,
          '-verify_return_error',
          '-verify_hostname',
          DOMAIN,
          '-CAfile',
          caFile,
          ...extra,
        ],
        { input: '' },
      )
    for (const version of ['-tls1_2', '-tls1_3']) {
      const r = await sclient([version, '-brief'])
      assert.equal(r.status, 0, `${version}: ${r.stderr}`)
      assert.match(r.stderr, /Verification: OK/)
      assert.match(r.stderr, new RegExp(`Protocol version: TLSv1\\.${version.slice(-1)}`))
    }
    // TLS 1.1 is refused by the server (the client is allowed to offer it).
    const old = await sclient(['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'])
    assert.notEqual(old.status, 0)
    assert.match(old.stdout + old.stderr, /alert protocol version/, 'the server answered with a protocol_version alert')
  })

  test('openssl verify -CAfile accepts the served certificate for TLS server use', async () => {
    const shown = await runOk(openssl, ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', DOMAIN, '-showcerts'], { input: '' })
    const served = shown.stdout.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0]
    assert.ok(served, 'a certificate was presented')
    const file = join(dir, 'served.crt')
    writeFileSync(file, `${served}\n`)
    const r = await runOk(openssl, ['verify', '-CAfile', caFile, '-purpose', 'sslserver', '-verify_hostname', DOMAIN, '-x509_strict', file])
    assert.match(r.stdout, /served\.crt: OK/)
    const ip = await runOk(openssl, ['verify', '-CAfile', caFile, '-purpose', 'sslserver', '-verify_ip', '127.0.0.1', file])
    assert.match(ip.stdout, /OK/)
    const text = await runOk(openssl, ['x509', '-in', file, '-noout', '-text'])
    assert.match(text.stdout, /TLS Web Server Authentication/)
    assert.match(text.stdout, /DNS:outpost\.registry\.local/)
    assert.match(text.stdout, /IP Address:127\.0\.0\.1/)
    assert.match(text.stdout, /X509v3 Authority Key Identifier/)
  })

  test('skopeo copy --src-cert-dir with the CA pulls an image; without it, it is refused', async () => {
    const skopeo = requireTool('skopeo', 'skopeo')
    const out = join(dir, 'copy')
    const src = `docker://127.0.0.1:${port}/library/multi:latest`
    await runOk(skopeo, ['--insecure-policy', 'copy', '--src-cert-dir', certDir, src, `dir:${out}`])
    const files = readdirSync(out)
    assert.ok(files.includes('manifest.json'), files.join(' '))
    assert.ok(files.includes(fx.amd64.config.digest.slice('sha256:'.length)), 'amd64 config copied')
    const inspect = await runOk(skopeo, ['inspect', '--cert-dir', certDir, '--raw', `docker://127.0.0.1:${port}/library/pause:3.9`])
    assert.match(inspect.stdout, /application\/vnd\.docker\.distribution\.manifest\.v2\+json/)
    const empty = join(dir, 'empty-certs')
    mkdirSync(empty)
    const refused = await run(skopeo, ['--insecure-policy', 'copy', '--src-cert-dir', empty, src, `dir:${join(dir, 'copy2')}`])
    assert.notEqual(refused.status, 0)
    assert.match(refused.stderr, /x509|certificate/i)
  })
})
