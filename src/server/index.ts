/**
 * Composition root: configuration → layout → certificates → app → listeners.
 */
import type { Server as TlsServer } from 'node:tls'
import { CertificateRenewer, prepareTls, secureContextOptions } from '../tls/index.js'
import type { Logger } from './logger.js'
import { Metrics } from './metrics.js'
import { createApp } from './app.js'
import { buildLayout, type ServedLayout } from './layout.js'
import { closeListener, listen, requestHandler, type Listener } from './listen.js'
import type { OutpostConfig } from './config.js'
import { tlsSettingsOf } from './tls-settings.js'

export { loadConfig, ConfigError, checkConfigFile, type OutpostConfig } from './config.js'
export { createLogger, silentLogger, type Logger } from './logger.js'
export { createApp } from './app.js'
export { buildLayout } from './layout.js'
export { Metrics } from './metrics.js'
export { tlsSettingsOf } from './tls-settings.js'

export interface RunningServer {
  listeners: Listener[]
  layout: ServedLayout
  /** The certificate in use and its renewal; null when HTTPS is off. */
  tls: CertificateRenewer | null
  /** Graceful stop: stop accepting, let in-flight requests finish. */
  close(graceMs?: number): Promise<void>
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
  const app = createApp({ layout, logger, metrics, caPem: () => tls?.caPem() ?? null })
  const handler = requestHandler(app, { logger, metrics })
  const listeners: Listener[] = []
  try {
    if (config.listen.http) listeners.push(await listen('http', config.listen.http, handler))
    if (config.listen.https && tls) {
      const l = await listen('https', config.listen.https, handler, secureContextOptions(tls.current))
      tls.attach(l.server as TlsServer)
      listeners.push(l)
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => closeListener(l, 0)))
    throw err
  }
  for (const l of listeners) logger.info({ listener: l.name, url: l.url }, 'listening')
  tls?.start()
  return {
    listeners,
    layout,
    tls,
    close: async (graceMs = 30_000) => {
      tls?.stop()
      await Promise.all(listeners.map((l) => closeListener(l, graceMs)))
    },
  }
}
