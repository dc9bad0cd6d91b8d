/**
 * Keeps the catalog following the disk while operators copy content in.
 *
 * Folders are watched one fs.watch each (dir-watch.ts): file roots whole,
 * image stores where their watch spec says (a registry:2 tree only where
 * tags live, changes coalesced per repository). A store that keeps its
 * whole listing in one file (an OCI layout's index.json) is watched with
 * chokidar on that file.
 * Changes to files arrive as their folders' events; a file is indexed once
 * its size and mtime have held still for STABLE_MS, so a half-copied file
 * is never listed. Symlinks in file roots are followed as the file server
 * follows them (`files.symlinks`, links.ts).
 *
 * The folder watches of all stores and roots together are bounded
 * (`catalog.max_watches`, and the kernel's fs.inotify.max_user_watches). A
 * store or root with a folder left unwatched is scanned again every
 * `catalog.rescan_interval_s` instead; the first refusal is logged.
 *
 * After a catalog write failed (data_dir full or read-only), the poll asks
 * the catalog to catch up every few seconds: once data_dir takes writes
 * again, everything is scanned again.
 */
import { watch, type FSWatcher } from 'chokidar'
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { ImageStore, WatchChange } from '../images/index.js'
import type { Catalog, FileRootSource } from './index.js'
import { DirWatcher, WatchBudget, type BudgetLimit } from './dir-watch.js'

export const STABLE_MS = 1000
const DEBOUNCE_MS = 200
const POLL_MS = 1000
/** How often a catalog that is behind checks whether data_dir takes writes again. */
const CATCH_UP_MS = 2000

/** Default bound on folder watches (`catalog.max_watches`). */
export const DEFAULT_MAX_WATCHES = 16_384
/** Default interval of the rescans that stand in for missing watches (`catalog.rescan_interval_s`). */
export const DEFAULT_RESCAN_MS = 60_000

export interface WatchOptions {
  /** At most this many folder watches over every store and root. */
  maxWatches?: number
  /** A store or root with unwatched folders is scanned again this often. */
  rescanMs?: number
}

/** Temporary names of atomic writers (ours, rsync, curl -o …part). */
export const isTemporaryName = (name: string): boolean => /\.tmp(-[0-9a-f]+)?$|^\.[^.].*\.[A-Za-z0-9]{6}$|\.part$/.test(name)

export interface CatalogWatcher {
  close(): Promise<void>
  /** Resolves when the watchers have finished their initial crawl. */
  ready: Promise<void>
  /** Folder watches held now. */
  readonly watches: number
  /** Stores and roots scanned periodically because some of their folders are not watched. */
  readonly rescanned: number
}

const limitMessage = (why: BudgetLimit, rescanS: number): string =>
  why.kind === 'bound'
    ? `folder watch bound reached (catalog.max_watches: ${why.limit}): stores and roots with folders left unwatched are scanned again every ${rescanS} s instead; raise catalog.max_watches to watch them all`
    : `the kernel refused another folder watch after ${why.watches} (${why.code}: see fs.inotify.max_user_watches and the open files limit): stores and roots with folders left unwatched are scanned again every ${rescanS} s instead`

export const watchCatalog = (
  catalog: Catalog,
  stores: readonly ImageStore[],
  fileRoots: readonly FileRootSource[],
  logger: Logger,
  options: WatchOptions = {},
): CatalogWatcher => {
  const rescanMs = options.rescanMs ?? DEFAULT_RESCAN_MS
  const budget = new WatchBudget(options.maxWatches ?? DEFAULT_MAX_WATCHES, (why) =>
    logger.warn({ max_watches: budget.limit, ...why }, limitMessage(why, Math.round(rescanMs / 1000))),
  )
  const rescanStores = new Set<ImageStore>()
  const rescanRoots = new Set<FileRootSource>()
  const watchers: FSWatcher[] = []
  const timers = new Set<NodeJS.Timeout>()
  const later = (ms: number, job: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t)
      job()
    }, ms)
    timers.add(t)
  }
  const pending = new Set<string>()
  const schedule = (key: string, job: () => Promise<void>): void => {
    if (pending.has(key)) return
    pending.add(key)
    later(DEBOUNCE_MS, () => {
      pending.delete(key)
      job().catch((err) => logger.warn({ err, key }, 'catalog refresh failed'))
    })
  }
  const readies: Array<Promise<void>> = []
  const dirWatchers: DirWatcher[] = []
  const track = (w: FSWatcher): FSWatcher => {
    watchers.push(w)
    readies.push(new Promise((r) => w.once('ready', () => r())))
    w.on('error', (err) => logger.warn({ err }, 'watcher error'))
    return w
  }

  // Files settle before they are indexed: seen twice with the same size and mtime.
  const settling = new Map<string, string>()
  const settle = (path: string, onStable: () => void, onGone: () => void): void => {
    if (settling.has(path)) return
    settling.set(path, '')
    const check = (): void => {
      stat(path).then(
        (st) => {
          if (!st.isFile()) {
            // A folder, or a link to one: the catalog decides (a link the rule refuses leaves the list).
            settling.delete(path)
            onStable()
            return
          }
          const sig = `${st.size}:${st.mtimeMs}`
          if (settling.get(path) === sig) {
            settling.delete(path)
            onStable()
          } else {
            settling.set(path, sig)
            later(STABLE_MS, check)
          }
        },
        () => {
          settling.delete(path)
          onGone()
        },
      )
    }
    // First look soon after the event, then again STABLE_MS later.
    later(100, check)
  }

  const onStoreChange = (store: ImageStore, change: WatchChange | undefined): void => {
    if (!change) return
    if (change.kind === 'repository') schedule(`${store.label}:${change.name}`, () => catalog.refreshRepository(store, change.name))
    else if (change.kind === 'under')
      schedule(`${store.label}:new:${change.prefix}`, () => catalog.refreshRepositoriesUnder(store, change.prefix))
    else schedule(`${store.label}:all`, async () => void (await catalog.scanImages(store)))
  }
  for (const store of stores) {
    const spec = store.watchSpec()
    if (spec.kind === 'tree') {
      // Blobs need no watch: a tag whose manifest blob is not complete yet is
      // looked at again by the poll below until it is.
      const w = new DirWatcher(
        spec.dir,
        {
          onChange: (dir, name) => onStoreChange(store, spec.changeAt(join(dir, name), false)),
          onNewDir: (dir) => onStoreChange(store, spec.changeAt(dir, true)),
          onRootGone: () => logger.warn({ store: store.label, dir: spec.dir }, 'watched store folder is gone'),
          onError: (err) => logger.warn({ err, store: store.label }, 'watcher error'),
          onIncomplete: () => rescanStores.add(store),
        },
        spec.skip,
        null,
        budget,
      )
      readies.push(w.start())
      dirWatchers.push(w)
    } else {
      track(watch(spec.path, { ignoreInitial: true })).on('all', () => onStoreChange(store, { kind: 'all' }))
    }
  }

  // File roots: one fs.watch per folder (see dir-watch.ts). A root that
  // disappears (moved away, unmounted) is walked again and watched anew
  // when it is back.
  const missingRoots = new Set<FileRootSource>()
  const watchRoot = (root: FileRootSource): DirWatcher => {
    const w: DirWatcher = new DirWatcher(
      root.path,
      {
        onChange: (dir, name) => {
          if (isTemporaryName(name)) return
          const path = join(dir, name)
          settle(
            path,
            () => void catalog.fileChanged(root, path),
            () => catalog.fileRemoved(root, path),
          )
        },
        onNewDir: (dir) => schedule(`d:${dir}`, () => catalog.rescanFileRoot(root, dir).then(() => undefined)),
        onRootGone: () => {
          missingRoots.add(root)
          w.close()
        },
        onError: (err) => logger.warn({ err, root: root.path }, 'watcher error'),
        onIncomplete: () => rescanRoots.add(root),
      },
      undefined,
      catalog.symlinkPolicy,
      budget,
    )
    readies.push(w.start())
    return w
  }
  const rootWatchers = new Map<FileRootSource, DirWatcher>()
  for (const root of fileRoots) rootWatchers.set(root, watchRoot(root))
  let lastCatchUp = 0
  const poll = setInterval(() => {
    for (const root of [...missingRoots]) {
      if (!existsSync(root.path)) continue
      missingRoots.delete(root)
      rootWatchers.get(root)?.close()
      rootWatchers.set(root, watchRoot(root))
      catalog.rescanFileRoot(root).catch((err) => logger.warn({ err, root: root.path }, 'rescan failed'))
    }
    // Tags whose manifest was still arriving get another look.
    void catalog.refreshIncomplete().catch(() => {})
    // A failed write: scan everything again once data_dir takes writes.
    if (catalog.behind && Date.now() - lastCatchUp >= CATCH_UP_MS) {
      lastCatchUp = Date.now()
      void catalog.catchUp().catch((err) => logger.warn({ err }, 'catalog catch-up failed'))
    }
  }, POLL_MS)
  poll.unref()
  // What the watches do not cover is scanned again, one pass at a time.
  let rescanning = false
  const rescan = setInterval(() => {
    if (rescanning || (rescanStores.size === 0 && rescanRoots.size === 0)) return
    rescanning = true
    void (async () => {
      for (const store of [...rescanStores])
        await catalog.scanImages(store).catch((err) => logger.warn({ err, store: store.label }, 'rescan failed'))
      for (const root of [...rescanRoots])
        await catalog.rescanFileRoot(root).catch((err) => logger.warn({ err, root: root.path }, 'rescan failed'))
    })().finally(() => (rescanning = false))
  }, rescanMs)
  rescan.unref()
  return {
    ready: Promise.all(readies).then(() => undefined),
    get watches() {
      return budget.watches
    },
    get rescanned() {
      return rescanStores.size + rescanRoots.size
    },
    close: async () => {
      clearInterval(poll)
      clearInterval(rescan)
      for (const t of timers) clearTimeout(t)
      for (const w of [...rootWatchers.values(), ...dirWatchers]) w.close()
      await Promise.all(watchers.map((w) => w.close()))
    },
  }
}
