/**
 * Composition root: configuration → layout → certificates → app → listeners.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server as TlsServer } from 'node:tls'
import { CertificateRenewer, prepareTls, secureContextOptions } from '../tls/index.js'
import type { Logger } from './logger.js'
import { Catalog, escapeRef } from '../catalog/index.js'
import { parseV2Path, type Htpasswd, type ListenerKind } from '../registry-api/index.js'
import { isValidHost, requestedReference } from '../images/index.js'
import { Metrics } from './metrics.js'
import type { AppEnv } from './app.js'
import { FileCache, type PackageTrees } from '../repos/index.js'
import { buildLayout, openCatalog, openCatalogDb, type ServedLayout } from './compose.js'
import { checkPushRootOwn } from './layout.js'
import { closeListener, listen, requestHandler, type Listener, type ServedSlot } from './listen.js'
import { tlsSettingsOf } from './tls-settings.js'
import { openPushRoot } from './push-root.js'
import { isLoopbackHost, openHtpasswd, type ConfigLoadResult, type ListenAddress, type OutpostConfig } from './config.js'
import { startSntp, type SntpServer } from '../nodes/index.js'
import { checkPackageTrees, describeLayout, openServing, watchServed, type ServerParts } from './serving.js'
import { logHtpasswdReload, reloadServer, type ReloadResult, type ServerState } from './reload.js'
import { hostPort } from './listen-errors.js'
import { VERSION } from './version.js'
import { checkRoots, rootProblemLine, RootsError, SERVE_ROOTS_ADVICE } from './roots-check.js'

export { loadConfig, ConfigError, checkConfigFile, DEFAULT_CONFIG_FILE, type OutpostConfig } from './config.js'
export { CONFIG_KEYS, configKey, type ConfigKey } from './config-keys.js'
export { createLogger, silentLogger, type Logger } from './logger.js'
export { createApp, BUILT_IN_PATHS } from './app.js'
export { buildLayout, scanInventory, verifyLayout } from './compose.js'
export { Metrics } from './metrics.js'
export { tlsSettingsOf } from './tls-settings.js'
export { logHtpasswdReload, type ReloadResult } from './reload.js'
export { checkRoots, folderProblem, bundleProblem, rootProblemLine, RootsError, type RootProblem } from './roots-check.js'
export { VERSION } from './version.js'
export { ListenError, listenAdvice } from './listen-errors.js'

export interface RunningServer {
  listeners: Listener[]
  /** The layout being served (a reload replaces it). */
  readonly layout: ServedLayout
  catalog: Catalog
  /** Resolves when the first catalog scan has finished. */
  scanned: Promise<void>
  /** Resolves when the watchers are in place. */
  watcherReady: Promise<void>
  /** The certificate in use and its renewal; null when HTTPS is off. */
  tls: CertificateRenewer | null
  /** The SNTP responder, or null when off or when it could not bind. */
  ntp: { host: string; port: number } | null
  /** yum/apt trees under the file roots and their latest check (started in the background; a reload replaces it). */
  readonly packageTrees: PackageTrees
  /** The users who may write (registry.auth.htpasswd), or null; `reload()` re-reads the file (SIGHUP). */
  htpasswd: Htpasswd | null
  /**
   * Re-reads the configuration with `load` and applies what can change
   * without a restart, or refuses it and keeps serving what it had (logged
   * either way); re-reads htpasswd and checks the certificates. One at a time.
   */
  reload(load: () => ConfigLoadResult): Promise<ReloadResult>
  /** Graceful stop: stop accepting, let in-flight requests finish. */
  close(graceMs?: number): Promise<void>
}

/** Records registry and file 404s in the catalog's ledger of misses. */
const missRecorder =
  (catalog: Catalog, logger: Logger) =>
  (req: IncomingMessage, res: ServerResponse, route: string): void => {
    if (res.statusCode !== 404 || (req.method !== 'GET' && req.method !== 'HEAD')) return
    try {
      const url = new URL(req.url ?? '/', 'http://outpost')
      const info = { client: req.socket.remoteAddress, userAgent: req.headers['user-agent'] }
      if (route === 'v2.manifest' || route === 'v2.blob') {
        const parsed = parseV2Path(url.pathname.slice('/v2/'.length))
        const asked = url.searchParams.get('ns') || undefined
        // Only a host name qualifies the reference; anything else is kept, escaped, as detail.
        const ns = asked !== undefined && isValidHost(asked) ? asked : undefined
        const badNs = asked !== undefined && ns === undefined ? { invalidNs: escapeRef(asked).slice(0, 512) } : {}
        if (parsed.kind === 'manifest')
          catalog.misses.record('image', requestedReference(parsed.name, parsed.reference, ns), {
            ...info,
            detail: { name: parsed.name, ...(ns ? { ns } : {}), ...badNs },
          })
        else if (parsed.kind === 'blob') catalog.misses.record('blob', requestedReference(parsed.name, parsed.digest, ns), info)
      } else if (route === 'files' || route === 'not-found') {
        catalog.misses.record('file', url.pathname, info)
      }
    } catch (err) {
      logger.warn({ err }, 'could not record a miss')
    }
  }

/** Bind errors that turn the time service off instead of stopping start-up. */
const NTP_BIND_ERRORS = new Set(['EACCES', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EPERM'])

/** What to do when port 123 cannot be bound. */
const ntpAdvice = (code: string, addr: ListenAddress): string =>
  code === 'EADDRINUSE'
    ? 'Free the port (another chronyd/ntpd?) or set listen.ntp'
    : code === 'EADDRNOTAVAIL'
      ? `This host has no address ${addr.host}: set listen.ntp`
      : 'Run with CAP_NET_BIND_SERVICE (the systemd unit grants it), or set listen.ntp'

/**
 * Time is a side service: a node can still pull and install without it, and
 * port 123 needs privileges or may be held by a chronyd already. So a bind
 * failure is logged and the server carries on without SNTP.
 */
const startTime = async (config: OutpostConfig, logger: Logger, metrics: Metrics): Promise<SntpServer | null> => {
  const addr = config.listen.ntp
  if (!addr) {
    logger.info('SNTP is off (listen.ntp: off)')
    return null
  }
  try {
    const sntp = await startSntp(
      {
        host: addr.host,
        port: addr.port,
        stratum: config.ntp.stratum,
        refId: config.ntp.ref_id,
        onPacket: (outcome) => metrics.ntpPackets.inc({ outcome }),
      },
      logger,
    )
    logger.info(
      { listener: 'ntp', address: hostPort({ host: sntp.host, port: sntp.port }), stratum: config.ntp.stratum, ref_id: config.ntp.ref_id },
      'serving time (SNTP, UDP)',
    )
    return sntp
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    if (!NTP_BIND_ERRORS.has(code)) throw err
    // The reason is the code: no stack trace for an expected condition.
    logger.warn(
      { listener: 'ntp', address: hostPort(addr), code },
      `SNTP is off: cannot bind UDP ${hostPort(addr)} (${code}); nodes cannot take time from Outpost. ${ntpAdvice(code, addr)}`,
    )
    return null
  }
}

/** For `/readyz?verbose` (what `outpost status` prints): version, start time, listeners, the certificate served. */
const aboutServer = (listeners: readonly Listener[], sntp: SntpServer | null, tls: CertificateRenewer | null, startedAt: Date) => ({
  version: VERSION,
  startedAt: startedAt.toISOString(),
  listeners: [
    ...listeners.map((l) => ({ name: l.name, address: hostPort({ host: l.address.address, port: l.address.port }), url: l.url })),
    ...(sntp ? [{ name: 'ntp', address: `udp ${hostPort({ host: sntp.host, port: sntp.port })}` }] : []),
  ],
  certificate: tls
    ? {
        source: tls.current.source,
        subject: tls.current.server.subject,
        notAfter: tls.current.server.notAfter.toISOString(),
      }
    : null,
})

/** The htpasswd file, read and checked before anything listens: a bad line stops start-up (exit 2). */
const loadHtpasswd = (config: OutpostConfig, logger: Logger): Htpasswd | null => {
  const htpasswd = openHtpasswd(config)
  if (!htpasswd) return null
  const { file, userCount: users } = htpasswd
  if (users === 0) logger.warn({ file }, 'htpasswd has no users: nobody can write through the HTTP and HTTPS listeners')
  else logger.info({ file, users }, 'htpasswd: writes through the HTTP and HTTPS listeners need these credentials')
  return htpasswd
}

/** What a listener lets clients write, for the start-up log. */
const writesOn = (kind: ListenerKind, config: OutpostConfig): string => {
  const withCredentials = config.registry.auth.htpasswd !== null ? 'with htpasswd credentials' : 'none (read-only)'
  if (kind !== 'push') return withCredentials
  return config.listen.push && isLoopbackHost(config.listen.push.host) ? 'without credentials (loopback)' : withCredentials
}

export const startServer = async (config: OutpostConfig, logger: Logger, metrics = new Metrics()): Promise<RunningServer> => {
  checkPushRootOwn(config)
  const missing = checkRoots(config)
  if (missing.length && !config.allow_missing_roots) throw new RootsError(missing, SERVE_ROOTS_ADVICE)
  for (const m of missing)
    logger.warn({ key: m.key, path: m.path }, `${rootProblemLine(m)}: serving without it until it appears (allow_missing_roots)`)
  const layout = buildLayout(config)
  const htpasswd = loadHtpasswd(config, logger)
  // Certificates before any listener: an unusable CA stops start-up with nothing bound.
  let tls: CertificateRenewer | null = null
  if (config.listen.https) {
    const tlsLogger = logger.child({ sub: 'tls' })
    const settings = tlsSettingsOf(config)
    const material = await prepareTls(settings, tlsLogger)
    const s = material.server
    tlsLogger.info(
      { source: material.source, subject: s.subject, sans: s.sans, not_after: s.notAfter.toISOString(), sha256: s.fingerprint256 },
      'server certificate',
    )
    tls = new CertificateRenewer({ settings, initial: material, logger: tlsLogger })
  }
  // One catalog database for the process (catalog, misses, nodes), closed on stop.
  const db = openCatalogDb(config)
  const catalog = openCatalog(layout, db, logger.child({ sub: 'catalog' }))
  await describeLayout(layout, logger)
  const startedAt = new Date()
  const fileCache = new FileCache()
  const listeners: Listener[] = []
  let sntp: SntpServer | null = null
  let stopPushSweep = (): void => undefined
  const parts: ServerParts = {
    logger,
    metrics,
    db,
    catalog,
    listeners,
    fileCache,
    htpasswd,
    tls,
    ntp: () => (sntp ? { port: sntp.port } : null),
    about: () => aboutServer(listeners, sntp, tls, startedAt),
  }
  const serving = openServing(config, layout, parts)
  // The listeners read the app from this slot on every request; a reload puts another in it.
  const slot: ServedSlot<AppEnv> = { current: { app: serving.app, accessLog: config.log.access } }
  try {
    // Made and checked before anything listens: the catalog watcher and the push routes need it.
    stopPushSweep = await openPushRoot(layout, config, logger)
    sntp = await startTime(config, logger, metrics)
    const onResponse = missRecorder(catalog, logger)
    const handler = (listener: ListenerKind) => requestHandler(slot, { logger, metrics, onResponse, listener })
    if (config.listen.http) listeners.push(await listen('http', config.listen.http, handler('http')))
    if (config.listen.https && tls) {
      const l = await listen('https', config.listen.https, handler('https'), secureContextOptions(tls.current))
      tls.attach(l.server as TlsServer)
      listeners.push(l)
    }
    if (config.listen.push) listeners.push(await listen('push', config.listen.push, handler('push')))
  } catch (err) {
    await Promise.all(listeners.map((l) => closeListener(l, 0)))
    await sntp?.stop()
    stopPushSweep()
    fileCache.close()
    catalog.close()
    throw err
  }
  for (const l of listeners) logger.info({ listener: l.name, url: l.url, writes: writesOn(l.name, config) }, 'listening')
  for (const l of listeners) if (l.name !== 'push') logger.info({ listener: l.name, url: `${l.url}/status` }, 'status page')
  tls?.start()
  const stopHtpasswdWatch = htpasswd?.watch((outcome) => logHtpasswdReload(logger, htpasswd.file, outcome, 'file changed'))
  // Serving starts now; the catalog scan, the watchers and the package tree
  // checks (which stat every package) run beside it.
  const watcher = watchServed(catalog, layout, config, logger)
  const scanned = catalog.scan().catch((err) => logger.error({ err }, 'catalog scan failed'))
  void checkPackageTrees(serving, parts, scanned)
  const state: ServerState = { parts, htpasswd, slot, serving, watcher, retiring: new Set(), closed: false }
  // A reload during the first scan: rows the scan wrote for stores or roots dropped since go too.
  void scanned.then(() => {
    if (state.serving !== serving && !state.closed) catalog.retarget(state.serving.layout.stores.uncached, state.serving.layout.filesRoots)
  })
  let reloading: Promise<unknown> = Promise.resolve()
  return {
    listeners,
    get layout() {
      return state.serving.layout
    },
    catalog,
    scanned: scanned.then(() => undefined),
    watcherReady: watcher.ready,
    tls,
    ntp: sntp ? { host: sntp.host, port: sntp.port } : null,
    get packageTrees() {
      return state.serving.packageTrees
    },
    htpasswd,
    reload: (load) => {
      const next = reloading.then(() => reloadServer(state, load))
      reloading = next.catch(() => undefined)
      return next
    },
    close: async (graceMs = 30_000) => {
      state.closed = true
      await reloading
      tls?.stop()
      stopHtpasswdWatch?.()
      stopPushSweep()
      state.serving.packageTrees.close()
      await Promise.all([...listeners.map((l) => closeListener(l, graceMs)), sntp?.stop()])
      fileCache.close()
      await Promise.all([state.watcher, ...state.retiring].map((w) => w.close()))
      await scanned
      await state.serving.treesChecked
      catalog.close()
    },
  }
}
