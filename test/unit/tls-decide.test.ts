import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decideCa, decideServerCert, type ExistingServerCert, type WantedServerCert } from '../../src/tls/store.js'
import type { San } from '../../src/tls/names.js'

const DAY = 86_400_000
const NOW = new Date('2025-06-01T00:00:00Z')
const at = (days: number): Date => new Date(NOW.getTime() + days * DAY)
const SANS: San[] = ['DNS:outpost.registry.local', 'DNS:localhost', 'IP:127.0.0.1']

const good = (over: Partial<ExistingServerCert> = {}): ExistingServerCert => ({
  readable: true,
  notBefore: at(-1),
  notAfter: at(800),
  sans: [...SANS],
  keyMatches: true,
  issuedByCa: true,
  ...over,
})
const WANTED: WantedServerCert = { sans: SANS, renewBeforeDays: 30, caNotAfter: at(3000) }

const reason = (d: ReturnType<typeof decideServerCert>): string => (d === 'reuse' ? 'reuse' : d.reissue)

test('server certificate: reuse when fine', () => {
  assert.equal(decideServerCert(good(), WANTED, NOW), 'reuse')
  assert.equal(decideServerCert(good({ notAfter: at(31) }), WANTED, NOW), 'reuse')
  // More names than wanted is fine (a removed extra does not force a re-issue).
  assert.equal(decideServerCert(good({ sans: [...SANS, 'DNS:old.local'] }), WANTED, NOW), 'reuse')
})

test('server certificate: each reason to re-issue', () => {
  assert.equal(reason(decideServerCert(null, WANTED, NOW)), 'missing')
  assert.equal(reason(decideServerCert(good({ readable: false }), WANTED, NOW)), 'unreadable')
  assert.equal(reason(decideServerCert(good({ keyMatches: false }), WANTED, NOW)), 'key-mismatch')
  assert.equal(reason(decideServerCert(good({ issuedByCa: false }), WANTED, NOW)), 'other-ca')
  assert.equal(reason(decideServerCert(good({ notBefore: at(2) }), WANTED, NOW)), 'not-yet-valid')
  assert.equal(reason(decideServerCert(good({ notAfter: at(-1) }), WANTED, NOW)), 'expired')
  assert.equal(reason(decideServerCert(good({ notAfter: NOW }), WANTED, NOW)), 'expired')
  assert.equal(reason(decideServerCert(good({ notAfter: at(29) }), WANTED, NOW)), 'expires-soon')
  const names = decideServerCert(good({ sans: SANS.slice(1) }), WANTED, NOW)
  assert.deepEqual(names, { reissue: 'names', detail: 'does not cover DNS:outpost.registry.local' })
})

test('server certificate: expiry at the CA’s own end is not a reason (re-issuing cannot help)', () => {
  const wanted = { ...WANTED, caNotAfter: at(20) }
  assert.equal(decideServerCert(good({ notAfter: at(20) }), wanted, NOW), 'reuse')
  assert.equal(reason(decideServerCert(good({ notAfter: at(10) }), wanted, NOW)), 'expires-soon')
  assert.equal(reason(decideServerCert(good({ notAfter: at(20) }), wanted, at(21))), 'expired')
})

test('server certificate: renew window follows renew_before_days', () => {
  assert.equal(decideServerCert(good({ notAfter: at(50) }), { ...WANTED, renewBeforeDays: 60 }, NOW) !== 'reuse', true)
  assert.equal(decideServerCert(good({ notAfter: at(50) }), { ...WANTED, renewBeforeDays: 40 }, NOW), 'reuse')
})

test('CA: create only when there is none; never replace one', () => {
  assert.equal(decideCa(null), 'create')
  const ok = { readable: true, isCa: true, keyPresent: true, keyMatches: true }
  assert.equal(decideCa(ok), 'reuse')
  for (const [bad, words] of [
    [{ ...ok, readable: false }, /not a readable/],
    [{ ...ok, isCa: false }, /not a CA/],
    [{ ...ok, keyPresent: false }, /ca.key is missing/],
    [{ ...ok, keyMatches: false }, /does not belong/],
  ] as const) {
    const d = decideCa(bad)
    assert.equal(typeof d, 'object')
    assert.match((d as { refuse: string }).refuse, words)
    assert.match((d as { refuse: string }).refuse, /rotate-ca/)
  }
})
