import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, ConfigError } from '../../src/server/config.js'

test('tls defaults', () => {
  const { config } = loadConfig({ env: {}, noDefaultFile: true })
  assert.deepEqual(config.tls, {
    cert: null,
    key: null,
    ca: null,
    extra_sans: [],
    backdate_hours: 24,
    server_days: 825,
    ca_days: 3650,
    renew_before_days: 30,
  })
})

test('tls keys from the file (paths relative to it), the environment and flags', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-config-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'tls:\n  cert: certs/s.crt\n  key: certs/s.key\n  extra_sans: [mirror.local, 10.0.0.9]\n  server_days: 400\n')
  const { config, warnings } = loadConfig({
    file,
    env: { OUTPOST_TLS_BACKDATE_HOURS: '2', OUTPOST_TLS_CA: '/etc/pki/corp.pem', OUTPOST_TLS_RENEW_BEFORE_DAYS: '45' },
    flags: { tls: { ca_days: 7300 } },
    cwd: '/',
  })
  assert.deepEqual(warnings, [])
  assert.equal(config.tls.cert, join(dir, 'certs/s.crt'))
  assert.equal(config.tls.key, join(dir, 'certs/s.key'))
  assert.equal(config.tls.ca, '/etc/pki/corp.pem')
  assert.deepEqual(config.tls.extra_sans, ['mirror.local', '10.0.0.9'])
  assert.equal(config.tls.server_days, 400)
  assert.equal(config.tls.backdate_hours, 2)
  assert.equal(config.tls.renew_before_days, 45)
  assert.equal(config.tls.ca_days, 7300)
  const env = loadConfig({ env: { OUTPOST_TLS_EXTRA_SANS: 'a.local, ::1' }, noDefaultFile: true })
  assert.deepEqual(env.config.tls.extra_sans, ['a.local', '::1'])
})

test('tls rules: pairs, numbers, names', () => {
  const bad = (flags: Record<string, unknown>, words: RegExp) =>
    assert.throws(
      () => loadConfig({ env: {}, noDefaultFile: true, flags: { tls: flags } }),
      (e: Error) => e instanceof ConfigError && words.test(e.message),
    )
  bad({ cert: '/a.crt' }, /tls.key: tls.cert and tls.key go together/)
  bad({ key: '/a.key' }, /tls.cert: tls.cert and tls.key go together/)
  bad({ ca: '/ca.pem' }, /tls.ca: is for an operator-supplied/)
  bad({ renew_before_days: 900 }, /renew_before_days: must be less than tls.server_days \(825\)/)
  bad({ server_days: 0 }, /tls.server_days/)
  bad({ backdate_hours: 'soon' }, /tls.backdate_hours/)
  bad({ extra_sans: ['not a name'] }, /tls.extra_sans\[0\]: must be a DNS name or an IP address/)
  bad({ colour: 'blue' }, /unknown key\(s\) "colour"/)
  // Half a pair in the environment, the other half in flags: fine once merged.
  const { config } = loadConfig({ env: { OUTPOST_TLS_CERT: '/a.crt' }, noDefaultFile: true, flags: { tls: { key: '/a.key' } } })
  assert.equal(config.tls.key, '/a.key')
})
