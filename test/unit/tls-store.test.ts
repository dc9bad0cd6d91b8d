import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  existsSync,
  unlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { X509Certificate } from 'node:crypto'
import { writeFileAtomic, tlsPaths, writeCertAndKey, KEY_MODE } from '../../src/tls/store.js'
import { ensureGenerated, loadOperator, readStatus, rotateCa, TlsError, type TlsSettings } from '../../src/tls/certificates.js'
import { createCa, createServerCert } from '../../src/tls/generate.js'
import { describeCert } from '../../src/tls/inspect.js'

const DAY = 86_400_000

const tmp = (t: { after: (fn: () => void) => void }): string => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-tls-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const settings = (dataDir: string, over: Partial<TlsSettings> = {}): TlsSettings => ({
  dataDir,
  domains: ['outpost.registry.local'],
  extraSans: [],
  backdateHours: 24,
  serverDays: 825,
  caDays: 3650,
  renewBeforeDays: 30,
  operator: null,
  hostname: 'boot1',
  addresses: ['192.0.2.2'],
  ...over,
})

interface Logged {
  level: 'info' | 'warn'
  msg: string
  fields: Record<string, unknown>
}
const recorder = () => {
  const lines: Logged[] = []
  return {
    lines,
    info: (fields: object, msg: string) => void lines.push({ level: 'info', msg, fields: fields as Record<string, unknown> }),
    warn: (fields: object, msg: string) => void lines.push({ level: 'warn', msg, fields: fields as Record<string, unknown> }),
  }
}

const mode = (p: string): number => statSync(p).mode & 0o777

test('atomic writes: mode kept under a wide umask, no temporary files left', (t) => {
  const dir = tmp(t)
  const old = process.umask(0o000)
  t.after(() => process.umask(old))
  const p = join(dir, 'sub', 'x.key')
  writeFileAtomic(p, 'one', KEY_MODE)
  assert.equal(mode(p), 0o600)
  writeFileAtomic(p, 'two', KEY_MODE)
  assert.equal(readFileSync(p, 'utf8'), 'two')
  assert.equal(mode(p), 0o600)
  process.umask(0o077)
  writeFileAtomic(join(dir, 'sub', 'x.crt'), 'c', 0o644)
  assert.equal(mode(join(dir, 'sub', 'x.crt')), 0o644)
  assert.deepEqual(readdirSync(join(dir, 'sub')).sort(), ['x.crt', 'x.key'])
})

test('run as root in a folder someone else owns, new files take the folder owner (DynamicUser state dirs)', (t) => {
  const dir = tmp(t)
  if (process.getuid?.() !== 0) {
    // Only root can give files away; as anyone else files are the writer's, which is the owner anyway.
    writeFileAtomic(join(dir, 'a.key'), 'k', KEY_MODE)
    assert.equal(statSync(join(dir, 'a.key')).uid, process.getuid!())
    return
  }
  chownSync(dir, 65534, 65534)
  writeFileAtomic(join(dir, 'a.key'), 'k', KEY_MODE)
  const st = statSync(join(dir, 'a.key'))
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [65534, 65534, 0o600])
})

test('first start creates CA and server files with the right modes; a second start reuses them', async (t) => {
  const dir = tmp(t)
  const log = recorder()
  const m1 = await ensureGenerated(settings(dir), log)
  const p = tlsPaths(dir)
  assert.equal(mode(p.caKey), 0o600)
  assert.equal(mode(p.serverKey), 0o600)
  assert.equal(mode(p.caCert), 0o644)
  assert.equal(mode(p.serverCert), 0o644)
  assert.deepEqual(readdirSync(p.dir).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'])
  assert.deepEqual(
    log.lines.map((l) => l.msg),
    ['created a CA', 'issued a server certificate'],
  )
  assert.equal(log.lines[1]!.fields.reason, 'missing')
  assert.equal(m1.source, 'generated')
  assert.equal(m1.ca, readFileSync(p.caCert, 'utf8'))
  assert.deepEqual(m1.server.sans, ['DNS:outpost.registry.local', 'DNS:boot1', 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'IP:192.0.2.2'])
  assert.ok(!m1.ca!.includes('PRIVATE'), 'no key in the CA PEM')

  const again = recorder()
  const m2 = await ensureGenerated(settings(dir), again)
  assert.deepEqual(again.lines, [])
  assert.equal(m2.cert, m1.cert)
  assert.equal(m2.key, m1.key)
  assert.equal(m2.ca, m1.ca)
})

test('re-issue on start: soon-expiring, expired, changed domains, new address, lost key; the CA is kept', async (t) => {
  const dir = tmp(t)
  const s = settings(dir)
  const first = await ensureGenerated(s)
  const p = tlsPaths(dir)
  const ca = { cert: readFileSync(p.caCert, 'utf8'), key: readFileSync(p.caKey, 'utf8') }
  const sans = first.server.sans

  const cases: Array<[string, () => Promise<void>, TlsSettings, string]> = [
    [
      'soon',
      async () =>
        writeCertAndKey(p.serverCert, p.serverKey, await createServerCert({ sans, days: 10, backdateHours: 0, now: new Date(), ca })),
      s,
      'expires-soon',
    ],
    [
      'expired',
      async () =>
        writeCertAndKey(
          p.serverCert,
          p.serverKey,
          await createServerCert({ sans, days: 5, backdateHours: 0, now: new Date(Date.now() - 10 * DAY), ca }),
        ),
      s,
      'expired',
    ],
    ['domains', async () => {}, { ...s, domains: ['outpost.registry.local', 'registry.example.internal'] }, 'names'],
    [
      'address',
      async () => {},
      { ...s, domains: ['outpost.registry.local', 'registry.example.internal'], addresses: ['192.0.2.2', '198.51.100.7'] },
      'names',
    ],
    [
      'lost key',
      async () => unlinkSync(p.serverKey),
      { ...s, domains: ['outpost.registry.local', 'registry.example.internal'], addresses: ['198.51.100.7'] },
      'key-mismatch',
    ],
  ]
  for (const [label, arrange, st, want] of cases) {
    await arrange()
    const log = recorder()
    const m = await ensureGenerated(st, log)
    assert.deepEqual(
      log.lines.map((l) => [l.msg, l.fields.reason]),
      [['issued a server certificate', want]],
      label,
    )
    assert.equal(m.ca, ca.cert, `${label}: CA kept`)
    assert.ok(new X509Certificate(m.cert).verify(new X509Certificate(ca.cert).publicKey), `${label}: signed by the kept CA`)
    assert.ok(m.server.notAfter.getTime() > Date.now() + 800 * DAY, `${label}: full lifetime`)
    assert.equal(mode(p.serverKey), 0o600)
  }
  const last = describeCert(readFileSync(p.serverCert, 'utf8'))
  assert.ok(last.sans.includes('DNS:registry.example.internal'), 'new domain covered')
  assert.ok(last.sans.includes('IP:198.51.100.7'), 'new address covered')
})

test('a damaged CA stops start-up and is never replaced', async (t) => {
  const dir = tmp(t)
  await ensureGenerated(settings(dir))
  const p = tlsPaths(dir)
  const caCert = readFileSync(p.caCert, 'utf8')
  unlinkSync(p.caKey)
  await assert.rejects(ensureGenerated(settings(dir)), (err: Error) => err instanceof TlsError && /ca.key is missing/.test(err.message))
  assert.equal(readFileSync(p.caCert, 'utf8'), caCert)
  assert.equal(existsSync(p.caKey), false)
  writeFileSync(p.caKey, (await createCa({ commonName: 'x', days: 5, backdateHours: 0, now: new Date() })).key)
  await assert.rejects(ensureGenerated(settings(dir)), /ca.key does not belong to ca.crt/)
  assert.equal(readFileSync(p.caCert, 'utf8'), caCert)
  assert.equal(readStatus(settings(dir)).problem?.includes('does not belong'), true)
})

test('files that cannot be read or written stop start-up with a TlsError naming them', async (t) => {
  const dir = tmp(t)
  const p = tlsPaths(dir)
  mkdirSync(p.caKey, { recursive: true }) // a folder where the key should be
  await assert.rejects(ensureGenerated(settings(dir)), (err: Error) => err instanceof TlsError && err.message.includes(p.caKey))
  const blocked = join(dir, 'blocked')
  writeFileSync(blocked, 'a file where the data dir should be')
  await assert.rejects(
    ensureGenerated(settings(blocked)),
    (err: Error) => err instanceof TlsError && /cannot (read|write) .*blocked/.test(err.message),
  )
})

test('an orphan ca.key (crash before ca.crt) is overwritten: no node can trust a CA it never saw', async (t) => {
  const dir = tmp(t)
  const p = tlsPaths(dir)
  writeFileAtomic(p.caKey, 'half-written', KEY_MODE)
  const m = await ensureGenerated(settings(dir))
  assert.ok(m.caInfo?.isCa, 'a CA was made')
})

test('rotate-ca with no CA yet makes one and archives nothing', async (t) => {
  const dir = tmp(t)
  const { material, archived } = await rotateCa(settings(dir))
  assert.equal(archived, null)
  assert.equal(existsSync(tlsPaths(dir).old), false)
  assert.ok(material.caInfo?.isCa, 'a CA was made')
})

test('rotate-ca archives the old files, makes a new CA and a server certificate under it', async (t) => {
  const dir = tmp(t)
  const before = await ensureGenerated(settings(dir))
  const { material, archived } = await rotateCa(settings(dir))
  assert.notEqual(material.ca, before.ca)
  assert.notEqual(material.server.fingerprint256, before.server.fingerprint256)
  assert.ok(new X509Certificate(material.cert).verify(new X509Certificate(material.ca!).publicKey), 'new leaf under new CA')
  assert.equal(readFileSync(join(archived!, 'ca.crt'), 'utf8'), before.ca)
  assert.equal(readFileSync(join(archived!, 'server.crt'), 'utf8'), before.cert)
  assert.equal(mode(join(archived!, 'ca.key')), 0o600)
  assert.equal(mode(archived!), 0o700)
  assert.equal(mode(tlsPaths(dir).dir), 0o700)
  const status = readStatus(settings(dir))
  assert.equal(status.decision, 'reuse')
  assert.equal(status.ca?.pem, material.ca)
})

test('operator-supplied certificate: used as is; key must match; expiry and names warned', async (t) => {
  const dir = tmp(t)
  const now = new Date()
  const ca = await createCa({ commonName: 'Corp CA', days: 3650, backdateHours: 0, now })
  const leaf = await createServerCert({ sans: ['DNS:registry.corp.example'], days: 20, backdateHours: 0, now, ca })
  const other = await createServerCert({ sans: ['DNS:registry.corp.example'], days: 20, backdateHours: 0, now, ca })
  writeFileSync(join(dir, 'cert.pem'), leaf.cert)
  writeFileSync(join(dir, 'key.pem'), leaf.key)
  writeFileSync(join(dir, 'other.key'), other.key)
  writeFileSync(join(dir, 'ca.pem'), ca.cert)
  const op = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'ca.pem') }

  const log = recorder()
  const m = loadOperator(settings(dir, { operator: op }), log, now)
  assert.equal(m.source, 'operator')
  assert.equal(m.cert, leaf.cert)
  assert.equal(m.ca, ca.cert)
  assert.deepEqual(log.lines.map((l) => l.msg).sort(), [
    'the operator-supplied certificate does not name every registry domain',
    'the operator-supplied certificate expires soon; replace tls.cert and tls.key',
  ])
  assert.equal(existsSync(tlsPaths(dir).dir), false, 'nothing generated')

  assert.throws(() => loadOperator(settings(dir, { operator: { ...op, key: join(dir, 'other.key') } })), /does not belong/)
  assert.throws(() => loadOperator(settings(dir, { operator: { ...op, key: join(dir, 'nope.key') } })), /tls.key .*nope.key/)

  const stranger = await createCa({ commonName: 'Other CA', days: 10, backdateHours: 0, now })
  writeFileSync(join(dir, 'stranger.pem'), stranger.cert)
  const log2 = recorder()
  loadOperator(
    settings(dir, { domains: ['registry.corp.example'], operator: { ...op, ca: join(dir, 'stranger.pem') } }),
    log2,
    new Date(now.getTime() + 25 * DAY),
  )
  assert.deepEqual(log2.lines.map((l) => l.msg).sort(), [
    'the operator-supplied certificate has expired: clients will reject it',
    'tls.ca expires soon or has expired; nodes need its successor before then',
    'tls.cert does not chain to tls.ca: nodes that trust /ca.crt will reject it',
  ])
  await assert.rejects(rotateCa(settings(dir, { operator: op })), /operator/)
})
