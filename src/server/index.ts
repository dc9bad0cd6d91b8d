/**
 * Composition root: configuration → layout → app → listeners.
 */
import type { Logger } from './logger.js'
import { Metrics } from './metrics.js'
import { createApp } from './app.js'
import { buildLayout, type ServedLayout } from './layout.js'
import { closeListener, listen, requestHandler, type Listener } from './listen.js'
import { ConfigError, type ListenAddress, type OutpostConfig } from './config.js'
import { openDb, type Db } from '../catalog/db.js'
import { startSntp, type SntpServer } from '../nodes/index.js'

export { loadConfig, ConfigError, checkConfigFile, type OutpostConfig } from './config.js'
export { createLogger, silentLogger, type Logger } from './logger.js'
export { createApp } from './app.js'
export { buildLayout } from './layout.js'
export { Metrics } from './metrics.js'

export interface RunningServer {
  listeners: Listener[]
  layout: ServedLayout
  /** The SNTP responder, or null when off or when it could not bind. */
  ntp: { host: string; port: number } | null
  /** Graceful stop: stop accepting, let in-flight requests finish. */
  close(graceMs?: number): Promise<void>
}

/** Bind errors that turn the time service off instead of stopping start-up. */
const NTP_BIND_ERRORS = new Set(['EACCES', 'EADDRINUSE', 'EADDRNOTAVAIL', 'EPERM'])

const hostPort = (a: ListenAddress): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)

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
      { host: addr.host, port: addr.port, stratum: config.ntp.stratum, refId: config.ntp.ref_id, onPacket: (outcome) => metrics.ntpPackets.inc({ outcome }) },
      logger,
    )
    logger.info({ listener: 'ntp', address: hostPort({ host: sntp.host, port: sntp.port }), stratum: config.ntp.stratum, ref_id: config.ntp.ref_id }, 'serving time (SNTP, UDP)')
    return sntp
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? ''
    if (!NTP_BIND_ERRORS.has(code)) throw err
    logger.warn(
      { err, listener: 'ntp', address: hostPort(addr) },
      `SNTP is off: cannot bind UDP ${hostPort(addr)} (${code}); nodes cannot take time from Outpost. Free the port (another chronyd/ntpd?), run with CAP_NET_BIND_SERVICE, or set listen.ntp`,
    )
    return null
  }
}

export const startServer = async (config: OutpostConfig, logger: Logger, metrics = new Metrics()): Promise<RunningServer> => {
  const layout = buildLayout(config)
  for (const store of layout.stores.stores) logger.info({ store: store.label }, 'image store')
  for (const root of layout.filesRoots) logger.info({ prefix: root.prefix, path: root.path }, 'file root')
  if (layout.originFiles.length) logger.info({ files: layout.originFiles, entries: layout.resolver.originCount }, 'upstream name map')
  // Reporting duplicates walks every store: do it beside serving, not before it.
  void layout.stores.duplicates().then(
    (dups) => {
      for (const [name, labels] of dups) logger.warn({ repository: name, stores: labels, served_from: labels[0] }, 'repository present in several stores; the first is served')
    },
    (err) => logger.warn({ err }, 'could not list repositories'),
  )
  // One catalog database for the process, closed on stop.
  let db: Db
  try {
    db = openDb(config.data_dir)
  } catch (err) {
    throw new ConfigError(`data_dir: cannot open the catalog database under ${config.data_dir}: ${(err as Error).message}`)
  }
  const listeners: Listener[] = []
  let sntp: SntpServer | null = null
  try {
    sntp = await startTime(config, logger, metrics)
    const app = createApp({ layout, logger, metrics, config, db, listeners, ntp: () => (sntp ? { port: sntp.port } : null) })
    const handler = requestHandler(app, { logger, metrics })
    if (config.listen.http) listeners.push(await listen('http', config.listen.http, handler))
  } catch (err) {
    await Promise.all(listeners.map((l) => closeListener(l, 0)))
    await sntp?.stop()
    db.close()
    throw err
  }
  for (const l of listeners) logger.info({ listener: l.name, url: l.url }, 'listening')
  return {
    listeners,
    layout,
    ntp: sntp ? { host: sntp.host, port: sntp.port } : null,
    close: async (graceMs = 30_000) => {
      await Promise.all([...listeners.map((l) => closeListener(l, graceMs)), sntp?.stop()])
      db.close()
    },
  }
}
