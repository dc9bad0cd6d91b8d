/**
 * Composition root: configuration → layout → app → listeners.
 */
import type { Logger } from './logger.js'
import { Metrics } from './metrics.js'
import { BUILT_IN_PATHS, createApp } from './app.js'
import { FileCache, PackageTrees, hiddenEntries } from '../repos/index.js'
import { buildLayout, type ServedLayout } from './layout.js'
import { closeListener, listen, requestHandler, type Listener } from './listen.js'
import type { OutpostConfig } from './config.js'

export { loadConfig, ConfigError, checkConfigFile, type OutpostConfig } from './config.js'
export { createLogger, silentLogger, type Logger } from './logger.js'
export { createApp, BUILT_IN_PATHS } from './app.js'
export { buildLayout } from './layout.js'
export { Metrics } from './metrics.js'

export interface RunningServer {
  listeners: Listener[]
  layout: ServedLayout
  /** yum/apt trees under the file roots and their latest check (started in the background). */
  packageTrees: PackageTrees
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
  // A root entry that a built-in endpoint or a longer prefix hides is never served: say so.
  for (const h of await hiddenEntries(layout.filesRoots, BUILT_IN_PATHS)) {
    logger.warn({ prefix: h.prefix, path: h.path, url: h.url, hidden_by: h.hiddenBy }, 'file root entry hidden: it will not be served')
  }
  const fileCache = new FileCache()
  const app = createApp({ layout, logger, metrics, fileCache })
  const handler = requestHandler(app, { logger, metrics })
  const listeners: Listener[] = []
  try {
    if (config.listen.http) listeners.push(await listen('http', config.listen.http, handler))
  } catch (err) {
    await Promise.all(listeners.map((l) => closeListener(l, 0)))
    fileCache.close()
    throw err
  }
  for (const l of listeners) logger.info({ listener: l.name, url: l.url }, 'listening')
  const packageTrees = new PackageTrees({ roots: layout.filesRoots, symlinks: layout.filesSymlinks })
  // Checking trees stats every package: do it beside serving, not before it.
  void packageTrees.check().then(
    (reports) => {
      const log = logger.child({ sub: 'trees' })
      for (const r of reports) {
        const fields = { kind: r.kind, url: r.url, suite: r.suite ?? undefined, packages: r.packages, index_files: r.indexFiles, ms: r.durationMs }
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
    packageTrees,
    close: async (graceMs = 30_000) => {
      packageTrees.close()
      await Promise.all(listeners.map((l) => closeListener(l, graceMs)))
      fileCache.close()
    },
  }
}
