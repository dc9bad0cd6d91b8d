/**
 * From settings to the key and certificate the HTTPS listener presents:
 * generated ones (made, kept, re-issued under <data dir>/tls) or
 * operator-supplied ones (checked and used as they are).
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { createCa, createServerCert } from './generate.js'
import { chainsTo, daysUntil, describeCert, describeX509, issuedBy, keyMatchesCert, splitPem, x509Of, type CertInfo } from './inspect.js'
import { hostNameInputs, missingSans, toSan, wantedSans, type San } from './names.js'
import {
  archiveCurrent,
  decideCa,
  decideServerCert,
  readIfExists,
  closeDir,
  tlsPaths,
  writeCertAndKey,
  type ExistingCa,
  type ExistingServerCert,
  type ServerDecision,
  type TlsPaths,
} from './store.js'

export interface TlsSettings {
  dataDir: string
  /** Registry domains; the first is the server certificate's CN. */
  domains: readonly string[]
  extraSans: readonly string[]
  backdateHours: number
  serverDays: number
  caDays: number
  renewBeforeDays: number
  /** Operator-supplied files; when set, nothing is generated. */
  operator: { cert: string; key: string; ca: string | null } | null
  /** Fixed host name and addresses (tests); read from the host at each check when absent. */
  hostname?: string
  addresses?: readonly string[]
}

/** Where pino and the like fit: `(fields, message)`. */
export interface TlsLogger {
  info(fields: object, msg: string): void
  warn(fields: object, msg: string): void
}

const QUIET: TlsLogger = { info() {}, warn() {} }

export class TlsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TlsError'
  }
}

/** What the HTTPS listener presents and /ca.crt hands out. */
export interface TlsMaterial {
  source: 'generated' | 'operator'
  /** PEM: leaf first, then any intermediates. */
  cert: string
  key: string
  /** PEM handed to nodes at /ca.crt; null when an operator supplied no tls.ca. */
  ca: string | null
  server: CertInfo
  caInfo: CertInfo | null
}

/** CA expiry this close is worth a warning at every check: nodes need time to take a new one. */
export const CA_WARN_DAYS = 90

export const wantedSansOf = (s: TlsSettings, log: TlsLogger = QUIET): San[] => {
  const host = s.hostname !== undefined && s.addresses !== undefined ? { hostname: s.hostname, addresses: s.addresses } : hostNameInputs()
  if ('error' in host && host.error) {
    log.warn({ err: host.error }, 'cannot list network interfaces; the certificate names no host address (add them to tls.extra_sans)')
  }
  return wantedSans({
    domains: s.domains,
    hostname: s.hostname ?? host.hostname,
    addresses: s.addresses ?? host.addresses,
    extra: s.extraSans,
  })
}

/** readIfExists and writeCertAndKey, with failures (permissions, read-only disk) as TlsError naming the file. */
const readTls = (path: string): string | null => {
  try {
    return readIfExists(path)
  } catch (err) {
    throw new TlsError(`cannot read ${path}: ${(err as Error).message}`)
  }
}

const writeTls = (certPath: string, keyPath: string, pair: { cert: string; key: string }): void => {
  try {
    writeCertAndKey(certPath, keyPath, pair)
  } catch (err) {
    throw new TlsError(`cannot write ${keyPath} / ${certPath}: ${(err as Error).message}`)
  }
}

const tryX509 = (pem: string | null): X509Certificate | null => {
  if (pem === null) return null
  try {
    return x509Of(pem)
  } catch {
    return null
  }
}

interface CaOnDisk {
  existing: ExistingCa | null
  x509: X509Certificate | null
  cert: string | null
  key: string | null
}

const readCa = (paths: TlsPaths): CaOnDisk => {
  const cert = readTls(paths.caCert)
  const key = readTls(paths.caKey)
  if (cert === null) return { existing: null, x509: null, cert, key }
  const x509 = tryX509(cert)
  return {
    existing: {
      readable: x509 !== null,
      isCa: x509?.ca ?? false,
      keyPresent: key !== null,
      keyMatches: x509 !== null && key !== null && keyMatchesCert(x509, key),
    },
    x509,
    cert,
    key,
  }
}

interface ServerOnDisk {
  existing: ExistingServerCert | null
  x509: X509Certificate | null
  cert: string | null
  key: string | null
}

const readServer = (paths: TlsPaths, ca: X509Certificate | null): ServerOnDisk => {
  const cert = readTls(paths.serverCert)
  const key = readTls(paths.serverKey)
  if (cert === null) return { existing: null, x509: null, cert, key }
  const x509 = tryX509(cert)
  if (!x509) {
    return {
      existing: { readable: false, notBefore: new Date(0), notAfter: new Date(0), sans: [], keyMatches: false, issuedByCa: false },
      x509,
      cert,
      key,
    }
  }
  const info = describeX509(x509)
  return {
    existing: {
      readable: true,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      sans: info.sans,
      keyMatches: key !== null && keyMatchesCert(x509, key),
      issuedByCa: ca !== null && issuedBy(x509, ca),
    },
    x509,
    cert,
    key,
  }
}

/** Whether a missing CA may be made: at start-up yes (a first start), never by a running server's checks. */
export interface CaCreation {
  mayCreateCa?: boolean
}

/** Said (and logged) when the CA files are gone after a CA was made. */
export const CA_MISSING =
  'ca.crt is missing while a server certificate is (or was) in use; the CA is never replaced on its own: ' +
  'restore ca.crt and ca.key from a backup, or run `outpost certs rotate-ca` to make a new CA (every node must then trust the new /ca.crt)'

/** The host and the date tell one Outpost CA from another (e.g. before and after rotate-ca). */
const caCommonName = (now: Date): string => `Outpost CA ${hostname()} ${now.toISOString().slice(0, 10)}`

const warnCaExpiry = (ca: CertInfo, now: Date, log: TlsLogger): void => {
  const days = daysUntil(ca.notAfter, now)
  if (days < CA_WARN_DAYS) {
    log.warn(
      { not_after: ca.notAfter.toISOString(), days },
      days < 0
        ? 'the CA has expired: nodes reject every certificate it signs; run `outpost certs rotate-ca` and hand nodes the new /ca.crt'
        : 'the CA expires soon; run `outpost certs rotate-ca` and hand nodes the new /ca.crt before it does',
    )
  }
}

/**
 * Makes sure `<data dir>/tls` holds a CA and a server certificate that
 * covers the wanted names and is not about to expire: reuses what is there,
 * creates the CA only when there is none, re-issues the server certificate
 * when `decideServerCert` says so. Throws TlsError when an existing CA is
 * unusable (it is never replaced here), and when the CA is missing anywhere
 * but a first start: a running server (`mayCreateCa: false`) or a `tls/`
 * that already holds a server certificate never gets a new CA on its own.
 */
export const ensureGenerated = async (
  s: TlsSettings,
  log: TlsLogger = QUIET,
  now = new Date(),
  options: CaCreation = {},
): Promise<TlsMaterial> => {
  const paths = tlsPaths(s.dataDir)
  closeDir(paths.dir)
  let ca = readCa(paths)
  const caDecision = decideCa(ca.existing)
  if (typeof caDecision === 'object') throw new TlsError(`${paths.dir}: ${caDecision.refuse}`)
  if (caDecision === 'create') {
    const serverFiles = readTls(paths.serverCert) !== null || readTls(paths.serverKey) !== null
    if (options.mayCreateCa === false || serverFiles) throw new TlsError(`${paths.dir}: ${CA_MISSING}`)
    const made = await createCa({ commonName: caCommonName(now), days: s.caDays, backdateHours: s.backdateHours, now })
    writeTls(paths.caCert, paths.caKey, made)
    ca = readCa(paths)
    const info = describeX509(ca.x509!)
    log.info(
      { path: paths.caCert, subject: info.subject, sha256: info.fingerprint256, not_after: info.notAfter.toISOString() },
      'created a CA',
    )
  }
  const caX509 = ca.x509!
  const caInfo = describeX509(caX509)
  warnCaExpiry(caInfo, now, log)

  const sans = wantedSansOf(s, log)
  let server = readServer(paths, caX509)
  const decision = decideServerCert(server.existing, { sans, renewBeforeDays: s.renewBeforeDays, caNotAfter: caInfo.notAfter }, now)
  if (decision !== 'reuse') {
    const made = await createServerCert({
      sans,
      days: s.serverDays,
      backdateHours: s.backdateHours,
      now,
      ca: { cert: ca.cert!, key: ca.key! },
    })
    writeTls(paths.serverCert, paths.serverKey, made)
    server = readServer(paths, caX509)
    const info = describeX509(server.x509!)
    log.info(
      {
        reason: decision.reissue,
        detail: decision.detail,
        path: paths.serverCert,
        sans: info.sans,
        not_after: info.notAfter.toISOString(),
      },
      'issued a server certificate',
    )
  }
  return { source: 'generated', cert: server.cert!, key: server.key!, ca: ca.cert!, server: describeX509(server.x509!), caInfo }
}

const readOperatorFile = (path: string, what: string): string => {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new TlsError(`${what} ${path}: ${(err as Error).message}`)
  }
}

/**
 * Operator-supplied certificate and key, used as they are: checked that the
 * key belongs to the certificate (else TlsError), with warnings when expiry
 * is near, when the chain does not lead to tls.ca, or when the registry
 * domains are not covered.
 */
export const loadOperator = (s: TlsSettings, log: TlsLogger = QUIET, now = new Date()): TlsMaterial => {
  const op = s.operator
  if (!op) throw new TlsError('no operator-supplied certificate configured')
  const cert = readOperatorFile(op.cert, 'tls.cert')
  const key = readOperatorFile(op.key, 'tls.key')
  const blocks = splitPem(cert)
  let chain: X509Certificate[]
  try {
    chain = blocks.map((b) => new X509Certificate(b))
  } catch (err) {
    throw new TlsError(`tls.cert ${op.cert}: not a PEM certificate: ${(err as Error).message}`)
  }
  if (chain.length === 0) throw new TlsError(`tls.cert ${op.cert}: no PEM CERTIFICATE block`)
  if (!keyMatchesCert(chain[0]!, key)) throw new TlsError(`tls.key ${op.key} does not belong to the certificate in tls.cert ${op.cert}`)
  const server = describeX509(chain[0]!)
  let ca: string | null = null
  let caInfo: CertInfo | null = null
  if (op.ca) {
    ca = readOperatorFile(op.ca, 'tls.ca')
    let anchors: X509Certificate[]
    try {
      anchors = splitPem(ca).map((b) => new X509Certificate(b))
    } catch (err) {
      throw new TlsError(`tls.ca ${op.ca}: not a PEM certificate: ${(err as Error).message}`)
    }
    if (anchors.length === 0) throw new TlsError(`tls.ca ${op.ca}: no PEM CERTIFICATE block`)
    caInfo = describeX509(anchors[0]!)
    if (!chainsTo(chain, anchors))
      log.warn({ cert: op.cert, ca: op.ca }, 'tls.cert does not chain to tls.ca: nodes that trust /ca.crt will reject it')
  }
  const days = daysUntil(server.notAfter, now)
  if (server.notAfter <= now) {
    log.warn(
      { cert: op.cert, not_after: server.notAfter.toISOString() },
      'the operator-supplied certificate has expired: clients will reject it',
    )
  } else if (days < s.renewBeforeDays) {
    log.warn(
      { cert: op.cert, not_after: server.notAfter.toISOString(), days },
      'the operator-supplied certificate expires soon; replace tls.cert and tls.key',
    )
  }
  const domains = s.domains.map(toSan).filter((x): x is San => x !== null)
  const missing = missingSans(server.sans, domains)
  if (missing.length) log.warn({ cert: op.cert, missing }, 'the operator-supplied certificate does not name every registry domain')
  if (caInfo && caInfo.notAfter.getTime() - now.getTime() < CA_WARN_DAYS * 86_400_000) {
    log.warn(
      { ca: op.ca, not_after: caInfo.notAfter.toISOString() },
      'tls.ca expires soon or has expired; nodes need its successor before then',
    )
  }
  return { source: 'operator', cert, key, ca, server, caInfo }
}

/** Operator files when configured, else generated ones. */
export const prepareTls = (s: TlsSettings, log: TlsLogger = QUIET, now = new Date(), options: CaCreation = {}): Promise<TlsMaterial> =>
  s.operator ? Promise.resolve().then(() => loadOperator(s, log, now)) : ensureGenerated(s, log, now, options)

export interface TlsStatus {
  paths: TlsPaths
  source: 'generated' | 'operator'
  ca: { pem: string; info: CertInfo } | null
  server: { pem: string; info: CertInfo } | null
  /** What the next check would do with the server certificate (generated only). */
  decision: ServerDecision | null
  problem: string | null
}

/** Reads what is there without changing anything (`outpost certs`). */
export const readStatus = (s: TlsSettings, now = new Date()): TlsStatus => {
  const paths = tlsPaths(s.dataDir)
  if (s.operator) {
    const cert = readOperatorFile(s.operator.cert, 'tls.cert')
    const ca = s.operator.ca ? readOperatorFile(s.operator.ca, 'tls.ca') : null
    return {
      paths,
      source: 'operator',
      server: { pem: cert, info: describeX509(x509Of(cert)) },
      ca: ca ? { pem: ca, info: describeX509(x509Of(ca)) } : null,
      decision: null,
      problem: null,
    }
  }
  const ca = readCa(paths)
  const caDecision = decideCa(ca.existing)
  const server = readServer(paths, ca.x509)
  const caInfo = ca.x509 ? describeX509(ca.x509) : null
  return {
    paths,
    source: 'generated',
    ca: ca.x509 ? { pem: ca.cert!, info: caInfo! } : null,
    server: server.x509 ? { pem: server.cert!, info: describeX509(server.x509) } : null,
    decision: caInfo
      ? decideServerCert(server.existing, { sans: wantedSansOf(s), renewBeforeDays: s.renewBeforeDays, caNotAfter: caInfo.notAfter }, now)
      : null,
    problem: typeof caDecision === 'object' ? caDecision.refuse : null,
  }
}

/**
 * Replaces the CA: the current files move to `tls/old/<stamp>/`, a new CA
 * and a server certificate signed by it are written. Returns the archive
 * folder (null when there was no CA before).
 */
export const rotateCa = async (
  s: TlsSettings,
  log: TlsLogger = QUIET,
  now = new Date(),
): Promise<{ material: TlsMaterial; archived: string | null }> => {
  if (s.operator) throw new TlsError('tls.cert is set: the certificate and its CA are the operator’s, and Outpost does not rotate them')
  const paths = tlsPaths(s.dataDir)
  // Make the new CA before touching the old one, so a failure leaves things as they were.
  const made = await createCa({ commonName: caCommonName(now), days: s.caDays, backdateHours: s.backdateHours, now })
  const archived = archiveCurrent(paths, now)
  writeTls(paths.caCert, paths.caKey, made)
  const info = describeCert(made.cert)
  log.info({ path: paths.caCert, subject: info.subject, sha256: info.fingerprint256, archived }, 'replaced the CA')
  const material = await ensureGenerated(s, log, now)
  return { material, archived }
}
