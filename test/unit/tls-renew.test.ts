import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CertificateRenewer, ensureGenerated, secureContextOptions, type TlsSettings } from '../../src/tls/index.js'

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
