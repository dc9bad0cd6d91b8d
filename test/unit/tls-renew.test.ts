import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  CertificateRenewer,
  TlsError,
  ensureGenerated,
  prepareTls,
  secureContextOptions,
  tlsPaths,
  type TlsSettings,
} from '../../src/tls/index.js'

const DAY = 86_400_000

test('readiness: ready while the served certificate has more than 14 days left', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-renew-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const settings: TlsSettings = {
    dataDir: dir,
    domains: ['outpost.registry.local'],
    extraSans: [],
    backdateHours: 1,
    serverDays: 100,
    caDays: 1000,
    renewBeforeDays: 30,
    operator: null,
    hostname: 'boot1',
    addresses: [],
  }
  const initial = await ensureGenerated(settings)
  const r = new CertificateRenewer({ settings, initial })
  const now = Date.now()
  assert.equal(r.readiness(new Date(now)).ok, true)
  assert.match(r.readiness(new Date(now)).detail, /generated certificate .*CN=outpost\.registry\.local, valid until .* \((99|100) days\)/)
  assert.equal(r.readiness(new Date(now + 85 * DAY)).ok, true)
  assert.equal(r.readiness(new Date(now + 87 * DAY)).ok, false)
  assert.equal(r.readiness(new Date(now - 2 * 3_600_000)).ok, false, 'not valid yet')
  // A check that finds nothing to do leaves things alone; the options keep TLS 1.2 as the floor.
  assert.equal(await r.check(), 'unchanged')
  assert.equal(secureContextOptions(initial).minVersion, 'TLSv1.2')
  // Concurrent checks share one run.
  const [a, b] = [r.check(new Date(now + 80 * DAY)), r.check(new Date(now + 80 * DAY))]
  assert.equal(a, b)
  assert.equal(await a, 'swapped')
})

test('CA files removed while running: the check keeps what is served, makes no CA, and readiness fails until they return', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-renew-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const settings: TlsSettings = {
    dataDir: dir,
    domains: ['outpost.registry.local'],
    extraSans: [],
    backdateHours: 1,
    serverDays: 100,
    caDays: 1000,
    renewBeforeDays: 30,
    operator: null,
    hostname: 'boot1',
    addresses: [],
  }
  const initial = await ensureGenerated(settings)
  const warnings: string[] = []
  const logger = { info() {}, warn: (obj: object, msg: string) => warnings.push(`${msg} ${String((obj as { err?: Error }).err?.message)}`) }
  const r = new CertificateRenewer({ settings, initial, logger })
  const p = tlsPaths(dir)
  const caCert = readFileSync(p.caCert, 'utf8')
  const caKey = readFileSync(p.caKey, 'utf8')
  unlinkSync(p.caCert)
  unlinkSync(p.caKey)
  assert.equal(await r.check(), 'failed')
  assert.equal(existsSync(p.caCert), false, 'no new CA written')
  assert.equal(existsSync(p.caKey), false, 'no new CA key written')
  assert.equal(r.current, initial, 'still serving what was loaded')
  assert.equal(r.caPem(), initial.ca)
  const ready = r.readiness()
  assert.equal(ready.ok, false)
  assert.match(ready.detail, /rotate-ca/)
  assert.ok(
    warnings.some((w) => /still serving/.test(w) && /rotate-ca/.test(w)),
    warnings.join('\n'),
  )
  // A later check (the daily one, a second SIGHUP) still makes none.
  assert.equal(await r.check(new Date(Date.now() + 80 * DAY)), 'failed')
  assert.equal(existsSync(p.caCert), false)
  // Files restored from a backup: ready again, same CA.
  writeFileSync(p.caCert, caCert)
  writeFileSync(p.caKey, caKey, { mode: 0o600 })
  assert.equal(await r.check(), 'unchanged')
  assert.equal(r.readiness().ok, true)
  assert.equal(r.caPem(), caCert)
})

test('start-up with tls/ holding a server certificate but no CA is refused with what to do; a first start makes one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-renew-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const settings: TlsSettings = {
    dataDir: dir,
    domains: ['outpost.registry.local'],
    extraSans: [],
    backdateHours: 1,
    serverDays: 100,
    caDays: 1000,
    renewBeforeDays: 30,
    operator: null,
    hostname: 'boot1',
    addresses: [],
  }
  const first = await prepareTls(settings)
  assert.ok(first.caInfo?.isCa, 'first start: a CA was made')
  const p = tlsPaths(dir)
  unlinkSync(p.caCert)
  unlinkSync(p.caKey)
  await assert.rejects(
    prepareTls(settings),
    (err: Error) => err instanceof TlsError && /ca\.crt is missing/.test(err.message) && /rotate-ca/.test(err.message),
  )
  assert.equal(existsSync(p.caCert), false)
  assert.equal(existsSync(p.caKey), false)
})
