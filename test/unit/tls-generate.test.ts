import { test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate, createPrivateKey, createPublicKey, verify } from 'node:crypto'
import forge from 'node-forge'
import { createCa, createServerCert, validityFor, randomSerial } from '../../src/tls/generate.js'
import { describeCert } from '../../src/tls/inspect.js'
import type { San } from '../../src/tls/names.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = new Date('2025-06-01T12:00:00.000Z')

/** The extension with this OID, parsed with forge from the DER (so we read what is on the wire). */
/** The fields these tests read of a forge certificate extension. */
interface Extension {
  critical?: boolean
  cA?: boolean
  keyCertSign?: boolean
  cRLSign?: boolean
  digitalSignature?: boolean
  keyEncipherment?: boolean
  serverAuth?: boolean
  subjectKeyIdentifier?: string
  value?: unknown
}

const extensionsOf = (pem: string) => {
  const cert = forge.pki.certificateFromPem(pem)
  return (name: string) => cert.getExtension(name) as Extension | undefined
}

/** tbsCertificate DER and signature bytes, to check the signature with crypto.verify. */
const tbsAndSignature = (pem: string): { tbs: Buffer; signature: Buffer } => {
  const der = new X509Certificate(pem).raw
  const asn = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
  const [tbs, , sig] = asn.value as forge.asn1.Asn1[]
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs!).getBytes(), 'binary')
  // BIT STRING: the first octet counts unused bits (0 here).
  const sigBytes = Buffer.from((sig!.value as string).slice(1), 'binary')
  return { tbs: tbsDer, signature: sigBytes }
}

const SANS: San[] = ['DNS:outpost.registry.local', 'DNS:vm', 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1', 'IP:192.0.2.2', 'IP:fd00::2']

test('CA: 10 years, back-dated, CA:true, keyCertSign, subject key id, self-signed', async () => {
  const ca = await createCa({ commonName: 'Outpost CA test', days: 3650, backdateHours: 24, now: NOW })
  const x = new X509Certificate(ca.cert)
  assert.equal(x.ca, true)
  assert.equal(new Date(x.validFrom).getTime(), NOW.getTime() - 24 * HOUR)
  assert.equal(new Date(x.validTo).getTime(), NOW.getTime() + 3650 * DAY)
  assert.match(x.subject, /CN=Outpost CA test/)
  assert.equal(x.subject, x.issuer)
  assert.ok(x.verify(x.publicKey), 'self-signature verifies')
  assert.ok(x.checkPrivateKey(createPrivateKey(ca.key)), 'CA key matches')
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
  const ext = extensionsOf(ca.cert)
  assert.equal(ext('basicConstraints')?.cA, true)
  assert.equal(ext('basicConstraints')?.critical, true)
  assert.equal(ext('keyUsage')?.keyCertSign, true)
  assert.equal(ext('keyUsage')?.cRLSign, true)
  assert.equal(ext('keyUsage')?.critical, true)
  assert.match(ext('subjectKeyIdentifier')?.subjectKeyIdentifier ?? '', /^[0-9a-f]{40}$/)
  assert.match(ca.key, /^-----BEGIN PRIVATE KEY-----/)
})

test('server certificate: SANs, serverAuth, key ids, validity; chain verifies with X509Certificate and crypto.verify', async () => {
  const ca = await createCa({ commonName: 'Outpost CA test', days: 3650, backdateHours: 24, now: NOW })
  const leaf = await createServerCert({ sans: SANS, days: 825, backdateHours: 6, now: NOW, ca })
  const x = new X509Certificate(leaf.cert)
  const caX = new X509Certificate(ca.cert)

  assert.equal(x.ca, false)
  assert.match(x.subject, /CN=outpost.registry.local/)
  assert.equal(x.issuer, caX.subject)
  assert.equal(new Date(x.validFrom).getTime(), NOW.getTime() - 6 * HOUR, 'back-dated by backdate_hours')
  assert.equal(new Date(x.validTo).getTime(), NOW.getTime() + 825 * DAY)
  assert.deepEqual(describeCert(leaf.cert).sans, SANS)
  assert.equal(x.checkHost('outpost.registry.local'), 'outpost.registry.local')
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1')
  assert.equal(x.checkIP('::1'), '::1')
  assert.equal(x.checkIP('fd00::2'), 'fd00::2')
  assert.equal(x.checkHost('other.local'), undefined)

  // The chain: issued by the CA, signature good under the CA's key.
  assert.ok(x.checkIssued(caX), 'issued by the CA')
  assert.ok(x.verify(caX.publicKey), 'signature verifies under the CA key')
  assert.ok(x.checkPrivateKey(createPrivateKey(leaf.key)), 'leaf key matches')
  const { tbs, signature } = tbsAndSignature(leaf.cert)
  assert.ok(verify('sha256', tbs, createPublicKey(ca.cert), signature), 'crypto.verify over tbsCertificate')
  const tampered = Buffer.from(tbs)
  tampered[tampered.length - 5] ^= 1
  assert.equal(verify('sha256', tampered, createPublicKey(ca.cert), signature), false)

  const ext = extensionsOf(leaf.cert)
  assert.equal(ext('basicConstraints')?.cA, false)
  assert.equal(ext('keyUsage')?.digitalSignature, true)
  assert.equal(ext('keyUsage')?.keyEncipherment, true)
  assert.equal(ext('keyUsage')?.keyCertSign, false)
  assert.equal(ext('extKeyUsage')?.serverAuth, true)
  const caSki = extensionsOf(ca.cert)('subjectKeyIdentifier')?.subjectKeyIdentifier
  const aki = ext('authorityKeyIdentifier')
  assert.ok(aki, 'authority key id present')
  // forge does not decode AKI; read keyIdentifier [0] from its DER value.
  const akiAsn = forge.asn1.fromDer(aki!.value as string)
  assert.equal(forge.util.bytesToHex((akiAsn.value as forge.asn1.Asn1[])[0]!.value as string), caSki)
  assert.match(ext('subjectKeyIdentifier')?.subjectKeyIdentifier ?? '', /^[0-9a-f]{40}$/)
  assert.notEqual(ext('subjectKeyIdentifier')?.subjectKeyIdentifier, caSki)
})

test('the leaf never outlives its CA', async () => {
  const ca = await createCa({ commonName: 'short CA', days: 100, backdateHours: 0, now: NOW })
  const leaf = await createServerCert({ sans: SANS, days: 825, backdateHours: 0, now: NOW, ca })
  assert.equal(new X509Certificate(leaf.cert).validTo, new X509Certificate(ca.cert).validTo)
})

test('validity: whole seconds, back-dating, cap', () => {
  const now = new Date('2025-06-01T12:00:00.789Z')
  const v = validityFor(now, 10, 24)
  assert.equal(v.notBefore.toISOString(), '2025-05-31T12:00:00.000Z')
  assert.equal(v.notAfter.toISOString(), '2025-06-11T12:00:00.000Z')
  const capped = validityFor(now, 10, 0, new Date('2025-06-05T00:00:00Z'))
  assert.equal(capped.notAfter.toISOString(), '2025-06-05T00:00:00.000Z')
  assert.equal(validityFor(now, 1, 0).notBefore.toISOString(), '2025-06-01T12:00:00.000Z')
})

test('serials are positive, 16 bytes and distinct', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const s = randomSerial()
    assert.match(s, /^[0-7][0-9a-f]{31}$/)
    assert.notEqual(s.slice(0, 2), '00')
    seen.add(s)
  }
  assert.equal(seen.size, 200)
})

test('a server certificate needs a name', async () => {
  const ca = await createCa({ commonName: 'c', days: 10, backdateHours: 0, now: NOW })
  await assert.rejects(createServerCert({ sans: [], days: 5, backdateHours: 0, now: NOW, ca }), /at least one name/)
})
