/**
 * Keeps the catalog following the disk while operators copy content in.
 * chokidar reports changes; a file is indexed only once its size has been
 * stable for STABLE_MS (awaitWriteFinish), so a half-copied file is never
 * listed. Registry changes are coalesced per repository.
 */
import { watch, type FSWatcher } from 'chokidar'
import { existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import type { Logger } from 'pino'
import { Registry2Store } from '../registry-api/store/registry2.js'
import { OciLayoutStore } from '../registry-api/store/oci-layout.js'
import type { ImageStore } from '../registry-api/store/types.js'
import type { Catalog, FileRootSource } from './index.js'

export const STABLE_MS = 1000
const DEBOUNCE_MS = 200
const ROOT_POLL_MS = 1000

/** The repository a path under `repositories/` belongs to. */
export const repositoryOfPath = (relPath: string): string | undefined => {
  const parts = relPath.split(sep).join('/').split('/')
  const cut = parts.findIndex((p) => p.startsWith('_'))
  const name = (cut < 0 ? parts : parts.slice(0, cut)).join('/')
  return name || undefined
}

export interface CatalogWatcher {
  close(): Promise<void>
  /** Resolves when the watchers have finished their initial crawl. */
  ready: Promise<void>
}

export const watchCatalog = (catalog: Catalog, stores: readonly ImageStore[], fileRoots: readonly FileRootSource[], logger: Logger): CatalogWatcher => {
  const watchers: FSWatcher[] = []
  const timers = new Set<NodeJS.Timeout>()
  const pending = new Map<string, () => Promise<void>>()
  const schedule = (key: string, job: () => Promise<void>): void => {
    if (pending.has(key)) return
    pending.set(key, job)
    const t = setTimeout(() => {
      timers.delete(t)
      pending.delete(key)
      job().catch((err) => logger.warn({ err, key }, 'catalog refresh failed'))
    }, DEBOUNCE_MS)
    timers.add(t)
  }
  const options = {
    ignoreInitial: true,
    persistent: true,
    awaitWriteFinish: { stabilityThreshold: STABLE_MS, pollInterval: 100 },
    // Temporary names used by atomic writers (ours, rsync, registry:2 uploads).
    ignored: (p: string) => /\.tmp(-[0-9a-f]+)?$|\/\.[^/]+\.[A-Za-z0-9]{6}$|\/_uploads(\/|$)/.test(p),
  }
  const readies: Array<Promise<void>> = []
  const track = (w: FSWatcher): FSWatcher => {
    watchers.push(w)
    readies.push(new Promise((r) => w.once('ready', () => r())))
    w.on('error', (err) => logger.warn({ err }, 'watcher error'))
    return w
  }

  for (const store of stores) {
    const inner = (store as { inner?: ImageStore }).inner ?? store
    if (inner instanceof Registry2Store) {
      const repos = join(inner.base, 'repositories')
      const blobs = join(inner.base, 'blobs')
      const onRepoEvent = (path: string): void => {
        const repo = repositoryOfPath(relative(repos, path))
        if (repo) schedule(`${store.label}:${repo}`, () => catalog.refreshRepository(store, repo))
      }
      track(watch(repos, options)).on('all', (_event, path) => onRepoEvent(path))
      track(watch(blobs, { ...options, depth: 3 })).on('all', () => schedule(`${store.label}:incomplete`, () => catalog.refreshIncomplete()))
    } else if (inner instanceof OciLayoutStore) {
      track(watch(join(inner.root, 'index.json'), options)).on('all', () => schedule(`${store.label}:layout`, async () => void (await catalog.scanImages(store))))
    }
  }
  // A root that disappears (moved away, unmounted) loses its watcher; when
  // it is back, it is walked again and watched anew.
  const missingRoots = new Set<FileRootSource>()
  const watchRoot = (root: FileRootSource): FSWatcher => {
    const w = watch(root.path, options)
    w.on('all', (event, path) => {
      if (event === 'add' || event === 'change') schedule(`f:${path}`, () => catalog.fileChanged(root, path))
      else if (event === 'unlink' || event === 'unlinkDir') {
        catalog.fileRemoved(root, path)
        if (event === 'unlinkDir' && path === root.path) missingRoots.add(root)
      }
    })
    return w
  }
  const rootWatchers = new Map<FileRootSource, FSWatcher>()
  for (const root of fileRoots) rootWatchers.set(root, track(watchRoot(root)))
  const revive = setInterval(() => {
    for (const root of [...missingRoots]) {
      if (!existsSync(root.path)) continue
      missingRoots.delete(root)
      const old = rootWatchers.get(root)
      const fresh = watchRoot(root)
      rootWatchers.set(root, fresh)
      watchers.splice(watchers.indexOf(old!), 1, fresh)
      void old?.close()
      catalog.rescanFileRoot(root).catch((err) => logger.warn({ err, root: root.path }, 'rescan failed'))
    }
  }, ROOT_POLL_MS)
  revive.unref()
  return {
    ready: Promise.all(readies).then(() => undefined),
    close: async () => {
      clearInterval(revive)
      for (const t of timers) clearTimeout(t)
      await Promise.all(watchers.map((w) => w.close()))
    },
  }
}
