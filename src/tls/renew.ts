/**
 * Keeps a running server's certificate fresh: once a day (and on demand,
 * e.g. SIGHUP) it runs the same preparation as start-up — which re-issues an
 * expiring certificate on disk, or picks up files replaced by
 * `outpost certs rotate-ca` or by the operator — and, when the result differs
 * from what is being served, swaps it into every attached TLS server with
 * `setSecureContext`. Open connections keep their session; new handshakes get
 * the new certificate. No restart.
 */
import { createSecureContext, type Server as TlsServer, type SecureContextOptions } from 'node:tls'
import { prepareTls, type TlsLogger, type TlsMaterial, type TlsSettings } from './certificates.js'
import { daysUntil } from './inspect.js'

export const CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000

/** TLS 1.2 and 1.3 only; Node's default cipher list (no RC4, DES, MD5, export or anonymous suites). */
export const secureContextOptions = (m: TlsMaterial): SecureContextOptions => ({
  key: m.key,
  cert: m.cert,
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
})

export interface RenewerOptions {
  settings: TlsSettings
  initial: TlsMaterial
  logger?: TlsLogger
  intervalMs?: number
  /** The clock (tests move it). */
  now?: () => Date
}

export type RenewalOutcome = 'unchanged' | 'swapped' | 'failed'

/** /readyz wants the served certificate good for at least this long (DESIGN.md, Nodes). */
export const READY_MIN_DAYS = 14

export class CertificateRenewer {
  current: TlsMaterial
  private readonly servers = new Set<TlsServer>()
  private timer: NodeJS.Timeout | null = null
  private running: Promise<RenewalOutcome> | null = null
  private settings: TlsSettings
  private readonly log: TlsLogger
  private readonly intervalMs: number
  private readonly now: () => Date
  /** Why the last check failed (CA files gone or unreadable, …); /readyz fails until a check succeeds. */
  problem: string | null = null

  constructor(options: RenewerOptions) {
    this.current = options.initial
    this.settings = options.settings
    this.log = options.logger ?? { info() {}, warn() {} }
    this.intervalMs = options.intervalMs ?? CHECK_INTERVAL_MS
    this.now = options.now ?? (() => new Date())
  }

  /** Settings for the checks from now on (a reload): a check re-issues the certificate when its names no longer match. */
  useSettings(settings: TlsSettings): void {
    this.settings = settings
  }

  /** Servers whose certificate is swapped on renewal. */
  attach(server: TlsServer): void {
    this.servers.add(server)
    server.once('close', () => this.servers.delete(server))
  }

  /** The CA PEM to hand to nodes, or null. */
  caPem(): string | null {
    return this.current.ca
  }

  /**
   * For /readyz: ready while the certificate being served is valid for more
   * than READY_MIN_DAYS. Shaped like the nodes module's ReadinessResult.
   */
  readiness(now = this.now()): { ok: boolean; detail: string } {
    const s = this.current.server
    const days = daysUntil(s.notAfter, now)
    const detail = `${this.current.source} certificate ${s.subject}, valid until ${s.notAfter.toISOString()} (${days} days)`
    if (this.problem) return { ok: false, detail: `${detail}; still served, but the last check failed: ${this.problem}` }
    if (s.notBefore > now) return { ok: false, detail: `${detail}; not valid before ${s.notBefore.toISOString()}` }
    return { ok: s.notAfter.getTime() - now.getTime() > READY_MIN_DAYS * 86_400_000, detail }
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => void this.check(), this.intervalMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Runs one check now. Concurrent calls share the one in flight. Never throws. */
  check(now = this.now()): Promise<RenewalOutcome> {
    this.running ??= this.runCheck(now).finally(() => {
      this.running = null
    })
    return this.running
  }

  private async runCheck(now: Date): Promise<RenewalOutcome> {
    let next: TlsMaterial
    try {
      // A running server never makes a CA: only `outpost certs rotate-ca` replaces one.
      next = await prepareTls(this.settings, this.log, now, { mayCreateCa: false })
    } catch (err) {
      this.problem = (err as Error).message
      this.log.warn({ err }, 'certificate check failed; still serving the current certificate')
      return 'failed'
    }
    this.problem = null
    const same = next.cert === this.current.cert && next.key === this.current.key && next.ca === this.current.ca
    if (same) return 'unchanged'
    try {
      const options = secureContextOptions(next)
      // Try the pair once first, so a bad one never reaches some servers and not others.
      createSecureContext(options)
      for (const server of this.servers) server.setSecureContext(options)
    } catch (err) {
      this.log.warn({ err }, 'could not load the new certificate; still serving the current one')
      return 'failed'
    }
    const previous = this.current.server
    this.current = next
    this.log.info(
      {
        previous_sha256: previous.fingerprint256,
        sha256: next.server.fingerprint256,
        not_after: next.server.notAfter.toISOString(),
        servers: this.servers.size,
      },
      'now serving a new certificate',
    )
    return 'swapped'
  }
}
