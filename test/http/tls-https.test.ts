import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createHash, X509Certificate } from 'node:crypto'
import { connect } from 'node:tls'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { httpsGet } from '../helpers/tls.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { createCa, createServerCert, rotateCa, tlsPaths, type TlsSettings } from '../../src/tls/index.js'
import { loadConfig, tlsSettingsOf } from '../../src/server/index.js'
import { writeCertAndKey } from '../../src/tls/store.js'

const DOMAIN = 'outpost.registry.local'

const start = async (
  t: { after: (fn: () => Promise<void> | void) => void },
  flags: Record<string, unknown> = {},
): Promise<{ s: TestServer; fx: Fixture }> => {
  const root = scratch(t, 'outpost-reg-')
  const fx = await buildRegistry2(root)
  const s = await startTestServer({
    registry: { roots: [root] },
    ...flags,
    listen: { https: '127.0.0.1:0', ...((flags.listen as object) ?? {}) },
  })
  t.after(() => s.close())
  return { s, fx }
}

/** A temporary folder removed when the test ends. */
const scratch = (t: { after: (fn: () => void) => void }, prefix: string): string => {
  const dir = tempDir(prefix)
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const plainGet = async (url: string): Promise<{ status: number; type: string | null; body: string }> => {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
}

/** The certificate a fresh handshake gets, without verification (to watch swaps). */
const presented = (hostPort: string, servername = DOMAIN): Promise<X509Certificate> =>
  new Promise((resolvePeer, reject) => {
    const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))]
    const sock = connect({ host, port, servername, rejectUnauthorized: false }, () => {
      const raw = sock.getPeerCertificate().raw
      sock.end()
      resolvePeer(new X509Certificate(raw))
    })
    sock.on('error', reject)
  })

test('HTTPS serves the same app as HTTP, verified against /ca.crt, TLS 1.2 and 1.3 only', async (t) => {
  const { s, fx } = await start(t)
  assert.ok(s.httpsUrl?.startsWith('https://127.0.0.1:'), 'https listener up')
  assert.deepEqual(
    s.running.listeners.map((l) => l.name),
    ['http', 'https'],
  )

  const ca = await plainGet(`${s.url}/ca.crt`)
  assert.equal(ca.status, 200)
  assert.equal(ca.type, 'application/x-x509-ca-cert')
  assert.match(ca.body, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/)
  assert.doesNotMatch(ca.body, /PRIVATE/)
  assert.equal(ca.body, readFileSync(tlsPaths(s.dataDir).caCert, 'utf8'))
  assert.ok(new X509Certificate(ca.body).ca, '/ca.crt is a CA')

  // Over HTTPS too, by the registry domain, by 127.0.0.1 and by localhost.
  const viaDomain = await httpsGet(`${s.httpsUrl}/ca.crt`, { ca: ca.body, servername: DOMAIN })
  assert.equal(viaDomain.body.toString(), ca.body)
  assert.equal(viaDomain.peer.subject.CN, DOMAIN)
  assert.equal((await httpsGet(`${s.httpsUrl}/v2/`, { ca: ca.body })).status, 200)
  assert.equal((await httpsGet(`${s.httpsUrl}/healthz`, { ca: ca.body, servername: 'localhost' })).status, 200)

  // Registry over HTTPS: manifest and a 3 MiB blob, byte for byte.
  const m = await httpsGet(`${s.httpsUrl}/v2/library/multi/manifests/latest`, { ca: ca.body, servername: DOMAIN })
  assert.equal(m.status, 200)
  assert.equal(m.headers['docker-content-digest'], fx.index.digest)
  const blob = await httpsGet(`${s.httpsUrl}/v2/library/multi/blobs/${fx.big.digest}`, { ca: ca.body, servername: DOMAIN })
  assert.equal(blob.status, 200)
  assert.equal(`sha256:${createHash('sha256').update(blob.body).digest('hex')}`, fx.big.digest)

  // Protocol versions.
  assert.equal((await httpsGet(`${s.httpsUrl}/healthz`, { ca: ca.body, maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' })).protocol, 'TLSv1.2')
  assert.equal((await httpsGet(`${s.httpsUrl}/healthz`, { ca: ca.body, minVersion: 'TLSv1.3' })).protocol, 'TLSv1.3')
  await assert.rejects(httpsGet(`${s.httpsUrl}/healthz`, { ca: ca.body, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }), 'TLS 1.1 refused')

  // A client that trusts another CA, or dials a name not in the certificate, is refused.
  const stranger = await createCa({ commonName: 'stranger', days: 10, backdateHours: 0, now: new Date() })
  await assert.rejects(httpsGet(`${s.httpsUrl}/v2/`, { ca: stranger.cert }), /self.signed|unable to (get|verify)/i)
  await assert.rejects(httpsGet(`${s.httpsUrl}/v2/`, { ca: ca.body, servername: 'elsewhere.local' }), /altnames|Hostname/i)

  // HTTPS requests go through the same access log and metrics.
  const metrics = await plainGet(`${s.url}/metrics`)
  assert.match(metrics.body, /route="v2\.blob"/, 'blob fetched only over HTTPS is counted')
  assert.match(metrics.body, /route="v2\.manifest"/)
})

test('/ca.crt is 404 when HTTPS is off', async (t) => {
  const s = await startTestServer({})
  t.after(() => s.close())
  assert.equal(s.httpsUrl, null)
  assert.equal((await plainGet(`${s.url}/ca.crt`)).status, 404)
})

test('a running server swaps in a renewed certificate without a restart', async (t) => {
  const { s } = await start(t)
  const tls = s.running.tls!
  const ca = readFileSync(tlsPaths(s.dataDir).caCert, 'utf8')
  const first = await presented(s.httpsHostPort!)
  assert.equal(await tls.check(), 'unchanged')

  // Someone (an old version, a restore) left a certificate that ends in 10 days.
  const p = tlsPaths(s.dataDir)
  const short = await createServerCert({
    sans: tls.current.server.sans,
    days: 10,
    backdateHours: 0,
    now: new Date(),
    ca: { cert: ca, key: readFileSync(p.caKey, 'utf8') },
  })
  writeCertAndKey(p.serverCert, p.serverKey, short)
  assert.equal(await tls.check(), 'swapped')
  const second = await presented(s.httpsHostPort!)
  assert.notEqual(second.fingerprint256, first.fingerprint256)
  assert.notEqual(second.fingerprint256, new X509Certificate(short.cert).fingerprint256, 'the short one was re-issued, not served')
  assert.ok(new Date(second.validTo).getTime() > Date.now() + 800 * 86_400_000, 'full lifetime')
  assert.equal(second.fingerprint256, new X509Certificate(readFileSync(p.serverCert)).fingerprint256, 'what is served is what is on disk')
  assert.equal((await httpsGet(`${s.httpsUrl}/v2/`, { ca, servername: DOMAIN })).status, 200)

  // A check far ahead in time renews again (the daily timer does the same).
  assert.equal(await tls.check(new Date(Date.now() + 810 * 86_400_000)), 'swapped')
  assert.notEqual((await presented(s.httpsHostPort!)).fingerprint256, second.fingerprint256)
})

test('rotate-ca while running: the next check serves the new chain and /ca.crt', async (t) => {
  const { s } = await start(t)
  const before = await plainGet(`${s.url}/ca.crt`)
  const settings: TlsSettings = tlsSettingsOf(loadConfig({ env: {}, noDefaultFile: true, flags: { data_dir: s.dataDir } }).config)
  const { material } = await rotateCa(settings)
  assert.equal(await s.running.tls!.check(), 'swapped')
  const after = await plainGet(`${s.url}/ca.crt`)
  assert.notEqual(after.body, before.body)
  assert.equal(after.body, material.ca)
  assert.equal((await httpsGet(`${s.httpsUrl}/v2/`, { ca: after.body, servername: DOMAIN })).status, 200)
  await assert.rejects(httpsGet(`${s.httpsUrl}/v2/`, { ca: before.body, servername: DOMAIN }), 'the old CA no longer verifies')
})

test('CA files removed while running: a check (SIGHUP) serves the loaded CA on, makes none, and /readyz fails', async (t) => {
  const { s } = await start(t)
  const p = tlsPaths(s.dataDir)
  const before = await plainGet(`${s.url}/ca.crt`)
  const first = await presented(s.httpsHostPort!)
  const certificateCheck = async (): Promise<{ status: number; check: { ok: boolean; detail: string } }> => {
    const res = await fetch(`${s.url}/readyz?verbose`, { headers: { Accept: 'application/json' } })
    const body = (await res.json()) as { checks: Array<{ name: string; ok: boolean; detail: string }> }
    return { status: res.status, check: body.checks.find((c) => c.name === 'certificate')! }
  }
  assert.equal((await certificateCheck()).check.ok, true)
  rmSync(p.caCert)
  rmSync(p.caKey)
  assert.equal(await s.running.tls!.check(), 'failed')
  assert.equal(existsSync(p.caCert), false, 'no CA was made')
  assert.equal((await plainGet(`${s.url}/ca.crt`)).body, before.body)
  assert.equal((await presented(s.httpsHostPort!)).fingerprint256, first.fingerprint256)
  assert.equal((await httpsGet(`${s.httpsUrl}/v2/`, { ca: before.body, servername: DOMAIN })).status, 200)
  const ready = await certificateCheck()
  assert.equal(ready.status, 503)
  assert.equal(ready.check.ok, false)
  assert.match(ready.check.detail, /ca\.crt is missing.*rotate-ca/)
})

test('start-up with tls/ holding a server certificate but no CA is refused, and makes none', async (t) => {
  const dataDir = scratch(t, 'outpost-data-')
  const first = await startTestServer({ data_dir: dataDir, listen: { https: '127.0.0.1:0' } })
  await first.running.close(1000)
  const p = tlsPaths(dataDir)
  assert.ok(existsSync(p.caCert) && existsSync(p.serverCert), 'a first start made the CA and the server certificate')
  rmSync(p.caCert)
  rmSync(p.caKey)
  await assert.rejects(startTestServer({ data_dir: dataDir, listen: { https: '127.0.0.1:0' } }), /ca\.crt is missing.*rotate-ca/s)
  assert.equal(existsSync(p.caCert), false)
  assert.equal(existsSync(p.caKey), false)
})

test('operator-supplied certificate and CA are served as they are', async (t) => {
  const dir = scratch(t, 'outpost-op-')
  const now = new Date()
  const ca = await createCa({ commonName: 'Corp CA', days: 365, backdateHours: 1, now })
  const leaf = await createServerCert({ sans: ['DNS:registry.corp.example', 'IP:127.0.0.1'], days: 90, backdateHours: 1, now, ca })
  writeFileSync(join(dir, 'cert.pem'), leaf.cert)
  writeFileSync(join(dir, 'key.pem'), leaf.key)
  writeFileSync(join(dir, 'ca.pem'), ca.cert)
  const { s } = await start(t, {
    registry: { roots: [dir], domains: ['registry.corp.example'] },
    tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') },
  })
  const served = await plainGet(`${s.url}/ca.crt`)
  assert.equal(served.body, ca.cert)
  const res = await httpsGet(`${s.httpsUrl}/v2/`, { ca: ca.cert, servername: 'registry.corp.example' })
  assert.equal(res.status, 200)
  assert.equal(res.peer.fingerprint256, new X509Certificate(leaf.cert).fingerprint256)
  assert.equal(s.running.tls!.current.source, 'operator')
})

test('operator-supplied certificate without tls.ca: HTTPS works, /ca.crt is 404', async (t) => {
  const dir = scratch(t, 'outpost-op-')
  const now = new Date()
  const ca = await createCa({ commonName: 'Corp CA', days: 365, backdateHours: 1, now })
  const leaf = await createServerCert({ sans: ['DNS:localhost', 'IP:127.0.0.1'], days: 90, backdateHours: 1, now, ca })
  writeFileSync(join(dir, 'cert.pem'), leaf.cert)
  writeFileSync(join(dir, 'key.pem'), leaf.key)
  const { s } = await start(t, { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } })
  assert.equal((await plainGet(`${s.url}/ca.crt`)).status, 404)
  assert.equal((await httpsGet(`${s.httpsUrl}/healthz`, { ca: ca.cert })).status, 200)
})

test('an operator key that does not match stops start-up before anything listens', async (t) => {
  const dir = scratch(t, 'outpost-op-')
  const now = new Date()
  const ca = await createCa({ commonName: 'Corp CA', days: 365, backdateHours: 1, now })
  const a = await createServerCert({ sans: ['DNS:localhost'], days: 90, backdateHours: 1, now, ca })
  const b = await createServerCert({ sans: ['DNS:localhost'], days: 90, backdateHours: 1, now, ca })
  writeFileSync(join(dir, 'cert.pem'), a.cert)
  writeFileSync(join(dir, 'key.pem'), b.key)
  await assert.rejects(
    startTestServer({ listen: { https: '127.0.0.1:0' }, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } }),
    /does not belong to the certificate/,
  )
})
