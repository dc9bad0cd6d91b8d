/**
 * Reading certificates with Node's own X509Certificate (OpenSSL), which,
 * unlike node-forge, also reads the ECDSA certificates an operator may supply.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { parseSubjectAltName, type San } from './names.js'

export interface CertInfo {
  subject: string
  issuer: string
  serialNumber: string
  notBefore: Date
  notAfter: Date
  sans: San[]
  /** SHA-256 of the DER, `AB:CD:…` as openssl prints it. */
  fingerprint256: string
  isCa: boolean
  /** `RSA 2048`, `EC prime256v1`, … */
  key: string
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The CERTIFICATE blocks of a PEM text, in order, each ending in a newline. */
export const splitPem = (pem: string): string[] => (pem.match(PEM_CERT) ?? []).map((b) => `${b}\n`)

const keyDescription = (x: X509Certificate): string => {
  const k = x.publicKey
  const d = k.asymmetricKeyDetails
  if (k.asymmetricKeyType === 'rsa') return `RSA ${d?.modulusLength ?? '?'}`
  if (k.asymmetricKeyType === 'ec') return `EC ${d?.namedCurve ?? '?'}`
  return (k.asymmetricKeyType ?? 'unknown').toUpperCase()
}

export const describeX509 = (x: X509Certificate): CertInfo => ({
  subject: x.subject.replace(/\n/g, ', '),
  issuer: x.issuer.replace(/\n/g, ', '),
  serialNumber: x.serialNumber,
  notBefore: new Date(x.validFrom),
  notAfter: new Date(x.validTo),
  sans: parseSubjectAltName(x.subjectAltName),
  fingerprint256: x.fingerprint256,
  isCa: x.ca,
  key: keyDescription(x),
})

/** The first certificate of a PEM text. Throws when there is none or it does not parse. */
export const x509Of = (pem: string): X509Certificate => {
  const first = splitPem(pem)[0]
  if (!first) throw new Error('no PEM CERTIFICATE block')
  return new X509Certificate(first)
}

export const describeCert = (pem: string): CertInfo => describeX509(x509Of(pem))

/** Whether the private key (PEM) belongs to the certificate. False when the key does not parse. */
export const keyMatchesCert = (cert: X509Certificate, keyPem: string): boolean => {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem))
  } catch {
    return false
  }
}

/** Whether `leaf` names `issuer` as its issuer and carries a valid signature from its key. */
export const issuedBy = (leaf: X509Certificate, issuer: X509Certificate): boolean => {
  try {
    return leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey)
  } catch {
    return false
  }
}

/**
 * Whether a chain (leaf first, intermediates after) leads to one of the
 * anchors. Validity dates are not checked here; callers report expiry apart.
 */
export const chainsTo = (chain: X509Certificate[], anchors: X509Certificate[]): boolean => {
  const pool = [...chain.slice(1), ...anchors]
  let current: X509Certificate | undefined = chain[0]
  for (let depth = 0; current && depth < 10; depth++) {
    const cert: X509Certificate = current
    if (anchors.some((a) => a.fingerprint256 === cert.fingerprint256 || issuedBy(cert, a))) return true
    current = pool.find((c) => c !== cert && issuedBy(cert, c))
  }
  return false
}

const DAY_MS = 86_400_000

/** Whole days from `now` until `date` (negative when past). */
export const daysUntil = (date: Date, now: Date): number => Math.floor((date.getTime() - now.getTime()) / DAY_MS)
