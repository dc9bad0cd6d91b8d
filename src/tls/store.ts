/**
 * Certificates on disk, and the decisions about them as pure functions.
 *
 * ```
 * <data dir>/tls/                                                0700
 *   ca.crt       the CA nodes trust (served at /ca.crt)           0644
 *   ca.key       its key                                          0600
 *   server.crt   the leaf the HTTPS listener presents             0644
 *   server.key   its key                                          0600
 *   old/<UTC stamp>/{ca,server}.{crt,key}   what rotate-ca replaced
 * ```
 *
 * Every file is written to a temporary name in the same directory, synced and
 * renamed over the old one, so a crash leaves the old file or the new one,
 * never half of either. A key is written before its certificate: a CA exists
 * once `ca.crt` exists (nodes can only have been handed `ca.crt`), so a crash
 * between the two leaves an orphan key that the next start overwrites.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  chmodSync,
  existsSync,
  fchownSync,
  statSync,
} from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { daysUntil } from './inspect.js'
import { missingSans, type San } from './names.js'

export const KEY_MODE = 0o600
export const CERT_MODE = 0o644
export const DIR_MODE = 0o700

export interface TlsPaths {
  dir: string
  caCert: string
  caKey: string
  serverCert: string
  serverKey: string
  old: string
}

export const tlsPaths = (dataDir: string): TlsPaths => {
  const dir = join(dataDir, 'tls')
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    old: join(dir, 'old'),
  }
}

/** The file's text, or null when it does not exist. Other errors (permissions) are thrown. */
export const readIfExists = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

const fsyncDir = (dir: string): void => {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}

/**
 * root running `outpost certs rotate-ca` must not leave root-owned keys in a
 * folder the service user owns (systemd DynamicUser/StateDirectory): the
 * service could no longer read them. New files take the folder's owner.
 */
const ownerToFollow = (dir: string): { uid: number; gid: number } | null => {
  if (process.getuid?.() !== 0) return null
  const st = statSync(dir)
  return st.uid !== 0 || st.gid !== 0 ? { uid: st.uid, gid: st.gid } : null
}

/**
 * The tls folder holds keys: 0700 whatever the umask, and one left open by
 * an earlier version is closed (when Outpost may change it).
 */
export const closeDir = (dir: string): void => {
  try {
    const st = statSync(dir)
    const uid = process.getuid?.()
    if ((st.mode & 0o777) !== DIR_MODE && (uid === 0 || uid === st.uid)) chmodSync(dir, DIR_MODE)
  } catch {
    // Not there yet, or not ours: left as it is.
  }
}

/**
 * Writes `data` to `path` atomically with `mode`. The temporary file is
 * created with the mode (so a key is never readable by others, even briefly)
 * and chmod-ed again because the umask may have narrowed it.
 */
export const writeFileAtomic = (path: string, data: string, mode: number): void => {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true, mode: DIR_MODE })
  closeDir(dir)
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`)
  const owner = ownerToFollow(dir)
  const fd = openSync(tmp, 'wx', mode)
  try {
    try {
      if (owner) fchownSync(fd, owner.uid, owner.gid)
      writeSync(fd, data)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    chmodSync(tmp, mode)
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
  fsyncDir(dir)
}

/** Key first, then certificate (see the top of this file). */
export const writeCertAndKey = (certPath: string, keyPath: string, pair: { cert: string; key: string }): void => {
  writeFileAtomic(keyPath, pair.key, KEY_MODE)
  writeFileAtomic(certPath, pair.cert, CERT_MODE)
}

/** `2025-11-23T08-45-54Z`: sortable, and legal in file names everywhere. */
const stamp = (now: Date): string =>
  now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-')

/**
 * Moves the CA and server files into `old/<stamp>/` and returns that folder,
 * or null when there was nothing to move. Only `outpost certs rotate-ca`
 * calls this.
 */
export const archiveCurrent = (paths: TlsPaths, now: Date): string | null => {
  const present = [paths.caKey, paths.caCert, paths.serverKey, paths.serverCert].filter((p) => existsSync(p))
  if (present.length === 0) return null
  let target = join(paths.old, stamp(now))
  for (let i = 1; existsSync(target); i++) target = join(paths.old, `${stamp(now)}-${i}`)
  mkdirSync(paths.old, { recursive: true, mode: DIR_MODE })
  // Old keys stay keys: the folder is closed to others as well as the files.
  mkdirSync(target, { mode: 0o700 })
  for (const p of present) renameSync(p, join(target, p.slice(paths.dir.length + 1)))
  fsyncDir(paths.dir)
  return target
}

// ---------------------------------------------------------------------------
// Decisions

/** What start-up found of the CA. `null` means there is no ca.crt. */
export interface ExistingCa {
  /** ca.crt parsed as a certificate. */
  readable: boolean
  keyPresent: boolean
  keyMatches: boolean
  isCa: boolean
}

export type CaDecision = 'create' | 'reuse' | { refuse: string }

/**
 * Never replace a CA silently: nodes trust it. Anything wrong with an
 * existing one stops start-up with what to do; only rotate-ca replaces it.
 */
export const decideCa = (existing: ExistingCa | null): CaDecision => {
  if (existing === null) return 'create'
  const fix =
    'restore the CA files from a backup, or run `outpost certs rotate-ca` to make a new CA (every node must then trust the new /ca.crt)'
  if (!existing.readable) return { refuse: `ca.crt is not a readable PEM certificate; ${fix}` }
  if (!existing.isCa) return { refuse: `ca.crt is not a CA certificate (basicConstraints CA:false); ${fix}` }
  if (!existing.keyPresent) return { refuse: `ca.crt is present but ca.key is missing; ${fix}` }
  if (!existing.keyMatches) return { refuse: `ca.key does not belong to ca.crt; ${fix}` }
  return 'reuse'
}

/** What start-up found of the server certificate. `null` means there is no server.crt. */
export interface ExistingServerCert {
  readable: boolean
  notBefore: Date
  notAfter: Date
  sans: San[]
  keyMatches: boolean
  /** Signed by the current CA (false after rotate-ca or when the files were swapped). */
  issuedByCa: boolean
}

export interface WantedServerCert {
  sans: readonly San[]
  renewBeforeDays: number
  /** A leaf cannot outlive its CA, so expiry close to the CA's is not a reason to re-issue. */
  caNotAfter: Date
}

export type ReissueReason = 'missing' | 'unreadable' | 'key-mismatch' | 'other-ca' | 'not-yet-valid' | 'expired' | 'expires-soon' | 'names'

export type ServerDecision = 'reuse' | { reissue: ReissueReason; detail: string }

const DAY_MS = 86_400_000

export const decideServerCert = (existing: ExistingServerCert | null, wanted: WantedServerCert, now: Date): ServerDecision => {
  if (existing === null) return { reissue: 'missing', detail: 'no server certificate yet' }
  if (!existing.readable) return { reissue: 'unreadable', detail: 'server.crt is not a readable PEM certificate' }
  if (!existing.keyMatches) return { reissue: 'key-mismatch', detail: 'server.key is missing or does not belong to server.crt' }
  if (!existing.issuedByCa) return { reissue: 'other-ca', detail: 'server.crt is not signed by the current CA' }
  if (existing.notBefore > now) return { reissue: 'not-yet-valid', detail: `valid only from ${existing.notBefore.toISOString()}` }
  if (existing.notAfter <= now) return { reissue: 'expired', detail: `expired ${existing.notAfter.toISOString()}` }
  const missing = missingSans(existing.sans, wanted.sans)
  if (missing.length) return { reissue: 'names', detail: `does not cover ${missing.join(', ')}` }
  const soon = existing.notAfter.getTime() - now.getTime() < wanted.renewBeforeDays * DAY_MS
  // A leaf already reaching the CA's own end cannot be made to last longer.
  const capped = existing.notAfter.getTime() >= wanted.caNotAfter.getTime() - 1000
  if (soon && !capped) {
    return { reissue: 'expires-soon', detail: `expires ${existing.notAfter.toISOString()} (in ${daysUntil(existing.notAfter, now)} days)` }
  }
  return 'reuse'
}
