/**
 * File roots mounted at URL prefixes, and the one routine that turns safe
 * segments into an opened file or a directory inside a root.
 *
 * Resolution is lexical first (safe-path.ts guarantees no segment can climb),
 * then real: `realpath` resolves every symlink on the way, and the result must
 * stay inside the root's own real path (`symlinks: inside`) or equal the
 * lexical path (`symlinks: never`, no symlink anywhere below the root). The
 * real path is what gets opened, so the check and the open look at the same
 * file. Files are opened with O_NONBLOCK, so a FIFO placed in a root cannot
 * hang a worker thread.
 */
import { constants } from 'node:fs'
import { open, realpath, type FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { etagFor, type FileCache, type FileEntry, type WatchToken } from './file-cache.js'
import { isInside, prefixSegments, startsWithSegments } from './safe-path.js'

export type SymlinkPolicy = 'inside' | 'never'

/** A configured file root (the shape of the server's layout entries). */
export interface FileRootSpec {
  /** URL prefix, `/` or `/a/b`. */
  prefix: string
  /** Directory on disk. */
  path: string
}

export interface MountedRoot {
  readonly id: number
  /** Normalised prefix: `/` or `/a/b` (no trailing slash). */
  readonly prefix: string
  readonly prefixSegments: readonly string[]
  /** Absolute directory as configured. */
  readonly path: string
}

export const normalisePrefix = (prefix: string): string => {
  const segs = prefixSegments(prefix)
  return segs.length ? '/' + segs.join('/') : '/'
}

/** Mounts roots longest prefix first, so `/a/b` wins over `/a` and `/`. */
export const mountRoots = (specs: readonly FileRootSpec[]): MountedRoot[] =>
  specs
    .map((s, id) => {
      const segs = prefixSegments(s.prefix)
      return { id, prefix: normalisePrefix(s.prefix), prefixSegments: segs, path: resolve(s.path) }
    })
    .sort((a, b) => b.prefixSegments.length - a.prefixSegments.length || a.id - b.id)

export interface RootMatch {
  root: MountedRoot
  /** Segments below the root. */
  rest: string[]
}

/** The root a path falls under: the longest matching prefix; the first configured on a tie. */
export const matchRoot = (roots: readonly MountedRoot[], segments: readonly string[]): RootMatch | null => {
  for (const root of roots) {
    if (startsWithSegments(segments, root.prefixSegments)) return { root, rest: segments.slice(root.prefixSegments.length) }
  }
  return null
}

/** What `locate` found. A file comes with its bytes (cached) or an open handle, never neither. */
export type Located =
  | { kind: 'file'; entry: FileEntry; body: Buffer; handle?: undefined }
  | { kind: 'file'; entry: FileEntry; body?: undefined; handle: FileHandle }
  | { kind: 'dir'; entry: FileEntry }

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'ENXIO', 'EISDIR'])

const missing = (err: unknown): boolean => NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK

const readWhole = async (handle: FileHandle, size: number): Promise<Buffer> => {
  // allocUnsafeSlow: a cached body must not pin a shared 8 KiB pool slab.
  const buf = Buffer.allocUnsafeSlow(size)
  let done = 0
  while (done < size) {
    const { bytesRead } = await handle.read(buf, done, size - done, done)
    if (bytesRead === 0) throw new Error(`file shrank while reading (${done} of ${size} bytes)`)
    done += bytesRead
  }
  return buf
}

export interface RootsOptions {
  roots: readonly FileRootSpec[]
  symlinks: SymlinkPolicy
  cache: FileCache
  /** Bodies up to this size are read whole by `locate` (the caller sends them as bytes). */
  smallBodyLimit: number
}

/** The mounted roots with their resolver. */
export class FileRoots {
  readonly roots: MountedRoot[]
  readonly symlinks: SymlinkPolicy
  readonly cache: FileCache
  readonly smallBodyLimit: number
  #real = new Map<number, string>()

  constructor(options: RootsOptions) {
    this.roots = mountRoots(options.roots)
    this.symlinks = options.symlinks
    this.cache = options.cache
    this.smallBodyLimit = options.smallBodyLimit
  }

  match(segments: readonly string[]): RootMatch | null {
    return matchRoot(this.roots, segments)
  }

  /** The root directory's real path; null while it does not exist. */
  async rootReal(root: MountedRoot): Promise<string | null> {
    const known = this.#real.get(root.id)
    if (known) return known
    try {
      const real = await realpath(root.path)
      this.#real.set(root.id, real)
      return real
    } catch (err) {
      if (missing(err)) return null
      throw err
    }
  }

  /**
   * The real path of `rest` under `root` when policy allows it, else null.
   * Used by `locate` and by the listing (for each symlinked entry).
   */
  async realInside(root: MountedRoot, rest: readonly string[]): Promise<string | null> {
    const rootReal = await this.rootReal(root)
    if (!rootReal) return null
    const lexical = rest.length ? join(root.path, ...rest) : root.path
    let real: string
    try {
      real = await realpath(lexical)
    } catch (err) {
      if (missing(err)) return null
      throw err
    }
    if (this.symlinks === 'never') {
      // No symlink anywhere below the root: the real path is the lexical one.
      return real === (rest.length ? join(rootReal, ...rest) : rootReal) ? real : null
    }
    return isInside(rootReal, real) ? real : null
  }

  /**
   * Finds `rest` under `root`: a regular file (bytes or an open handle), a
   * directory, or null (missing, not a regular file, or refused by the
   * symlink policy; the caller answers 404 for all three). One realpath and
   * one fstat on a miss; nothing on a cache hit of a small file.
   */
  async locate(root: MountedRoot, rest: readonly string[]): Promise<Located | null> {
    const cache = this.cache
    const key = `${root.id}\u0000${rest.join('/')}`
    const now = performance.now()
    const hit = cache.get(key, now)
    if (hit) {
      if (hit.kind === 'dir') return { kind: 'dir', entry: hit }
      if (hit.body) return { kind: 'file', entry: hit, body: hit.body }
      const handle = await this.#open(hit.real)
      if (handle) {
        if (hit.size <= this.smallBodyLimit) {
          // Small and not admitted to the cache: the entry is fresh (watched
          // and within its TTL), so trust its size and read it whole.
          try {
            return { kind: 'file', entry: hit, body: await readWhole(handle, hit.size) }
          } catch {
            // It changed under us: fall through and look again.
          } finally {
            await handle.close().catch(() => {})
          }
        } else {
          // A large body is read over many milliseconds; one fstat (cheap
          // beside it) makes sure Content-Length is that of this inode.
          const st = await handle.stat().catch(() => null)
          if (st && st.isFile() && st.size === hit.size && st.ino === hit.ino && Math.floor(st.mtimeMs) === hit.mtimeMs) {
            return { kind: 'file', entry: hit, handle }
          }
          await handle.close().catch(() => {})
        }
      }
      cache.delete(key)
    }
    return this.#lookup(root, rest, key, now)
  }

  async #open(real: string): Promise<FileHandle | null> {
    try {
      return await open(real, OPEN_FLAGS)
    } catch (err) {
      if (missing(err)) return null
      throw err
    }
  }

  async #lookup(root: MountedRoot, rest: readonly string[], key: string, now: number): Promise<Located | null> {
    const cache = this.cache
    const real = await this.realInside(root, rest)
    if (!real) return null
    // Watch before the stat, so a change after it is seen (see FileCache.put).
    const tokens: Array<WatchToken | null> = [cache.watchFor(real)]
    const lexical = rest.length ? join(root.path, ...rest) : root.path
    // A symlink can be re-pointed without touching its target's directory.
    if (lexical !== real && rest.length) tokens.push(cache.watchFor(lexical))
    const handle = await this.#open(real)
    if (!handle) return null
    let keepOpen = false
    try {
      const st = await handle.stat()
      const mtimeMs = Math.floor(st.mtimeMs)
      const entry: FileEntry = {
        kind: st.isDirectory() ? 'dir' : 'file',
        real,
        size: st.size,
        mtimeMs,
        ino: st.ino,
        etag: etagFor(st.size, mtimeMs, st.ino),
        lastModified: new Date(mtimeMs).toUTCString(),
        checkedAt: now,
      }
      if (entry.kind === 'dir') {
        cache.put(key, entry, tokens)
        return { kind: 'dir', entry }
      }
      if (!st.isFile()) return null
      if (st.size <= this.smallBodyLimit) {
        const body = cache.reusableBody(key, st.ino, st.size, mtimeMs) ?? (await readWhole(handle, st.size))
        if (cache.admitsBody(body.length)) entry.body = body
        cache.put(key, entry, tokens)
        return { kind: 'file', entry, body }
      }
      cache.put(key, entry, tokens)
      keepOpen = true
      return { kind: 'file', entry, handle }
    } finally {
      if (!keepOpen) await handle.close().catch(() => {})
    }
  }
}
