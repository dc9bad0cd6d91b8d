/**
 * File roots mounted at URL prefixes, and the one routine that turns safe
 * segments into an opened file or a directory inside a root.
 *
 * Resolution is lexical first (safe-path.ts guarantees no segment can climb),
 * then real: `realpath` resolves every symlink on the way, and the result must
 * stay inside the root's own real path (`symlinks: inside`) or equal the
 * lexical path (`symlinks: never`, no symlink anywhere below the root). The
 * real path is what gets opened, so the check and the open look at the same
 * file, and the one fstat is of the descriptor that is read. Files are opened
 * with O_NONBLOCK, so a FIFO placed in a root cannot hang the process.
 *
 * Resolution, open, fstat and the read of a small file are synchronous, as
 * they are in an nginx worker (which has no aio by default). Measured on the
 * small-file benchmark, each async fs call costs a thread-pool round trip
 * and some 25 µs of main-thread work, against a few µs for the system call
 * itself on a cached inode; five of them per request made small files several
 * times slower. Large bodies are read asynchronously, chunk by chunk
 * (src/http/send.ts), so a slow disk never holds the process for long.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, type Stats } from 'node:fs'
import { join, resolve } from 'node:path'
import { fdReader, type FileReader } from '../http/index.js'
import { BodyBuffers } from './body-buffers.js'
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

/**
 * What `locate` found. A file comes with its bytes or an open reader, never
 * neither. Bytes read for this request only (not cached) may sit in a reused
 * buffer: `release` gives it back, to be called once the response that sent
 * them has finished (never before: the socket may still be writing them).
 */
export type Located =
  | { kind: 'file'; entry: FileEntry; body: Buffer; handle?: undefined; release?: () => void }
  | { kind: 'file'; entry: FileEntry; body?: undefined; handle: FileReader; release?: undefined }
  | { kind: 'dir'; entry: FileEntry }

const NOT_THERE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EACCES', 'EPERM', 'ENXIO', 'EISDIR'])

const missing = (err: unknown): boolean => NOT_THERE.has((err as NodeJS.ErrnoException).code ?? '')

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK

/** Opens for reading; null when the path is not there (or not openable). */
const openQuiet = (path: string): number | null => {
  try {
    return openSync(path, OPEN_FLAGS)
  } catch (err) {
    if (missing(err)) return null
    throw err
  }
}

const readInto = (fd: number, buf: Buffer, size: number): Buffer => {
  let done = 0
  while (done < size) {
    const n = readSync(fd, buf, done, size - done, done)
    if (n === 0) throw new Error(`file shrank while reading (${done} of ${size} bytes)`)
    done += n
  }
  return buf
}

// allocUnsafeSlow: a cached body must not pin a shared 8 KiB pool slab.
const readWholeSync = (fd: number, size: number): Buffer => readInto(fd, Buffer.allocUnsafeSlow(size), size)

const sameFile = (st: Stats, e: FileEntry): boolean => st.ino === e.ino && st.size === e.size && Math.floor(st.mtimeMs) === e.mtimeMs

export interface RootsOptions {
  roots: readonly FileRootSpec[]
  symlinks: SymlinkPolicy
  cache: FileCache
  /** Bodies up to this size are read whole by `locate` (the caller sends them as bytes). */
  smallBodyLimit: number
  /** Reused buffers for bodies read for one response (a private set by default). */
  buffers?: BodyBuffers
}

/** The mounted roots with their resolver. */
export class FileRoots {
  readonly roots: MountedRoot[]
  readonly symlinks: SymlinkPolicy
  readonly cache: FileCache
  readonly smallBodyLimit: number
  readonly buffers: BodyBuffers
  #real = new Map<number, string>()

  constructor(options: RootsOptions) {
    this.roots = mountRoots(options.roots)
    this.symlinks = options.symlinks
    this.cache = options.cache
    this.smallBodyLimit = options.smallBodyLimit
    this.buffers = options.buffers ?? new BodyBuffers({ largest: options.smallBodyLimit })
  }

  /** A small file's bytes for this one response: in a reused buffer when there is a class for its size. */
  #readForResponse(fd: number, entry: FileEntry): Located {
    const pooled = this.buffers.take(entry.size)
    if (!pooled) return { kind: 'file', entry, body: readWholeSync(fd, entry.size) }
    try {
      readInto(fd, pooled.bytes, entry.size)
    } catch (err) {
      pooled.release()
      throw err
    }
    return { kind: 'file', entry, body: pooled.bytes, release: pooled.release }
  }

  match(segments: readonly string[]): RootMatch | null {
    return matchRoot(this.roots, segments)
  }

  /** The root directory's real path; null while it does not exist. */
  rootReal(root: MountedRoot): string | null {
    const known = this.#real.get(root.id)
    if (known) return known
    try {
      const real = realpathSync.native(root.path)
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
  realInside(root: MountedRoot, rest: readonly string[]): string | null {
    const rootReal = this.rootReal(root)
    if (!rootReal) return null
    const lexical = rest.length ? join(root.path, ...rest) : root.path
    let real: string
    try {
      real = realpathSync.native(lexical)
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
   * Finds `rest` under `root`: a regular file (bytes or an open reader), a
   * directory, or null (missing, not a regular file, or refused by the
   * symlink policy; the caller answers 404 for all three). On a miss: one
   * realpath, one open, one fstat (and the read of a small file). On a hit:
   * nothing for a cached body, else open, fstat (to be sure the entry is
   * still this inode) and read.
   */
  locate(root: MountedRoot, rest: readonly string[]): Located | null {
    const cache = this.cache
    const key = `${root.id}\u0000${rest.join('/')}`
    const now = performance.now()
    const hit = cache.get(key, now)
    if (hit) {
      if (hit.kind === 'dir') return { kind: 'dir', entry: hit }
      if (hit.body) return { kind: 'file', entry: hit, body: hit.body }
      const fd = openQuiet(hit.real)
      if (fd !== null) {
        let keepOpen = false
        try {
          const st = fstatSync(fd)
          if (st.isFile() && sameFile(st, hit)) {
            if (hit.size <= this.smallBodyLimit) return this.#readForResponse(fd, hit)
            keepOpen = true
            return { kind: 'file', entry: hit, handle: fdReader(fd) }
          }
        } finally {
          if (!keepOpen) closeSync(fd)
        }
      }
      cache.delete(key)
    }
    return this.#lookup(root, rest, key, now)
  }

  #lookup(root: MountedRoot, rest: readonly string[], key: string, now: number): Located | null {
    const cache = this.cache
    const real = this.realInside(root, rest)
    if (!real) return null
    // Watch before the stat, so a change after it is seen (see FileCache.put).
    const tokens: Array<WatchToken | null> = [cache.watchFor(real)]
    const lexical = rest.length ? join(root.path, ...rest) : root.path
    // A symlink can be re-pointed without touching its target's directory.
    if (lexical !== real && rest.length) tokens.push(cache.watchFor(lexical))
    const fd = openQuiet(real)
    if (fd === null) return null
    let keepOpen = false
    try {
      const st = fstatSync(fd)
      const old = cache.peek(key)
      if (old && old.real === real && (old.kind === 'dir' ? st.isDirectory() : st.isFile() && sameFile(st, old))) {
        // An expired entry that still holds: confirm it in place.
        cache.refresh(key, now)
        if (old.kind === 'dir') return { kind: 'dir', entry: old }
        if (old.body) return { kind: 'file', entry: old, body: old.body }
        if (old.size <= this.smallBodyLimit) return this.#readForResponse(fd, old)
        keepOpen = true
        return { kind: 'file', entry: old, handle: fdReader(fd) }
      }
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
        const kept = cache.reusableBody(key, st.ino, st.size, mtimeMs)
        if (kept || cache.admitsBody(st.size)) {
          const body = kept ?? readWholeSync(fd, st.size)
          entry.body = body
          cache.put(key, entry, tokens)
          return { kind: 'file', entry, body }
        }
        // Not cached: the bytes serve this response only.
        cache.put(key, entry, tokens)
        return this.#readForResponse(fd, entry)
      }
      cache.put(key, entry, tokens)
      keepOpen = true
      return { kind: 'file', entry, handle: fdReader(fd) }
    } finally {
      if (!keepOpen) closeSync(fd)
    }
  }
}
