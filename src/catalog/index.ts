/**
 * The catalog: a SQLite index of what the bundle holds, built by a scan on
 * start and kept fresh by a watcher. The registry and file routes never read
 * it (they read the disk); it answers the inventory, readiness and the
 * ledger of misses.
 */
import { lstat } from 'node:fs/promises'
import { dirname, relative, sep } from 'node:path'
import type { Logger } from 'pino'
import { isBreaking, type ImageProblem, type ImageStore } from '../images/index.js'
import { applySchema, type Db } from './db.js'
import { CATALOG_SCHEMA, MISSES_SCHEMA } from './schema.js'
import { scanRepository, walkFiles, type FileRow, type ImageRow } from './scan.js'
import { Misses } from './misses.js'
import { followLink, linkRule, reachable, type SymlinkPolicy } from './links.js'
import { CatalogWrites, type CatalogBehind } from './writes.js'
import { readInventory, type InventoryFilter, type ServedInventory } from './served.js'

export { openDb, applySchema, type Db, type Schema } from './db.js'
export { Misses, escapeRef, type MissKind, type MissRow } from './misses.js'
export { readVerifiedManifest, storeSource } from './scan.js'
export type { CatalogBehind } from './writes.js'
export type { ImageSummary, ServedInventory, InventoryFilter } from './served.js'

export interface FileRootSource {
  prefix: string
  path: string
}

export interface CatalogOptions {
  db: Db
  stores: readonly ImageStore[]
  fileRoots: readonly FileRootSource[]
  logger: Logger
  /** `files.symlinks`: the links the file server follows, which are the links the catalog follows (links.ts). */
  symlinks?: SymlinkPolicy
}

export interface TreeResult {
  root: string
  path: string
  kind: string
  packages: number
  ok: boolean
  problems: string[]
}

export interface ScanStats {
  images: number
  files: number
  ms: number
}

/** How often a repository with a broken image is looked at again (a missing blob may be copied in). */
export const BROKEN_RECHECK_MS = 10_000

/** Label of a file root in the catalog: its URL prefix and path. */
export const rootLabel = (r: FileRootSource): string => `${r.prefix}=${r.path}`

export class Catalog {
  readonly db: Db
  readonly misses: Misses
  private stores: readonly ImageStore[]
  private fileRoots: readonly FileRootSource[]
  private readonly logger: Logger
  private scanned = false
  private lastScan: { finishedAt: string; ms: number } | null = null
  private readonly incomplete = new Set<string>()
  /** Repositories with broken images → when to look at them again. */
  private readonly broken = new Map<string, number>()
  private symlinks: SymlinkPolicy
  private readonly writes: CatalogWrites
  private catchingUp: Promise<boolean> | null = null

  constructor(options: CatalogOptions) {
    this.db = options.db
    this.stores = options.stores
    this.fileRoots = options.fileRoots
    this.logger = options.logger
    this.symlinks = options.symlinks ?? 'inside'
    this.writes = new CatalogWrites(this.db, this.logger)
    const { rebuilt } = applySchema(this.db, CATALOG_SCHEMA)
    if (rebuilt) this.logger.info('catalog schema changed: rebuilding the catalog')
    applySchema(this.db, MISSES_SCHEMA)
    this.misses = new Misses(this.db)
  }

  get firstScanComplete(): boolean {
    return this.scanned
  }

  /** Which symlinks in file roots are followed (the watcher follows the same). */
  get symlinkPolicy(): SymlinkPolicy {
    return this.symlinks
  }

  /** Set while changes on disk may be missing from the catalog because a write failed; null otherwise. */
  get behind(): CatalogBehind | null {
    return this.writes.behind
  }

  /**
   * After a failed write: once data_dir takes writes again, scans every store
   * and root again so what changed meanwhile reaches the catalog. True when
   * the catalog is up to date (or was); one at a time.
   */
  catchUp(): Promise<boolean> {
    if (!this.writes.behind) return Promise.resolve(true)
    this.catchingUp ??= (async () => {
      const was = await this.writes.beginCatchUp()
      if (!was) return false
      await this.scan()
      if (this.writes.behind) return false
      this.logger.info({ behind_since: was.since }, 'catalog caught up: data_dir can be written again and everything was scanned again')
      return true
    })().finally(() => (this.catchingUp = null))
    return this.catchingUp
  }

  /** Replaces the rows of one repository of one store. */
  async refreshRepository(store: ImageStore, repository: string): Promise<void> {
    let rows: ImageRow[] = []
    let incomplete: string[] = []
    let problems: ImageProblem[] = []
    if (await store.hasRepository(repository)) ({ rows, incomplete, problems } = await scanRepository(store, repository))
    const key = `${store.label}\u0000${repository}`
    if (incomplete.length) this.incomplete.add(key)
    else this.incomplete.delete(key)
    if (problems.some(isBreaking)) this.broken.set(key, Date.now() + BROKEN_RECHECK_MS)
    else this.broken.delete(key)
    this.writeImages(store.label, repository, rows, problems)
  }

  private writeImages(store: string, repository: string, rows: ImageRow[], problems: readonly ImageProblem[] = []): void {
    const del = this.db.prepare('DELETE FROM images WHERE store = ? AND repository = ?')
    const delProblems = this.db.prepare('DELETE FROM image_problems WHERE store = ? AND repository = ?')
    const ins = this.db.prepare(
      'INSERT OR REPLACE INTO images (store, repository, tag, digest, media_type, platforms, size) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    const blob = this.db.prepare('INSERT OR REPLACE INTO blobs (store, digest, size) VALUES (?, ?, ?)')
    const problem = this.db.prepare(
      'INSERT INTO image_problems (store, repository, image, platform, digest, kind, part, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    )
    this.writes.run('images', () =>
      this.db.transaction(() => {
        del.run(store, repository)
        delProblems.run(store, repository)
        for (const r of rows) {
          ins.run(r.store, r.repository, r.tag, r.digest, r.mediaType, JSON.stringify(r.platforms), r.size)
          for (const b of r.blobs) blob.run(r.store, b.digest, b.size)
        }
        for (const p of problems) problem.run(store, repository, p.image, p.platform, p.digest, p.kind, p.part, p.detail ?? null)
      })(),
    )
  }

  /**
   * A folder appeared under a registry's repositories: the repositories in
   * it may have been written faster than their folders could be watched, so
   * look for them (and for any repository the catalog does not know yet).
   */
  async refreshRepositoriesUnder(store: ImageStore, prefix: string): Promise<void> {
    const known = new Set(
      (this.db.prepare('SELECT DISTINCT repository FROM images WHERE store = ?').all(store.label) as Array<{ repository: string }>).map(
        (r) => r.repository,
      ),
    )
    for (const repo of await store.repositories()) {
      if (repo === prefix || repo.startsWith(`${prefix}/`) || !known.has(repo)) await this.refreshRepository(store, repo)
    }
  }

  /**
   * Repositories whose tags pointed at incomplete manifests, to look at again
   * when blobs arrive; and, less often, those holding broken images.
   */
  async refreshIncomplete(now = Date.now()): Promise<void> {
    const due = [...this.broken].filter(([key, at]) => at <= now && !this.incomplete.has(key)).map(([key]) => key)
    for (const key of [...this.incomplete, ...due]) {
      const [label, repository] = key.split('\u0000') as [string, string]
      const store = this.stores.find((s) => s.label === label)
      if (store) await this.refreshRepository(store, repository)
    }
  }

  async scanImages(store: ImageStore): Promise<number> {
    const repos = await store.repositories()
    const known = (
      this.db.prepare('SELECT DISTINCT repository FROM images WHERE store = ?').all(store.label) as Array<{ repository: string }>
    ).map((r) => r.repository)
    for (const gone of known.filter((r) => !repos.includes(r))) this.writeImages(store.label, gone, [])
    for (const repo of repos) {
      await this.refreshRepository(store, repo)
      await new Promise((r) => setImmediate(r))
    }
    return repos.length
  }

  private insertFiles = (rows: FileRow[]): void => {
    const ins = this.db.prepare(
      'INSERT INTO files (root, path, size, mtime) VALUES (?, ?, ?, ?) ON CONFLICT(root, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, sha256 = CASE WHEN files.size = excluded.size AND files.mtime = excluded.mtime THEN files.sha256 ELSE NULL END',
    )
    this.writes.run('files', () =>
      this.db.transaction(() => {
        for (const r of rows) ins.run(r.root, r.path, r.size, r.mtime)
      })(),
    )
  }

  /** Full scan: images of every store, files of every root. */
  async scan(): Promise<ScanStats> {
    const started = Date.now()
    let images = 0
    let files = 0
    for (const store of this.stores) {
      try {
        images += await this.scanImages(store)
      } catch (err) {
        this.logger.warn({ err, store: store.label }, 'image store scan failed')
      }
    }
    for (const root of this.fileRoots) {
      try {
        files += await this.rescanFileRoot(root)
      } catch (err) {
        this.logger.warn({ err, root: root.path }, 'file root scan failed')
      }
    }
    const ms = Date.now() - started
    this.scanned = true
    this.lastScan = { finishedAt: new Date().toISOString(), ms }
    this.logger.info({ repositories: images, files, ms }, 'catalog scan complete')
    return { images, files, ms }
  }

  /** Re-walks one root, or a folder in it: rows for files that are gone are removed. */
  async rescanFileRoot(root: FileRootSource, under = root.path): Promise<number> {
    const label = rootLabel(root)
    const seen = new Set<string>()
    const count = await walkFiles(
      label,
      root.path,
      (rows) => {
        for (const r of rows) seen.add(r.path)
        this.insertFiles(rows)
      },
      { under, symlinks: this.symlinks },
    )
    const rel = relative(root.path, under).split(sep).join('/')
    const existing = (
      rel
        ? this.db
            .prepare('SELECT path FROM files WHERE root = ? AND (path = ? OR substr(path, 1, ?) = ?)')
            .all(label, rel, rel.length + 1, `${rel}/`)
        : this.db.prepare('SELECT path FROM files WHERE root = ?').all(label)
    ) as Array<{ path: string }>
    const del = this.db.prepare('DELETE FROM files WHERE root = ? AND path = ?')
    this.writes.run('files', () =>
      this.db.transaction(() => {
        for (const { path } of existing) if (!seen.has(path)) del.run(label, path)
      })(),
    )
    return count
  }

  /**
   * A file under a root was added or changed (already stable). A symlink is
   * listed only when the file server would follow it (links.ts); one it
   * would not follow is taken off the list with anything below it.
   */
  async fileChanged(root: FileRootSource, absPath: string): Promise<void> {
    const rel = relative(root.path, absPath).split(sep).join('/')
    let st
    try {
      const rule = await linkRule(root.path, this.symlinks)
      // A file seen through a linked folder is there only while the rule follows that folder.
      if (rule && (await reachable(rule, root.path, dirname(absPath)))) {
        st = await lstat(absPath)
        if (st.isSymbolicLink()) st = (await followLink(rule, absPath))?.stats
      }
    } catch {
      st = undefined
    }
    if (st?.isFile()) this.insertFiles([{ root: rootLabel(root), path: rel, size: st.size, mtime: Math.floor(st.mtimeMs) }])
    else if (!st?.isDirectory()) this.fileRemoved(root, absPath)
  }

  fileRemoved(root: FileRootSource, absPath: string): void {
    const rel = relative(root.path, absPath).split(sep).join('/')
    this.writes.run('files', () =>
      this.db
        .prepare('DELETE FROM files WHERE root = ? AND (path = ? OR substr(path, 1, ?) = ?)')
        .run(rootLabel(root), rel, rel.length + 1, `${rel}/`),
    )
  }

  /**
   * Follows other stores and file roots from now on (a reload): the rows of
   * stores and roots no longer served are dropped; the caller scans the new ones.
   */
  retarget(stores: readonly ImageStore[], fileRoots: readonly FileRootSource[], symlinks: SymlinkPolicy = this.symlinks): void {
    this.stores = stores
    this.fileRoots = fileRoots
    this.symlinks = symlinks
    const labels = new Set(stores.map((s) => s.label))
    const roots = new Set(fileRoots.map(rootLabel))
    const column = (sql: string): string[] => (this.db.prepare(sql).all() as Array<{ v: string }>).map((r) => r.v)
    this.writes.run('retarget', () =>
      this.db.transaction(() => {
        for (const store of column(
          'SELECT DISTINCT store AS v FROM images UNION SELECT DISTINCT store AS v FROM blobs UNION SELECT DISTINCT store AS v FROM image_problems',
        )) {
          if (labels.has(store)) continue
          this.db.prepare('DELETE FROM images WHERE store = ?').run(store)
          this.db.prepare('DELETE FROM blobs WHERE store = ?').run(store)
          this.db.prepare('DELETE FROM image_problems WHERE store = ?').run(store)
        }
        for (const root of column('SELECT DISTINCT root AS v FROM files'))
          if (!roots.has(root)) this.db.prepare('DELETE FROM files WHERE root = ?').run(root)
      })(),
    )
    for (const key of [...this.incomplete]) if (!labels.has(key.split('\u0000')[0]!)) this.incomplete.delete(key)
    for (const key of [...this.broken.keys()]) if (!labels.has(key.split('\u0000')[0]!)) this.broken.delete(key)
  }

  /**
   * The problems of the images as they are served: for each tag, those found
   * in the first store (in consultation order) that holds it; a shadowed
   * copy in a later store is not what nodes pull.
   */
  imageProblems(filter: InventoryFilter = {}): ImageProblem[] {
    const rows = this.db
      .prepare(
        `SELECT store, repository, image, platform, digest, kind, part, detail FROM image_problems
         WHERE (? IS NULL OR repository = ? OR repository LIKE ? ESCAPE '\\')`,
      )
      .all(filter.repo ?? null, filter.repo ?? null, filter.repo ? `${filter.repo.replace(/[\\%_]/g, (c) => `\\${c}`)}/%` : null) as Array<
      Record<string, string | null>
    >
    if (!rows.length) return []
    const order = new Map(this.stores.map((s, i) => [s.label, i]))
    // Which store serves each tag: the first holding it (a row, or a problem for a tag left out).
    const holders = new Map<string, number>()
    const hold = (store: string, image: string): void => {
      const i = order.get(store) ?? Infinity
      if (i < (holders.get(image) ?? Infinity)) holders.set(image, i)
    }
    for (const r of this.db.prepare('SELECT store, repository, tag FROM images').all() as Array<Record<string, string>>)
      hold(r.store!, `${r.repository}:${r.tag}`)
    for (const r of rows) hold(r.store!, r.image!)
    return rows
      .filter((r) => (order.get(r.store!) ?? Infinity) === holders.get(r.image!))
      .map((r) => ({
        image: r.image!,
        platform: r.platform!,
        digest: r.digest!,
        kind: r.kind as ImageProblem['kind'],
        part: r.part as ImageProblem['part'],
        ...(r.detail ? { detail: r.detail } : {}),
      }))
      .sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0))
  }

  /** Drops the package tree rows other than `kept` (a check of every tree just recorded those). */
  retainTrees(kept: ReadonlyArray<{ root: string; path: string }>): void {
    const keep = new Set(kept.map((t) => `${t.root}\u0000${t.path}`))
    const rows = this.db.prepare('SELECT root, path FROM trees').all() as Array<{ root: string; path: string }>
    const del = this.db.prepare('DELETE FROM trees WHERE root = ? AND path = ?')
    this.writes.run('trees', () =>
      this.db.transaction(() => {
        for (const r of rows) if (!keep.has(`${r.root}\u0000${r.path}`)) del.run(r.root, r.path)
      })(),
    )
  }

  /** Stores the result of a package tree check. */
  recordTree(t: TreeResult): void {
    this.writes.run('trees', () =>
      this.db
        .prepare('INSERT OR REPLACE INTO trees (root, path, kind, packages, ok, problems, checked) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(t.root, t.path, t.kind, t.packages, t.ok ? 1 : 0, JSON.stringify(t.problems), Date.now()),
    )
  }

  trees(): TreeResult[] {
    return (
      this.db.prepare('SELECT root, path, kind, packages, ok, problems FROM trees ORDER BY root, path').all() as Array<
        Record<string, unknown>
      >
    ).map((r) => ({
      root: r.root as string,
      path: r.path as string,
      kind: r.kind as string,
      packages: r.packages as number,
      ok: r.ok === 1,
      problems: JSON.parse(r.problems as string) as string[],
    }))
  }

  inventory(filter: InventoryFilter = {}): ServedInventory {
    const scan = { complete: this.scanned, finishedAt: this.lastScan?.finishedAt ?? null, ms: this.lastScan?.ms ?? null }
    return { ...readInventory(this.db, this.fileRoots, this.trees(), scan, filter), problems: this.imageProblems(filter) }
  }

  close(): void {
    this.db.close()
  }
}
