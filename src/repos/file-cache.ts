/**
 * What the file roots remember between requests: the resolved real path and
 * `stat` result of every path recently served, and the bytes of small ones.
 *
 * A hit costs no system call at all, which is what lets a Node process come
 * near nginx on small files (nginx keeps `open_file_cache` for the same
 * reason). Entries are dropped
 *
 * - when the file changes: the directory holding it is watched (inotify via
 *   `fs.watch`), and any event naming the file drops its entries at once;
 * - after `ttlMs` in any case, which covers what a directory watch cannot see
 *   (an ancestor renamed, a file on NFS changed by another host, a write
 *   through a hard link elsewhere); the path is then resolved and stat'ed
 *   again, and the bytes are kept when inode, size and mtime still match;
 * - first in, first out beyond `maxEntries`.
 *
 * Bodies are admitted while their total stays under `maxBodyBytes` and kept
 * until their entry goes: under a scan of more files than fit, the first ones
 * stay cached instead of every one being evicted just before its next use.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'

export interface FileEntry {
  kind: 'file' | 'dir'
  /** The real path (symlinks resolved) that was opened. */
  real: string
  size: number
  mtimeMs: number
  ino: number
  /** Strong entity tag, quotes included. */
  etag: string
  /** IMF-fixdate of mtimeMs. */
  lastModified: string
  /** The whole file, when small enough and admitted. */
  body?: Buffer
  /** When the entry was made or last confirmed (ms, performance clock). */
  checkedAt: number
}

export interface FileCacheOptions {
  /** Most entries kept (default 20,000). */
  maxEntries?: number
  /** Total bytes of cached bodies (default 8 MiB). */
  maxBodyBytes?: number
  /** Largest single body cached (default 64 KiB). */
  maxBodyFile?: number
  /** Most directories watched at once (default 2,048). */
  maxWatchedDirs?: number
  /** An entry is confirmed again after this long (default 10 s). */
  ttlMs?: number
  /** Watch directories for changes (default true). Without it only the TTL applies. */
  watch?: boolean
}

/** A watched directory: which cache keys hold files named in it. */
interface DirWatch {
  dir: string
  watcher: FSWatcher | null
  /** File name in this directory → cache keys that depend on it. */
  names: Map<string, Set<string>>
  /** Bumped on every event, so a lookup that raced with a change is not stored. */
  generation: number
  closed: boolean
}

/** Proof that a directory was watched before a file in it was stat'ed. */
export interface WatchToken {
  watch: DirWatch | null
  name: string
  generation: number
}

interface Stored {
  entry: FileEntry
  tokens: WatchToken[]
}

export const etagFor = (size: number, mtimeMs: number, ino: number): string =>
  `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}-${ino.toString(16)}"`

export class FileCache {
  readonly maxEntries: number
  readonly maxBodyBytes: number
  readonly maxBodyFile: number
  readonly maxWatchedDirs: number
  readonly ttlMs: number
  readonly watching: boolean
  #entries = new Map<string, Stored>()
  #dirs = new Map<string, DirWatch>()
  #bodyBytes = 0
  #closed = false

  constructor(options: FileCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 20_000
    this.maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024
    this.maxBodyFile = options.maxBodyFile ?? 64 * 1024
    this.maxWatchedDirs = options.maxWatchedDirs ?? 2048
    this.ttlMs = options.ttlMs ?? 10_000
    this.watching = options.watch ?? true
  }

  get size(): number {
    return this.#entries.size
  }

  get bodyBytes(): number {
    return this.#bodyBytes
  }

  get watchedDirs(): number {
    return this.#dirs.size
  }

  /** A fresh entry, or undefined. An expired entry stays until replaced, for `reusableBody`. */
  get(key: string, now: number): FileEntry | undefined {
    const stored = this.#entries.get(key)
    if (!stored || now - stored.entry.checkedAt >= this.ttlMs) return undefined
    return stored.entry
  }

  /** The entry for `key`, fresh or expired (for `refresh`). */
  peek(key: string): FileEntry | undefined {
    return this.#entries.get(key)?.entry
  }

  /**
   * Marks an expired entry confirmed (its path resolved and its descriptor
   * stat'ed to the same inode, size and mtime). Keeping the same objects
   * rather than storing new ones keeps a busy tree from turning the whole
   * cache into garbage every TTL.
   */
  refresh(key: string, now: number): void {
    const stored = this.#entries.get(key)
    if (stored) stored.entry.checkedAt = now
  }

  /** The cached bytes for `key` if they are still those of this inode, size and mtime. */
  reusableBody(key: string, ino: number, size: number, mtimeMs: number): Buffer | undefined {
    const old = this.#entries.get(key)?.entry
    if (!old?.body) return undefined
    return old.ino === ino && old.size === size && old.mtimeMs === mtimeMs ? old.body : undefined
  }

  /** Whether a body of this size would be admitted now. */
  admitsBody(size: number): boolean {
    return !this.#closed && size <= this.maxBodyFile && this.#bodyBytes + size <= this.maxBodyBytes
  }

  /**
   * Watches the directory holding `path` and returns a token to pass to
   * `put`. Call it before the stat whose result will be stored, so that a
   * change in between is seen. Returns null when the directory cannot be
   * watched (too many inotify watches, an unwatchable file system): the
   * result is then served but not stored.
   */
  watchFor(path: string): WatchToken | null {
    if (this.#closed) return null
    const name = basename(path)
    if (!this.watching) return { watch: null, name, generation: 0 }
    const dir = dirname(path)
    let dw = this.#dirs.get(dir)
    if (!dw) {
      if (this.#dirs.size >= this.maxWatchedDirs) {
        const oldest = this.#dirs.values().next().value
        if (oldest) this.#unwatch(oldest)
      }
      const d: DirWatch = { dir, watcher: null, names: new Map(), generation: 0, closed: false }
      const onDirectoryEvent = (_event: string, filename: string | Buffer | null): void => {
        d.generation++
        if (filename === null || filename === undefined) return this.#dropDir(d)
        const keys = d.names.get(String(filename))
        if (keys) for (const key of [...keys]) this.delete(key)
      }
      const onWatchError = (): void => this.#unwatch(d)
      try {
        d.watcher = watch(dir, { persistent: false }, onDirectoryEvent)
      } catch {
        return null
      }
      d.watcher.on('error', onWatchError)
      this.#dirs.set(dir, d)
      dw = d
    }
    return { watch: dw, name, generation: dw.generation }
  }

  /**
   * Stores an entry made after `tokens` were taken. Nothing is stored when a
   * watched directory changed meanwhile or a token is missing.
   */
  put(key: string, entry: FileEntry, tokens: ReadonlyArray<WatchToken | null>): void {
    if (this.#closed) return
    for (const t of tokens) {
      if (!t) return
      if (t.watch && (t.watch.closed || t.watch.generation !== t.generation)) return
    }
    this.delete(key)
    if (entry.body) {
      if (!this.admitsBody(entry.body.length)) delete entry.body
      else this.#bodyBytes += entry.body.length
    }
    const kept = tokens as WatchToken[]
    for (const t of kept) {
      if (!t.watch) continue
      let keys = t.watch.names.get(t.name)
      if (!keys) t.watch.names.set(t.name, (keys = new Set()))
      keys.add(key)
    }
    this.#entries.set(key, { entry, tokens: kept })
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest === undefined) break
      this.delete(oldest)
    }
  }

  delete(key: string): void {
    const stored = this.#entries.get(key)
    if (!stored) return
    this.#entries.delete(key)
    if (stored.entry.body) this.#bodyBytes -= stored.entry.body.length
    for (const t of stored.tokens) {
      const keys = t.watch?.names.get(t.name)
      if (!keys) continue
      keys.delete(key)
      if (keys.size === 0) t.watch!.names.delete(t.name)
    }
  }

  clear(): void {
    for (const key of [...this.#entries.keys()]) this.delete(key)
  }

  /** Stops every watcher and forgets everything. */
  close(): void {
    this.#closed = true
    for (const dw of [...this.#dirs.values()]) this.#unwatch(dw)
    this.clear()
  }

  #dropDir(dw: DirWatch): void {
    for (const keys of [...dw.names.values()]) for (const key of [...keys]) this.delete(key)
  }

  #unwatch(dw: DirWatch): void {
    if (dw.closed) return
    dw.closed = true
    dw.generation++
    try {
      dw.watcher?.close()
    } catch {
      // already closed
    }
    this.#dirs.delete(dw.dir)
    this.#dropDir(dw)
  }
}
