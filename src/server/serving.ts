/**
 * What one configuration serves, beside what the process keeps for its whole
 * life (listeners, catalog database, certificates, SNTP): the layout, the app
 * built over it, its readiness checks and its package trees. Start-up makes
 * the first; a reload (SIGHUP) makes another from the re-read configuration
 * and swaps it in (see reload.ts).
 */
import { access, opendir } from 'node:fs/promises'
import { constants } from 'node:fs'
import type { CertificateRenewer } from '../tls/index.js'
import type { Catalog, Db } from '../catalog/index.js'
import { watchCatalog, type CatalogWatcher } from '../catalog/watch.js'
import { spaceProblem, spaceProblemLine } from '../catalog/space.js'
import type { CredentialCheck } from '../registry-api/index.js'
import type { ReadinessCheck } from '../nodes/health.js'
import { imagesCheck } from '../bundle/readiness.js'
import { RequirementsMonitor, bundleContent } from '../bundle/index.js'
import { NodeStore } from '../nodes/index.js'
import { FileCache, PackageTrees, hiddenEntries, type TreeReport } from '../repos/index.js'
import { setSendfile } from '../http/index.js'
import type { Hono } from 'hono'
import { BUILT_IN_PATHS, createApp, type AppEnv } from './app.js'
import type { OutpostConfig } from './config.js'
import type { ServedLayout } from './layout.js'
import type { Listener } from './listen.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'

/** What every configuration's app shares: made once at start-up. */
export interface ServerParts {
  logger: Logger
  metrics: Metrics
  db: Db
  catalog: Catalog
  listeners: readonly Listener[]
  fileCache: FileCache
  htpasswd: CredentialCheck | null
  tls: CertificateRenewer | null
  ntp: () => { port: number } | null
  /** What `/readyz?verbose` says about the running server (version, listeners, certificate). */
  about?: () => Record<string, unknown>
}

export interface Serving {
  config: OutpostConfig
  layout: ServedLayout
  app: Hono<AppEnv>
  readiness: readonly ReadinessCheck[]
  packageTrees: PackageTrees
  /** Resolves when this configuration's package trees have been checked and recorded. */
  treesChecked: Promise<void>
  /** The requirements of this configuration and their latest report. */
  requirements: RequirementsMonitor
}

/** The catalog's watcher over a layout, bounded as the configuration says (`catalog.*`). */
export const watchServed = (catalog: Catalog, layout: ServedLayout, config: OutpostConfig, logger: Logger): CatalogWatcher =>
  watchCatalog(catalog, layout.stores.uncached, layout.filesRoots, logger.child({ sub: 'watch' }), {
    maxWatches: config.catalog.max_watches,
    rescanMs: config.catalog.rescan_interval_s * 1000,
  })

/** Why a folder cannot be listed (`EACCES`), or null. */
const listProblem = async (path: string): Promise<string | null> => {
  try {
    await access(path, constants.R_OK | constants.X_OK)
    const dir = await opendir(path)
    await dir.close()
    return null
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message
  }
}

/**
 * A root is readable when its folder can be listed, and each of `more` (a
 * store's blobs folder) that exists (an empty registry tree has none yet).
 */
export const readableCheck = (name: string, path: string, more: readonly string[] = []): ReadinessCheck => ({
  name,
  run: async () => {
    const problem = await listProblem(path)
    if (problem) return { ok: false, detail: `${path}: ${problem}` }
    for (const p of more.filter((m) => m !== path)) {
      const inner = await listProblem(p)
      if (inner && inner !== 'ENOENT') return { ok: false, detail: `${p}: ${inner}` }
    }
    return { ok: true, detail: path }
  },
})

/** data_dir takes writes: not read-only, not closed to Outpost's user, not full. */
export const dataDirCheck = (dir: string): ReadinessCheck => ({
  name: 'data_dir',
  run: async () => {
    const problem = await spaceProblem(dir)
    return problem
      ? { ok: false, detail: `${spaceProblemLine(dir, problem)}: check-ins, the catalog and the ledger of misses cannot be written` }
      : { ok: true, detail: dir }
  },
})

/** What `requirements:` asks for, checked against this layout (src/bundle/). */
const requirementsOf = (config: OutpostConfig, layout: ServedLayout, parts: ServerParts): RequirementsMonitor => {
  const nodes = new NodeStore(parts.db)
  return new RequirementsMonitor({
    requirements: config.requirements,
    catalog: parts.catalog,
    content: () =>
      bundleContent({
        stores: layout.stores,
        resolver: layout.resolver,
        filesRoots: layout.filesRoots,
        symlinks: layout.filesSymlinks,
        reserved: BUILT_IN_PATHS,
      }),
    nodes: () => nodes.list().map((n) => ({ hostname: n.report.hostname, arch: n.report.arch })),
  })
}

const readinessOf = (
  config: OutpostConfig,
  layout: ServedLayout,
  parts: ServerParts,
  requirements: RequirementsMonitor,
): ReadinessCheck[] => {
  const { catalog, tls } = parts
  return [
    ...layout.stores.stores.map((s) => readableCheck(`store ${s.label}`, s.rootDir, s.readFolders)),
    ...layout.filesRoots.map((r) => readableCheck(`files ${r.prefix}`, r.path)),
    dataDirCheck(config.data_dir),
    { name: 'catalog scan', run: () => (catalog.firstScanComplete ? { ok: true } : { ok: false, detail: 'first scan still running' }) },
    {
      name: 'catalog',
      run: () => {
        const behind = catalog.behind
        return behind
          ? {
              ok: false,
              detail: `behind the disk since ${behind.since}: a write failed (${behind.error}); everything is scanned again once data_dir takes writes`,
            }
          : { ok: true }
      },
    },
    {
      name: 'package trees',
      run: () => {
        const bad = catalog.trees().filter((t) => !t.ok)
        return bad.length
          ? { ok: false, detail: bad.map((t) => `${t.kind} ${t.path}: ${t.problems.length} problem(s)`).join('; ') }
          : { ok: true }
      },
    },
    ...(tls ? [{ name: 'certificate', run: () => tls.readiness() }] : []),
    imagesCheck(catalog),
    ...requirements.checks(),
  ]
}

/** The app and readiness checks of one configuration; its package trees are checked by `checkPackageTrees`. */
export const openServing = (config: OutpostConfig, layout: ServedLayout, parts: ServerParts): Serving => {
  const packageTrees = new PackageTrees({ roots: layout.filesRoots, symlinks: layout.filesSymlinks })
  const bodies = setSendfile(config.server.sendfile)
  if (bodies.changed) parts.logger.info({ sendfile: bodies.sendfile, mode: bodies.mode }, bodies.detail)
  const requirements = requirementsOf(config, layout, parts)
  const readiness = readinessOf(config, layout, parts, requirements)
  const app = createApp({
    layout,
    logger: parts.logger,
    metrics: parts.metrics,
    config,
    db: parts.db,
    listeners: parts.listeners,
    ntp: parts.ntp,
    catalog: () => parts.catalog,
    readiness: () => readiness,
    about: parts.about,
    fileCache: parts.fileCache,
    packageTrees: () => packageTrees.reports,
    caPem: () => parts.tls?.caPem() ?? null,
    htpasswd: parts.htpasswd,
    requirements,
  })
  return { config, layout, app, readiness, packageTrees, treesChecked: Promise.resolve(), requirements }
}

/**
 * Logs what a layout serves (with `listing`): stores, file roots, name map;
 * and what is wrong with it: repositories in several stores (in the
 * background), hidden root entries.
 */
export const describeLayout = async (layout: ServedLayout, logger: Logger, listing = true): Promise<void> => {
  if (listing) {
    for (const store of layout.stores.stores) logger.info({ store: store.label }, 'image store')
    for (const root of layout.filesRoots) logger.info({ prefix: root.prefix, path: root.path }, 'file root')
  }
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
}

const treePath = (r: TreeReport): string => `${r.url}${r.suite ? ` ${r.suite}` : ''}`

/** Checks the package trees of a configuration once `after` resolves, records them in the catalog and logs them. */
export const checkPackageTrees = (serving: Serving, parts: ServerParts, after: Promise<unknown>): Promise<void> => {
  const { catalog, logger } = parts
  const { packageTrees } = serving
  serving.treesChecked = after
    .then(() => packageTrees.check())
    .then(
      (reports) => {
        const log = logger.child({ sub: 'trees' })
        if (packageTrees.closed) return
        for (const r of reports) {
          catalog.recordTree({
            root: r.dir,
            path: treePath(r),
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
        // Trees of roots no longer served (or no longer trees) leave the catalog and /readyz.
        catalog.retainTrees(reports.map((r) => ({ root: r.dir, path: treePath(r) })))
      },
      (err) => {
        if (!packageTrees.closed) logger.warn({ err }, 'package tree check failed')
      },
    )
  return serving.treesChecked
}
