/**
 * Blob upload sessions in a registry:2 tree, where docker-registry keeps
 * them: `repositories/<name>/_uploads/<uuid>/data` (the bytes so far) and
 * `startedat` (RFC 3339). The bytes are hashed as they are written; the
 * running sha256 stays in memory with the session, and a session found on
 * disk after a restart is hashed again from its data file (docker-registry's
 * serialised Go hash states are not written: no other process resumes
 * Outpost's sessions).
 *
 * A chunk is appended whole or not at all: when its request fails half way
 * (the client went away, a length did not match), the data file is cut back
 * and the hash restored, so the session's size and hash always describe the
 * same bytes. Operations on one session run one at a time.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { chmod, open, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Digest } from '../grammar.js'
import { isMissing } from './disk.js'
import { pathFor } from './registry2-paths.js'
import type { BlobStat, UploadSession } from './types.js'
import { ImageWriteError } from './write-errors.js'

/** Bytes gathered before each write to the data file. */
const WRITE_BATCH = 1024 * 1024

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Go's time.RFC3339 in UTC, as docker-registry writes `startedat`. */
const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z')

export interface AppendOptions {
  /** Where the chunk says it starts (Content-Range); must equal the session's size. */
  offset?: number
  /** How many bytes the chunk announces (Content-Length); anything else is refused. */
  length?: number
}

/** What the store does when a session's bytes are complete and verified. */
export interface UploadCommitter {
  /** Moves the flushed data file into the blob store and links it into the repository. */
  placeUpload(name: string, dataPath: string, digest: Digest): Promise<BlobStat>
}

/** Hashes a file with `algorithm` from the start. */
export const hashFile = (path: string, algorithm: string): Promise<Hash> =>
  new Promise((resolve, reject) => {
    const hash = createHash(algorithm)
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => hash.update(c))
      .on('error', reject)
      .on('end', () => resolve(hash))
  })

class Upload implements UploadSession {
  size: number
  /** Last time bytes arrived (or the session was made or found), for the expiry sweep. */
  lastActive: number
  private closed = false
  private queue: Promise<unknown> = Promise.resolve()
  private running = 0

  constructor(
    private readonly owner: UploadSessions,
    readonly name: string,
    readonly id: string,
    readonly dir: string,
    size: number,
    private hash: Hash,
  ) {
    this.size = size
    this.lastActive = Date.now()
  }

  get busy(): boolean {
    return this.running > 0
  }

  private get dataPath(): string {
    return join(this.dir, 'data')
  }

  /** Runs `job` after every earlier operation on this session. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    this.running++
    const next = this.queue.then(() => {
      if (this.closed) throw new ImageWriteError('upload-unknown', `upload ${this.id} is finished`, { id: this.id })
      return job()
    })
    this.queue = next.catch(() => undefined).finally(() => this.running--)
    return next
  }

  append(chunks: AsyncIterable<Uint8Array>, options: AppendOptions = {}): Promise<number> {
    return this.serial(async () => {
      if (options.offset !== undefined && options.offset !== this.size) {
        // Nothing of the request is read: the client learns the size from the answer.
        throw new ImageWriteError('upload-range', `chunk starts at ${options.offset}, the upload holds ${this.size} bytes`, {
          size: this.size,
        })
      }
      const start = this.size
      const saved = this.hash.copy()
      let written = 0
      let fh
      try {
        fh = await open(this.dataPath, 'r+')
      } catch (err) {
        if (isMissing(err)) throw new ImageWriteError('upload-unknown', `upload ${this.id} is gone`, { id: this.id })
        throw err
      }
      try {
        let batch: Buffer[] = []
        let batched = 0
        const flush = async (): Promise<void> => {
          if (batched === 0) return
          const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched)
          batch = []
          batched = 0
          let done = 0
          while (done < buf.length) {
            const { bytesWritten } = await fh.write(buf, done, buf.length - done, start + written + done)
            done += bytesWritten
          }
          this.hash.update(buf)
          written += buf.length
          this.lastActive = Date.now()
        }
        for await (const chunk of chunks) {
          const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
          batch.push(b)
          batched += b.length
          if (batched >= WRITE_BATCH) await flush()
        }
        await flush()
        if (options.length !== undefined && written !== options.length) {
          throw new ImageWriteError('size-mismatch', `${written} bytes received, ${options.length} announced`, {
            received: written,
            announced: options.length,
          })
        }
      } catch (err) {
        // Cut back to what the session held: the chunk counts whole or not at all.
        this.hash = saved
        await fh.truncate(start).catch(() => undefined)
        await fh.close()
        throw err
      }
      await fh.close()
      this.size = start + written
      this.lastActive = Date.now()
      return this.size
    })
  }

  commit(digest: Digest): Promise<BlobStat> {
    return this.serial(async () => {
      const actual =
        digest.algorithm === 'sha256' ? this.hash.copy().digest('hex') : (await hashFile(this.dataPath, digest.algorithm)).digest('hex')
      if (actual !== digest.hex) {
        await this.discard()
        throw new ImageWriteError('digest-mismatch', `the upload's bytes are ${digest.algorithm}:${actual}, not ${digest.value}`, {
          digest: digest.value,
          actual: `${digest.algorithm}:${actual}`,
        })
      }
      const fh = await open(this.dataPath, 'r+')
      try {
        await fh.sync()
      } finally {
        await fh.close()
      }
      const placed = await this.owner.committer.placeUpload(this.name, this.dataPath, digest)
      await this.discard()
      return placed
    })
  }

  cancel(): Promise<void> {
    return this.serial(() => this.discard())
  }

  /** Ends the session and removes its folder (what is left of it). */
  async discard(): Promise<void> {
    this.closed = true
    this.owner.forget(this)
    await rm(this.dir, { recursive: true, force: true })
  }
}

export interface UploadSessionsOptions {
  /** The docker/registry/v2 folder. */
  base: string
  committer: UploadCommitter
  /** Open sessions at most; more are refused (`too-many-uploads`). */
  maxSessions: number
  /** A session with no bytes for this long is removed by `sweep`. */
  ttlMs: number
}

export class UploadSessions {
  readonly committer: UploadCommitter
  private readonly sessions = new Map<string, Upload>()

  constructor(private readonly options: UploadSessionsOptions) {
    this.committer = options.committer
  }

  /** Sessions open in this process. */
  get open(): number {
    return this.sessions.size
  }

  forget(upload: Upload): void {
    if (this.sessions.get(upload.id) === upload) this.sessions.delete(upload.id)
  }

  private dir(name: string, id: string): string {
    return pathFor(this.options.base, { kind: 'upload', name, id })
  }

  private admit(): void {
    if (this.sessions.size >= this.options.maxSessions) {
      throw new ImageWriteError('too-many-uploads', `${this.sessions.size} uploads are open; finish or cancel some first`, {
        open: this.sessions.size,
      })
    }
  }

  async start(name: string): Promise<UploadSession> {
    this.admit()
    const id = randomUUID()
    const dir = this.dir(name, id)
    // The session folder is Outpost's own state (0700); the repository folders above it are not.
    await mkdir(dirname(dir), { recursive: true })
    await mkdir(dir, { mode: 0o700 })
    await chmod(dir, 0o700)
    await writeFile(join(dir, 'startedat'), rfc3339(new Date()))
    await writeFile(join(dir, 'data'), '')
    const upload = new Upload(this, name, id, dir, 0, createHash('sha256'))
    this.sessions.set(id, upload)
    return upload
  }

  /** The session `id` of repository `name`: in memory, or found on disk and hashed again. */
  async resume(name: string, id: string): Promise<UploadSession | null> {
    if (!UUID_RE.test(id)) return null
    const known = this.sessions.get(id)
    if (known) return known.name === name ? known : null
    const dir = this.dir(name, id)
    let size: number
    try {
      await stat(join(dir, 'startedat'))
      size = (await stat(join(dir, 'data'))).size
    } catch (err) {
      if (isMissing(err)) return null
      throw err
    }
    this.admit()
    const hash = await hashFile(join(dir, 'data'), 'sha256')
    // Another request may have found it while this one was hashing.
    const raced = this.sessions.get(id)
    if (raced) return raced
    const upload = new Upload(this, name, id, dir, size, hash)
    this.sessions.set(id, upload)
    return upload
  }

  /**
   * Removes sessions with no bytes for `ttlMs`: those open in this process,
   * and those left on disk by an earlier one (`startedat` and the data
   * file's mtime tell their age) under `repositories`.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    const removed: string[] = []
    const cutoff = now - this.options.ttlMs
    for (const upload of [...this.sessions.values()]) {
      if (!upload.busy && upload.lastActive < cutoff) {
        await upload.cancel().catch(() => undefined)
        removed.push(upload.dir)
      }
    }
    const visit = async (dir: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (err) {
        if (isMissing(err)) return
        throw err
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue
        if (e.name === '_uploads') {
          for (const id of await readdir(join(dir, e.name)).catch(() => [] as string[])) {
            if (this.sessions.has(id)) continue
            const at = join(dir, e.name, id)
            if ((await lastActivity(at)) < cutoff) {
              await rm(at, { recursive: true, force: true })
              removed.push(at)
            }
          }
        } else if (!e.name.startsWith('_')) {
          await visit(join(dir, e.name))
        }
      }
    }
    await visit(pathFor(this.options.base, { kind: 'repositories' }))
    return removed
  }
}

/** When a session left on disk last saw bytes: the later of `startedat` and the data file's mtime. */
const lastActivity = async (dir: string): Promise<number> => {
  let latest = 0
  try {
    const started = Date.parse((await readFile(join(dir, 'startedat'), 'utf8')).trim())
    if (Number.isFinite(started)) latest = started
  } catch {
    // no startedat: the data file alone tells
  }
  try {
    latest = Math.max(latest, (await stat(join(dir, 'data'))).mtimeMs)
  } catch {
    // neither: as old as the folder
    if (latest === 0) latest = (await stat(dir).catch(() => ({ mtimeMs: 0 }))).mtimeMs
  }
  return latest
}
