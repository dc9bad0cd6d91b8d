/**
 * Reload (SIGHUP, `systemctl reload outpost`): the configuration file and the
 * roots are read again and what can change without dropping a connection is
 * applied: image stores and file roots, name maps and mappings, the log level
 * and access lines, node thresholds, certificates (names, lifetimes, files),
 * the htpasswd users. A new layout and app are built beside the running ones
 * and put in the listeners' slot in one assignment: requests in flight finish
 * on what they started with.
 *
 * A re-read configuration that is invalid, that names a root that cannot be
 * read, or that changes a key only a restart can apply (a listener address,
 * data_dir, …) is refused as a whole: the server keeps the configuration it
 * had, and says why. Either way the htpasswd file is re-read and the
 * certificates checked, as every SIGHUP did before reloads.
 */
import { access, opendir } from 'node:fs/promises'
import { constants } from 'node:fs'
import { resolve, sep } from 'node:path'
import type { HtpasswdReload } from '../registry-api/index.js'
import { rootLabel } from '../catalog/index.js'
import type { CatalogWatcher } from '../catalog/watch.js'
import { ConfigError, type ConfigLoadResult, type ListenAddress, type OutpostConfig } from './config.js'
import { CONFIG_KEYS } from './config-keys.js'
import { buildLayout, type ServedLayout } from './layout.js'
import type { ImageStore } from '../images/index.js'
import type { ServedSlot } from './listen.js'
import type { AppEnv } from './app.js'
import type { Logger } from './logger.js'
import { checkPackageTrees, describeLayout, openServing, watchServed, type ServerParts, type Serving } from './serving.js'
import { tlsSettingsOf } from './tls-settings.js'
import type { Htpasswd } from '../registry-api/index.js'

/** What a running server keeps that a reload replaces. */
export interface ServerState {
  parts: ServerParts
  htpasswd: Htpasswd | null
  slot: ServedSlot<AppEnv>
  serving: Serving
  watcher: CatalogWatcher
  /** Watchers a reload replaced, closed once their successor is in place (or on stop). */
  retiring: Set<CatalogWatcher>
  closed: boolean
}

export interface ConfigChange {
  key: string
  from: unknown
  to: unknown
}

export interface ReloadResult {
  /** The re-read configuration is the one served now. */
  applied: boolean
  /** Keys whose value differs from the configuration served before (applied or not). */
  changed: string[]
  /** Why the configuration was not applied. */
  refused?: string
}

/** Logs the outcome of re-reading the htpasswd file (on change, or on SIGHUP). */
export const logHtpasswdReload = (logger: Logger, file: string, outcome: HtpasswdReload, cause: string): void => {
  if (outcome.ok) logger.info({ file, users: outcome.users, cause }, 'htpasswd re-read')
  else logger.error({ file, cause, error: outcome.error }, 'htpasswd not re-read: the users read before stay in force')
}

const valueAt = (config: OutpostConfig, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), config)

/** The keys whose values differ between two configurations, in schema order. */
export const configChanges = (before: OutpostConfig, after: OutpostConfig): ConfigChange[] =>
  CONFIG_KEYS.flatMap(({ name, path }) => {
    const from = valueAt(before, path)
    const to = valueAt(after, path)
    return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ key: name, from, to }]
  })

/** Why a key's change needs a restart, or null when a reload applies it. */
export const restartReason = (key: string): string | null => {
  if (key.startsWith('listen.')) return 'a listener address change needs a restart'
  if (key === 'data_dir') return 'the catalog database and certificates stay in data_dir until a restart'
  if (key === 'registry.push_root' || key === 'registry.upload_ttl_s')
    return 'the push root and its uploads in progress change with a restart'
  if (key === 'registry.auth.htpasswd')
    return 'a different htpasswd file needs a restart (the users of the same file are re-read on every reload)'
  if (key === 'log.format') return 'the log format changes with a restart'
  if (key.startsWith('ntp.')) return "the SNTP responder's settings change with a restart"
  return null
}

const isAddress = (v: unknown): v is ListenAddress => !!v && typeof v === 'object' && 'host' in v && 'port' in v

/** A value as a refusal shows it: an address as `host:port`, off for none. */
const shown = (v: unknown): string => {
  if (v === null || v === undefined) return 'off'
  if (isAddress(v)) return v.host.includes(':') ? `[${v.host}]:${v.port}` : `${v.host}:${v.port}`
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** The refusal for changes a reload cannot apply, or null when it can apply them all. */
export const restartNeeded = (changes: readonly ConfigChange[]): string | null => {
  const lines = changes.flatMap((c) => {
    const why = restartReason(c.key)
    return why ? [`${c.key} changed from ${shown(c.from)} to ${shown(c.to)}: ${why}`] : []
  })
  return lines.length ? `${lines.join('; ')} (systemctl restart outpost)` : null
}

/** The key a root of the layout comes from, for messages. */
const keyOfRoot = (config: OutpostConfig, path: string): string => {
  if (config.bundle && (path + sep).startsWith(resolve(config.bundle) + sep)) return 'bundle'
  if (config.registry.roots.includes(path)) return 'registry.roots'
  if (config.registry.oci_layouts.some((l) => l.path === path)) return 'registry.oci_layouts'
  return 'files.roots'
}

const canList = async (path: string): Promise<string | null> => {
  try {
    await access(path, constants.R_OK | constants.X_OK)
    await (await opendir(path)).close()
    return null
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message
  }
}

/** A store as a reload compares them: its label, and the repository name an OCI layout gives its plain tags. */
const storeKey = (s: ImageStore): string => ('name' in s && typeof s.name === 'string' ? `${s.label} ${s.name}` : s.label)
const storeKeys = (layout: ServedLayout): Set<string> => new Set(layout.stores.uncached.map(storeKey))
const rootLabels = (layout: ServedLayout): Set<string> => new Set(layout.filesRoots.map(rootLabel))

/** Roots the new layout adds that cannot be listed: a ConfigError naming the key and path (unless allow_missing_roots). */
const checkAddedRoots = async (before: ServedLayout, after: ServedLayout, config: OutpostConfig): Promise<void> => {
  // As at start-up: with allow_missing_roots a root is served once it appears.
  if (config.allow_missing_roots) return
  const stores = storeKeys(before)
  const roots = rootLabels(before)
  const added = [
    ...after.stores.uncached.filter((s) => !stores.has(storeKey(s))).map((s) => s.rootDir),
    ...after.filesRoots.filter((r) => !roots.has(rootLabel(r))).map((r) => r.path),
  ]
  const problems: string[] = []
  for (const path of added) {
    const code = await canList(path)
    if (code) problems.push(`${keyOfRoot(config, path)}: ${path} cannot be read (${code})`)
  }
  if (problems.length) throw new ConfigError(problems.join('; '))
}

const sameSet = (a: Set<string>, b: Set<string>): boolean => a.size === b.size && [...a].every((x) => b.has(x))

/** Puts a new configuration in service: the app, the level, the catalog's sources and watcher, the certificate settings. */
const apply = (state: ServerState, config: OutpostConfig, layout: ServedLayout, log: Logger): void => {
  const { parts } = state
  const before = state.serving
  const serving = openServing(config, layout, parts)
  state.slot.current = { app: serving.app, accessLog: config.log.access }
  state.serving = serving
  parts.logger.level = config.log_level
  parts.tls?.useSettings(tlsSettingsOf(config))
  before.packageTrees.close()

  const oldStores = storeKeys(before.layout)
  const oldRoots = rootLabels(before.layout)
  const newStores = storeKeys(layout)
  for (const s of layout.stores.uncached) if (!oldStores.has(storeKey(s))) log.info({ store: s.label }, 'image store added')
  for (const s of before.layout.stores.uncached) if (!newStores.has(storeKey(s))) log.info({ store: s.label }, 'image store removed')
  for (const r of layout.filesRoots) if (!oldRoots.has(rootLabel(r))) log.info({ prefix: r.prefix, path: r.path }, 'file root added')
  for (const r of before.layout.filesRoots)
    if (!rootLabels(layout).has(rootLabel(r))) log.info({ prefix: r.prefix, path: r.path }, 'file root removed')

  const { catalog } = parts
  catalog.retarget(layout.stores.uncached, layout.filesRoots, layout.filesSymlinks)
  const scans: Array<Promise<unknown>> = []
  // Another symlink rule: every root is walked again under it.
  const linksChanged = before.layout.filesSymlinks !== layout.filesSymlinks
  const watchChanged = JSON.stringify(before.config.catalog) !== JSON.stringify(config.catalog)
  if (!sameSet(oldStores, newStores) || !sameSet(oldRoots, rootLabels(layout)) || linksChanged || watchChanged) {
    // The new watcher is in place before the old one stops, so no change falls between them.
    const previous = state.watcher
    state.watcher = watchServed(catalog, layout, config, parts.logger)
    state.retiring.add(previous)
    void state.watcher.ready.then(() => (state.retiring.delete(previous) ? previous.close() : undefined))
    const scanLog = (what: Record<string, string>) => (err: unknown) => log.warn({ err, ...what }, 'scan of a new root failed')
    for (const s of layout.stores.uncached)
      if (!oldStores.has(storeKey(s))) scans.push(catalog.scanImages(s).catch(scanLog({ store: s.label })))
    for (const r of layout.filesRoots)
      if (!oldRoots.has(rootLabel(r)) || linksChanged) scans.push(catalog.rescanFileRoot(r).catch(scanLog({ root: r.path })))
  }
  void checkPackageTrees(serving, parts, Promise.all([before.treesChecked, ...scans]))
  if (layout.originFiles.length) log.info({ files: layout.originFiles, entries: layout.resolver.originCount }, 'upstream name map')
  void describeLayout(layout, log, false).catch((err) => log.warn({ err }, 'could not describe the file roots'))
}

/** What every SIGHUP does, reload or not: re-read the htpasswd users, check the certificates now. */
const recheck = (state: ServerState, log: Logger): void => {
  const { htpasswd } = state
  if (htpasswd) logHtpasswdReload(log, htpasswd.file, htpasswd.reload(), 'SIGHUP')
  const tls = state.parts.tls
  if (tls) void tls.check().then((result) => log.info({ signal: 'SIGHUP', result }, 'certificate check'))
}

/**
 * Re-reads the configuration with `load` and applies it, or refuses it and
 * keeps the one served (see the top of this file). Never throws.
 */
export const reloadServer = async (state: ServerState, load: () => ConfigLoadResult): Promise<ReloadResult> => {
  const log = state.parts.logger.child({ sub: 'reload' })
  if (state.closed) return { applied: false, changed: [], refused: 'the server is stopping' }
  const before = state.serving.config
  let changes: ConfigChange[] = []
  const refuse = (why: string): ReloadResult => {
    log.error(`configuration not reloaded: ${why}; still serving the configuration read before`)
    return { applied: false, changed: changes.map((c) => c.key), refused: why }
  }
  let result: ReloadResult
  try {
    const { config, warnings } = load()
    for (const w of warnings) log.warn(w)
    changes = configChanges(before, config)
    const restart = restartNeeded(changes)
    if (restart) result = refuse(restart)
    else {
      const layout = buildLayout(config, { push: state.serving.layout.stores.push?.store })
      await checkAddedRoots(state.serving.layout, layout, config)
      if (state.closed) return { applied: false, changed: changes.map((c) => c.key), refused: 'the server is stopping' }
      apply(state, config, layout, log)
      for (const c of changes) log.info({ key: c.key, from: c.from, to: c.to }, 'setting changed')
      log.info(
        { changed: changes.map((c) => c.key), source: config.source },
        changes.length ? 'configuration reloaded' : 'configuration reloaded: no setting changed; roots and name maps read again',
      )
      result = { applied: true, changed: changes.map((c) => c.key) }
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) log.error({ err }, 'reload failed')
    result = refuse(err instanceof ConfigError ? err.message : `unexpected error: ${(err as Error).message}`)
  }
  recheck(state, log)
  return result
}
