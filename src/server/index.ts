/**
 * Composition root: configuration → layout → certificates → app → listeners.
 */
import { access, opendir } from 'node:fs/promises'
import { constants } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Server as TlsServer } from 'node:tls'
import { CertificateRenewer, prepareTls, secureContextOptions } from '../tls/index.js'
import type { Logger } from './logger.js'
import { Catalog } from '../catalog/index.js'
import { watchCatalog } from '../catalog/watch.js'
import { parseV2Path, type Htpasswd, type HtpasswdReload, type ListenerKind } from '../registry-api/index.js'
import { requestedReference } from '../images/index.js'
import type { ReadinessCheck } from '../nodes/health.js'
import { Metrics } from './metrics.js'
import { BUILT_IN_PATHS, createApp } from './app.js'
import { FileCache, PackageTrees, hiddenEntries } from '../repos/index.js'
import { buildLayout, openCatalog, openCatalogDb, type ServedLayout } from './compose.js'
import { checkPushRootOwn } from './layout.js'
import { closeListener, listen, requestHandler, type Listener } from './listen.js'
import { tlsSettingsOf } from './tls-settings.js'
import { openPushRoot } from './push-root.js'
import { isLoopbackHost, openHtpasswd, type ListenAddress, type OutpostConfig } from './config.js'
import { startSntp, type SntpServer } from '../nodes/index.js'
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
export { checkRoots, folderProblem, bundleProblem, rootProblemLine, RootsError, type RootProblem } from './roots-check.js'
export { VERSION } from './version.js'
export { ListenError, listenAdvice } from './listen-errors.js'

export interface RunningServer {
  listeners: Listener[]
  layout: ServedLayout
  catalog: Catalog
  /** Resolves when the first catalog scan has finished. */
  scanned: Promise<void>
  /** Resolves when the watchers are in place. */
  watcherReady: Promise<void>
  /** The certificate in use and its renewal; null when HTTPS is off. */
  tls: CertificateRenewer | null
  /** The SNTP responder, or null when off or when it could not bind. */
  ntp: { host: string; port: number } | null
  /** yum/apt trees under the file roots and their latest check (started in the background). */
  packageTrees: PackageTrees
  /** The users who may write (registry.auth.htpasswd), or null; `reload()` re-reads the file (SIGHUP). */
  htpasswd: Htpasswd | null
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
        const ns = url.searchParams.get('ns') ?? undefined
        if (parsed.kind === 'manifest')
          catalog.misses.record('image', requestedReference(parsed.name, parsed.reference, ns), {
            ...info,
            detail: { name: parsed.name, ...(ns ? { ns } : {}) },
          })
        else if (parsed.kind === 'blob') catalog.misses.record('blob', requestedReference(parsed.name, parsed.digest, ns), info)
      } else if (route === 'files' || route === 'not-found') {
        catalog.misses.record('file', url.pathname, info)
      }
    } catch (err) {
      logger.warn({ err }, 'could not record a miss')
    }
  }

/** A root is readable when its folder can be listed. */
const readableCheck = (name: string, path: string): ReadinessCheck => ({
  name,
  run: async () => {
    try {
      await access(path, constants.R_OK | constants.X_OK)
      const dir = await opendir(path)
      await dir.close()
      return { ok: true, detail: path }
    } catch (err) {
      return { ok: false, detail: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }
    }
  },
})

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

/** Logs the outcome of re-reading the htpasswd file (on change, or on SIGHUP). */
export const logHtpasswdReload = (logger: Logger, file: string, outcome: HtpasswdReload, cause: string): void => {
  if (outcome.ok) logger.info({ file, users: outcome.users, cause }, 'htpasswd re-read')
  else logger.error({ file, cause, error: outcome.error }, 'htpasswd not re-read: the users read before stay in force')
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
  const readiness: ReadinessCheck[] = [
    ...layout.stores.stores.map((s) => readableCheck(`store ${s.label}`, s.rootDir)),
    ...layout.filesRoots.map((r) => readableCheck(`files ${r.prefix}`, r.path)),
    { name: 'catalog scan', run: () => (catalog.firstScanComplete ? { ok: true } : { ok: false, detail: 'first scan still running' }) },
    {
      name: 'package trees',
      run: () => {
        const bad = catalog.trees().filter((t) => !t.ok)
        return bad.length
          ? { ok: false, detail: bad.map((t) => `${t.kind} ${t.path}: ${t.problems.length} problem(s)`).join('; ') }
          : { ok: true }
      },
    },
    ...(tls ? [{ name: 'certificate', run: () => tls!.readiness() }] : []),
  ]
  for (const store of layout.stores.stores) logger.info({ store: store.label }, 'image store')
  for (const root of layout.filesRoots) logger.info({ prefix: root.prefix, path: root.path }, 'file root')
  if (layout.originFiles.length) logger.info({ files: layout.originFiles, entries: layout.resolver.originCount }, 'upstream name map')
  // Reporting duplicates walks every store: do it beside serving, not before it.
  void layout.stores.duplicates().then(
    (dups) => {
      for (const [name, labels] of dups)
        logger.warn(
          { repository: name, stores: labels, tags_from: labels[0] },
          'repository present in several stores; its tags are merged, a tag in several resolves in the first',
        )
    },
    (err) => logger.warn({ err }, 'could not list repositories'),
  )
  // A root entry that a built-in endpoint or a longer prefix hides is never served: say so.
  for (const h of await hiddenEntries(layout.filesRoots, BUILT_IN_PATHS)) {
    logger.warn({ prefix: h.prefix, path: h.path, url: h.url, hidden_by: h.hiddenBy }, 'file root entry hidden: it will not be served')
  }
  const startedAt = new Date()
  const fileCache = new FileCache()
  const packageTrees = new PackageTrees({ roots: layout.filesRoots, symlinks: layout.filesSymlinks })
  const listeners: Listener[] = []
  let sntp: SntpServer | null = null
  let stopPushSweep = (): void => undefined
  try {
    // Made and checked before anything listens: the catalog watcher and the push routes need it.
    stopPushSweep = await openPushRoot(layout, config, logger)
    sntp = await startTime(config, logger, metrics)
    const app = createApp({
      layout,
      logger,
      metrics,
      config,
      db,
      listeners,
      ntp: () => (sntp ? { port: sntp.port } : null),
      catalog: () => catalog,
      readiness: () => readiness,
      about: () => aboutServer(listeners, sntp, tls, startedAt),
      fileCache,
      packageTrees: () => packageTrees.reports,
      caPem: () => tls?.caPem() ?? null,
      htpasswd,
    })
    const onResponse = missRecorder(catalog, logger)
    const handler = (listener: ListenerKind) => requestHandler(app, { logger, metrics, onResponse, listener })
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
  tls?.start()
  const stopHtpasswdWatch = htpasswd?.watch((outcome) => logHtpasswdReload(logger, htpasswd.file, outcome, 'file changed'))
  // Serving starts now; the catalog scan, the watchers and the package tree
  // checks (which stat every package) run beside it.
  const watcher = watchCatalog(catalog, layout.stores.uncached, layout.filesRoots, logger.child({ sub: 'watch' }))
  const scanned = catalog.scan().catch((err) => logger.error({ err }, 'catalog scan failed'))
  const treesChecked = scanned
    .then(() => packageTrees.check())
    .then(
      (reports) => {
        const log = logger.child({ sub: 'trees' })
        for (const r of reports) {
          catalog.recordTree({
            root: r.dir,
            path: `${r.url}${r.suite ? ` ${r.suite}` : ''}`,
            kind: r.kind,
            packages: r.packages,
            ok: r.ok,
            problems: r.problems.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))),
          })
          const fields = {
            kind: r.kind,
            url: r.url,
            suite: r.suite ?? undefined,
            packages: r.packages,
            index_files: r.indexFiles,
            ms: r.durationMs,
          }
          if (r.ok) log.info(fields, 'package tree ok')
          else log.warn({ ...fields, problems: r.problems.length, first: r.problems.slice(0, 10) }, 'package tree has problems')
          for (const note of r.notes) log.info({ url: r.url, note }, 'package tree not fully checked')
        }
      },
      (err) => {
        if (!packageTrees.closed) logger.warn({ err }, 'package tree check failed')
      },
    )
  return {
    listeners,
    layout,
    catalog,
    scanned: scanned.then(() => undefined),
    watcherReady: watcher.ready,
    tls,
    ntp: sntp ? { host: sntp.host, port: sntp.port } : null,
    packageTrees,
    htpasswd,
    close: async (graceMs = 30_000) => {
      tls?.stop()
      stopHtpasswdWatch?.()
      stopPushSweep()
      packageTrees.close()
      await Promise.all([...listeners.map((l) => closeListener(l, graceMs)), sntp?.stop()])
      fileCache.close()
      await watcher.close()
      await scanned
      await treesChecked
      catalog.close()
    },
  }
}
