/**
 * Making the CA and the server certificate: keys from node:crypto,
 * certificates built and signed with node-forge.
 *
 * Keys are RSA 2048. Measured on the 2-core build machine (bench/README.md,
 * "TLS"): node:crypto makes an RSA 2048 key in ~200 ms (median, 70–430 ms),
 * an ECDSA P-256 key in 0.06 ms, and node-forge's pure-JS RSA 2048 takes
 * ~3 s (1.2–5.6 s). P-256 would be quicker to make and to handshake with,
 * but node-forge encodes and signs RSA keys only (`cert.sign` looks up
 * `<md>WithRSAEncryption`, `publicKeyToAsn1` writes RSA), and a key is made
 * once per CA and once per renewal, so RSA costs nothing that matters.
 * Keys are made with the asynchronous generateKeyPair so a renewal in a
 * running server does not stall requests for those 200 ms.
 */
import { generateKeyPair, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import forge from 'node-forge'
import { sanValue, type San } from './names.js'

const generateKeyPairAsync = promisify(generateKeyPair)

export const KEY_ALGORITHM = 'RSA 2048'
const RSA_BITS = 2048

export interface CertAndKey {
  /** PEM certificate. */
  cert: string
  /** PEM PKCS#8 private key. */
  key: string
}

/** A new private key, PEM PKCS#8. */
export const generateKey = async (): Promise<string> => {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: RSA_BITS })
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/**
 * A positive 127-bit serial: RFC 5280 §4.1.2.2 allows up to 20 octets and
 * wants them unique per CA; random bits make that so without a counter.
 * The top bit is cleared so the DER INTEGER stays positive, which Go rejects
 * otherwise.
 */
export const randomSerial = (): string => {
  const b = randomBytes(16)
  b[0] = (b[0]! & 0x7f) | 0x01
  return b.toString('hex')
}

export interface Validity {
  notBefore: Date
  notAfter: Date
}

/**
 * `notBefore` is back-dated so nodes whose clocks lag still accept the
 * certificate; `notAfter` counts from now, capped at `cap` (a leaf must not
 * outlive its CA). Whole seconds, as DER times carry no fractions.
 */
export const validityFor = (now: Date, days: number, backdateHours: number, cap?: Date): Validity => {
  const t = Math.floor(now.getTime() / 1000) * 1000
  const notBefore = new Date(t - backdateHours * HOUR_MS)
  let notAfter = new Date(t + days * DAY_MS)
  if (cap && cap < notAfter) notAfter = new Date(cap.getTime())
  return { notBefore, notAfter }
}

/** node-forge writes PEM with CRLF line ends; files and /ca.crt use LF like openssl. */
const pemOf = (cert: forge.pki.Certificate): string => forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n')

const forgePublicKey = (keyPem: string): forge.pki.PublicKey =>
  forge.pki.publicKeyFromPem(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }) as string)

const forgePrivateKey = (keyPem: string): forge.pki.rsa.PrivateKey => {
  const key = createPrivateKey(keyPem)
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`node-forge signs with RSA keys only; this key is ${key.asymmetricKeyType}`)
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }) as string)
}

export interface CaOptions {
  commonName: string
  days: number
  backdateHours: number
  now: Date
  /** Use this key (PEM) instead of making one. */
  key?: string
}

/** A self-signed CA: CA:true (path length 0), keyCertSign + cRLSign, subject key id. */
export const createCa = async (options: CaOptions): Promise<CertAndKey> => {
  const key = options.key ?? (await generateKey())
  const cert = forge.pki.createCertificate()
  cert.publicKey = forgePublicKey(key)
  cert.serialNumber = randomSerial()
  const v = validityFor(options.now, options.days, options.backdateHours)
  cert.validity.notBefore = v.notBefore
  cert.validity.notAfter = v.notAfter
  const subject = [
    { name: 'organizationName', value: 'Outpost' },
    { name: 'commonName', value: options.commonName },
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(forgePrivateKey(key), forge.md.sha256.create())
  return { cert: pemOf(cert), key }
}

export interface ServerCertOptions {
  /** Names to cover; the first DNS name becomes the subject CN. */
  sans: readonly San[]
  days: number
  backdateHours: number
  now: Date
  /** The issuing CA (made by createCa: node-forge reads RSA certificates only). */
  ca: CertAndKey
  /** Use this key (PEM) instead of making one. */
  key?: string
}

/** The subject key id of a forge certificate: its extension, else SHA-1 of the public key (RFC 5280 §4.2.1.2 (1)). */
const subjectKeyId = (cert: forge.pki.Certificate): string => {
  const ext = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined
  return ext?.subjectKeyIdentifier ? forge.util.hexToBytes(ext.subjectKeyIdentifier) : cert.generateSubjectKeyIdentifier().getBytes()
}

/** A TLS server certificate signed by `ca`: serverAuth, the SANs, subject and authority key ids. */
export const createServerCert = async (options: ServerCertOptions): Promise<CertAndKey> => {
  if (options.sans.length === 0) throw new Error('a server certificate needs at least one name')
  const key = options.key ?? (await generateKey())
  const caCert = forge.pki.certificateFromPem(options.ca.cert)
  const cert = forge.pki.createCertificate()
  cert.publicKey = forgePublicKey(key)
  cert.serialNumber = randomSerial()
  const v = validityFor(options.now, options.days, options.backdateHours, caCert.validity.notAfter)
  cert.validity.notBefore = v.notBefore
  cert.validity.notAfter = v.notAfter
  const cn = options.sans.find((s) => s.startsWith('DNS:')) ?? options.sans[0]!
  cert.setSubject([
    { name: 'organizationName', value: 'Outpost' },
    { name: 'commonName', value: sanValue(cn) },
  ])
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: options.sans.map((s) => (s.startsWith('IP:') ? { type: 7, ip: sanValue(s) } : { type: 2, value: sanValue(s) })),
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: subjectKeyId(caCert) },
  ])
  cert.sign(forgePrivateKey(options.ca.key), forge.md.sha256.create())
  return { cert: pemOf(cert), key }
}
