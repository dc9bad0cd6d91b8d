/**
 * TLS: Outpost's own CA and server certificate (made, kept under
 * `<data dir>/tls`, renewed), or operator-supplied ones; the options the
 * HTTPS listener runs with; the renewer that swaps certificates in a running
 * server. Nothing here knows about the HTTP app.
 */
export {
  prepareTls,
  ensureGenerated,
  loadOperator,
  readStatus,
  rotateCa,
  wantedSansOf,
  TlsError,
  CA_WARN_DAYS,
  type TlsSettings,
  type TlsMaterial,
  type TlsLogger,
  type TlsStatus,
} from './certificates.js'
export {
  CertificateRenewer,
  secureContextOptions,
  CHECK_INTERVAL_MS,
  READY_MIN_DAYS,
  type RenewalOutcome,
  type RenewerOptions,
} from './renew.js'
export { createCa, createServerCert, generateKey, validityFor, KEY_ALGORITHM, type CertAndKey } from './generate.js'
export { describeCert, describeX509, daysUntil, splitPem, type CertInfo } from './inspect.js'
export { decideCa, decideServerCert, tlsPaths, type ServerDecision, type ReissueReason, type TlsPaths } from './store.js'
export { wantedSans, hostAddresses, toSan, type San } from './names.js'
export { previousCaReader } from './previous.js'
