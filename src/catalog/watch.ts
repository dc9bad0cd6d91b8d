/**
 * Keeps the catalog following the disk while operators copy content in.
 *
 * Folders are watched one fs.watch each (dir-watch.ts): file roots whole,
 * registry:2 trees only where tags live (not `_layers`, `revisions` or tag
 * history), changes coalesced per repository. OCI layouts are watched with
 * chokidar on their index.json.
 * Changes to files arrive as their folders' events; a file is indexed once
 * its size and mtime have held still for STABLE_MS, so a half-copied file
 * is never listed.
 */
import { watch, type FSWatcher } from 'chokidar'
import { existsSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { Logger } from 'pino'
import { Registry2Store } from '../registry-api/store/registry2.js'
import { OciLayoutStore } from '../registry-api/store/oci-layout.js'
import type { ImageStore } from '../registry-api/store/types.js'
import type { Catalog, FileRootSource } from './index.js'
import { DirWatcher } from './dir-watch.js'

export const STABLE_MS = 1000
const DEBOUNCE_MS = 200
const POLL_MS = 1000

/** The repository a path under `repositories/` belongs to. */
export const repositoryOfPath = (relPath: string): string | undefined => {
  const parts = relPath.split(sep).join('/').split('/')
  const cut = parts.findIndex((p) => p.startsWith('_'))
  const name = (cut < 0 ? parts : parts.slice(0, cut)).join('/')
  return name || undefined
}

/** Directories of a registry:2 repository tree that say nothing about tags. */
const REGISTRY_SKIP = new Set(['_layers', 'revisions', 'index', '_uploads'])

/** Temporary names of atomic writers (ours, rsync, curl -o …part). */
export const isTemporaryName = (name: string): boolean => /\.tmp(-[0-9a-f]+)?$|^\.[^.].*\.[A-Za-z0-9]{6}$|\.part$/.test(name)

export interface CatalogWatcher {
  close(): Promise<void>
  /** Resolves when the watchers have finished their initial crawl. */
  ready: Promise<void>
}


export const watchCatalog = (catalog: Catalog, stores: readonly ImageStore[], fileRoots: readonly FileRootSource[], logger: Logger): CatalogWatcher => {
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
            settling.delete(path)
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

  for (const store of stores) {
    const inner = (store as { inner?: ImageStore }).inner ?? store
    if (inner instanceof Registry2Store) {
      const repos = join(inner.base, 'repositories')
      const onRepoEvent = (path: string): void => {
        const repo = repositoryOfPath(relative(repos, path))
        if (repo) schedule(`${store.label}:${repo}`, () => catalog.refreshRepository(store, repo))
      }
      // Blobs need no watch: a tag whose manifest blob is not complete yet is
      // looked at again by the poll below until it is.
      const w = new DirWatcher(
        repos,
        {
          onChange: (dir, name) => onRepoEvent(join(dir, name)),
          onNewDir: (dir) => {
            const prefix = relative(repos, dir).split(sep).join('/')
            if (prefix.includes('/_')) onRepoEvent(dir)
            else schedule(`${store.label}:new:${prefix}`, () => catalog.refreshRepositoriesUnder(store, prefix))
          },
          onRootGone: () => logger.warn({ store: store.label }, 'registry repositories folder is gone'),
          onError: (err) => logger.warn({ err, store: store.label }, 'watcher error'),
        },
        (name) => REGISTRY_SKIP.has(name),
      )
      readies.push(w.start())
      dirWatchers.push(w)
    } else if (inner instanceof OciLayoutStore) {
      track(watch(join(inner.root, 'index.json'), { ignoreInitial: true })).on('all', () =>
        schedule(`${store.label}:layout`, async () => void (await catalog.scanImages(store))),
      )
    }
  }

  // File roots: one fs.watch per folder (see dir-watch.ts). A root that
  // disappears (moved away, unmounted) is walked again and watched anew
  // when it is back.
  const missingRoots = new Set<FileRootSource>()
  const watchRoot = (root: FileRootSource): DirWatcher => {
    const w: DirWatcher = new DirWatcher(root.path, {
      onChange: (dir, name) => {
        if (isTemporaryName(name)) return
        const path = join(dir, name)
        settle(path, () => void catalog.fileChanged(root, path), () => catalog.fileRemoved(root, path))
      },
      onNewDir: (dir) => schedule(`d:${dir}`, () => catalog.rescanFileRoot(root, dir).then(() => undefined)),
      onRootGone: () => {
        missingRoots.add(root)
        w.close()
      },
      onError: (err) => logger.warn({ err, root: root.path }, 'watcher error'),
    })
    readies.push(w.start())
    return w
  }
  const rootWatchers = new Map<FileRootSource, DirWatcher>()
  for (const root of fileRoots) rootWatchers.set(root, watchRoot(root))
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
  }, POLL_MS)
  poll.unref()
  return {
    ready: Promise.all(readies).then(() => undefined),
    close: async () => {
      clearInterval(poll)
      for (const t of timers) clearTimeout(t)
      for (const w of [...rootWatchers.values(), ...dirWatchers]) w.close()
      await Promise.all(watchers.map((w) => w.close()))
    },
  }
}
