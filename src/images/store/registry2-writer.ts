/**
 * A registry:2 tree Outpost writes (the push root), exactly as
 * docker-registry writes one, so docker-registry can serve it in place and
 * the catalog reads it like any other root (layout: registry2-paths.ts).
 *
 * Crash safety: every step is durable before the next one relies on it, and
 * each step is a rename, so `kill -9` at any moment leaves the old state or
 * the new one:
 * - a blob's bytes go to a file of their own (an upload's `data`, or a file
 *   in the work folder), are hashed as written and checked against the
 *   digest, flushed, and renamed to `blobs/…/data`; renaming over a blob
 *   already there is harmless (same bytes), so two pushes of one blob both
 *   succeed;
 * - links are written to a temporary name, flushed, and renamed;
 * - a manifest's order is blob, revision link, tag index link, tag current
 *   link: a tag never points at a manifest that is not fully stored;
 * - removals rename the folder away (into the work folder) before deleting
 *   it, so a tag or link is there whole or not at all.
 *
 * The work folder, `<root>/.outpost-work`, sits beside `docker/` (outside
 * the tree docker-registry reads, on the same file system): temporary blob
 * files of `putBlob` and folders being removed. Leftovers of a crash there
 * are removed by `sweep`.
 */
import { createHash, randomUUID } from 'node:crypto'
import { chmod, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseDigest, type Digest } from '../grammar.js'
import type { ManifestInfo } from '../media-types.js'
import { exists, isMissing, statFile } from './disk.js'

/** The work folder and upload sessions are Outpost's own state. */
export const WORK_DIR_MODE = 0o700
import { mkdirDurable, removeDurable, renameDurable, writeFileDurable } from './durable.js'
import { Registry2Store } from './registry2.js'
import { pathFor, type Registry2PathSpec } from './registry2-paths.js'
import { UploadSessions } from './registry2-uploads.js'
import type { BlobStat, ImageWriter, UploadSession } from './types.js'
import { ImageWriteError, checkManifestBytes } from './write-errors.js'

/** The durable steps of a write, in order; a test may stop the writer after any of them. */
export type WriteStep =
  | 'blob-data'
  | 'layer-link'
  | 'manifest-data'
  | 'revision-link'
  | 'tag-index-link'
  | 'tag-current-link'
  | 'tag-removed'
  | 'revision-removed'
  | 'layer-removed'

export interface Registry2WriterOptions {
  /** Open upload sessions at most (default 1000). */
  maxUploads?: number
  /** An upload with no bytes for this long is removed by `sweep` (default 24 h). */
  uploadTtlMs?: number
  /** Called after each durable step (tests stop the writer there to play a crash). */
  onStep?: (step: WriteStep, detail: { name: string; digest?: string; tag?: string }) => void | Promise<void>
}

/** The descriptors a manifest needs in its repository before it may be stored. */
export interface ManifestReferences {
  /** Config and layers of an image manifest (never its subject). */
  blobs: Digest[]
  /** Children of an index. */
  manifests: Digest[]
}

/** Layers a registry need not hold (Windows foreign layers, fetched from their `urls`). */
const isForeign = (d: { mediaType?: string; urls?: unknown }): boolean =>
  Array.isArray(d.urls) && d.urls.length > 0 && /foreign|nondistributable/.test(d.mediaType ?? '')

/** What a manifest references, the subject excepted (it may be pushed later, or never). */
export const referencesOf = (info: ManifestInfo): ManifestReferences => {
  const blobs: Digest[] = []
  const manifests: Digest[] = []
  const add = (list: Digest[], value: string): void => {
    const d = parseDigest(value)
    if (d && !list.some((x) => x.value === d.value)) list.push(d)
  }
  if (info.config) add(blobs, info.config.digest)
  for (const l of info.layers ?? []) if (!isForeign(l as { mediaType?: string; urls?: unknown })) add(blobs, l.digest)
  for (const m of info.manifests ?? []) add(manifests, m.digest)
  return { blobs, manifests }
}

export class Registry2WritableStore extends Registry2Store implements ImageWriter {
  /** Temporary blob files and folders being removed (see above). */
  readonly workDir: string
  readonly uploads: UploadSessions
  private readonly onStep: NonNullable<Registry2WriterOptions['onStep']>
  private readonly ttlMs: number

  constructor(root: string, options: Registry2WriterOptions = {}) {
    super(root)
    this.workDir = join(root, '.outpost-work')
    this.onStep = options.onStep ?? (() => undefined)
    this.ttlMs = options.uploadTtlMs ?? 24 * 3600_000
    this.uploads = new UploadSessions({
      base: this.rootDir,
      committer: { placeUpload: (name, dataPath, digest) => this.placeUpload(name, dataPath, digest) },
      maxSessions: options.maxUploads ?? 1000,
      ttlMs: this.ttlMs,
    })
  }

  /**
   * Makes the tree's folders (a fresh push root is an empty registry:2
   * tree), checks that it can be written, and clears crash leftovers.
   */
  async init(): Promise<void> {
    await mkdirDurable(this.at({ kind: 'repositories' }))
    await mkdirDurable(this.at({ kind: 'blobs' }))
    // Outpost's own work files: closed to other users whatever the umask.
    await mkdir(this.workDir, { recursive: true, mode: WORK_DIR_MODE })
    await chmod(this.workDir, WORK_DIR_MODE).catch(() => undefined)
    const probe = join(this.workDir, `probe-${randomUUID()}`)
    await writeFile(probe, '')
    await rm(probe)
    await this.sweepWork(0)
  }

  private at(spec: Registry2PathSpec): string {
    return pathFor(this.rootDir, spec)
  }

  /**
   * Removes abandoned uploads and work files: uploads and temporary blob
   * files untouched for the upload expiry, folders being removed at once.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    return [...(await this.uploads.sweep(now)), ...(await this.sweepWork(now))]
  }

  private async sweepWork(now: number): Promise<string[]> {
    const removed: string[] = []
    let names: string[]
    try {
      names = await readdir(this.workDir)
    } catch (err) {
      if (isMissing(err)) return removed
      throw err
    }
    for (const n of names) {
      const p = join(this.workDir, n)
      if (!n.startsWith('trash-')) {
        // A temporary blob file is written to constantly while in use.
        const st = await stat(p).catch(() => null)
        if (!st || now === 0 || now - st.mtimeMs < this.ttlMs) continue
      }
      await rm(p, { recursive: true, force: true })
      removed.push(p)
    }
    return removed
  }

  // ---- blobs

  /** Whether the blob's bytes are in the tree. */
  hasBlobData(digest: Digest): Promise<boolean> {
    return exists(this.at({ kind: 'blobData', digest }))
  }

  /** Moves a verified, flushed file to the blob's place (a blob already there stays: same bytes). */
  private async placeData(file: string, digest: Digest): Promise<void> {
    const target = this.at({ kind: 'blobData', digest })
    if (await exists(target)) {
      await rm(file, { force: true })
      return
    }
    await renameDurable(file, target)
  }

  async placeUpload(name: string, dataPath: string, digest: Digest): Promise<BlobStat> {
    await this.placeData(dataPath, digest)
    await this.onStep('blob-data', { name, digest: digest.value })
    await this.linkBlob(name, digest)
    const st = await statFile(this.at({ kind: 'blobData', digest }))
    if (!st) throw new Error(`blob ${digest.value} vanished after it was stored`)
    return st
  }

  async putBlob(digest: Digest, bytes: AsyncIterable<Uint8Array>): Promise<BlobStat> {
    const existing = await statFile(this.at({ kind: 'blobData', digest }))
    if (existing) {
      for await (const _ of bytes) {
        // drained: the blob is there already
      }
      return existing
    }
    await mkdir(this.workDir, { recursive: true, mode: WORK_DIR_MODE })
    const tmp = join(this.workDir, `blob-${randomUUID()}`)
    const hash = createHash(digest.algorithm)
    const fh = await open(tmp, 'wx')
    try {
      for await (const chunk of bytes) {
        await fh.write(chunk)
        hash.update(chunk)
      }
      const actual = hash.digest('hex')
      if (actual !== digest.hex) {
        throw new ImageWriteError('digest-mismatch', `bytes are ${digest.algorithm}:${actual}, not ${digest.value}`, {
          digest: digest.value,
          actual: `${digest.algorithm}:${actual}`,
        })
      }
      await fh.sync()
    } catch (err) {
      await fh.close()
      await rm(tmp, { force: true })
      throw err
    }
    await fh.close()
    await this.placeData(tmp, digest)
    await this.onStep('blob-data', { name: '', digest: digest.value })
    return (await statFile(this.at({ kind: 'blobData', digest })))!
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    if (!(await this.hasBlobData(digest)))
      throw new ImageWriteError('blob-unknown', `blob ${digest.value} is not stored`, { missing: [digest.value] })
    await writeFileDurable(this.at({ kind: 'layerLink', name, digest }), digest.value)
    await this.onStep('layer-link', { name, digest: digest.value })
  }

  // ---- uploads

  startUpload(name: string): Promise<UploadSession> {
    return this.uploads.start(name)
  }

  resumeUpload(name: string, id: string): Promise<UploadSession | null> {
    return this.uploads.resume(name, id)
  }

  // ---- manifests and tags

  /** The references of `info` the repository lacks (blobs by link, children by revision link). */
  async missingReferences(name: string, info: ManifestInfo): Promise<string[]> {
    const refs = referencesOf(info)
    const missing: string[] = []
    for (const d of refs.blobs) {
      if (!((await this.linksBlob(name, d)) && (await this.hasBlobData(d)))) missing.push(d.value)
    }
    for (const d of refs.manifests) {
      if (!((await this.hasManifest(name, d)) && (await this.hasBlobData(d)))) missing.push(d.value)
    }
    return missing
  }

  async putManifest(name: string, digest: Digest, bytes: Uint8Array, tag?: string): Promise<void> {
    const info = checkManifestBytes(digest, bytes)
    const missing = await this.missingReferences(name, info)
    if (missing.length)
      throw new ImageWriteError(
        'blob-unknown',
        `manifest references ${missing.length} blob(s) or manifest(s) the repository does not hold`,
        { missing },
      )

    if (!(await this.hasBlobData(digest))) {
      await mkdir(this.workDir, { recursive: true, mode: WORK_DIR_MODE })
      const tmp = join(this.workDir, `blob-${randomUUID()}`)
      const fh = await open(tmp, 'wx')
      try {
        await fh.writeFile(bytes)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await this.placeData(tmp, digest)
    }
    await this.onStep('manifest-data', { name, digest: digest.value })
    await writeFileDurable(this.at({ kind: 'revisionLink', name, digest }), digest.value)
    await this.onStep('revision-link', { name, digest: digest.value })
    if (tag !== undefined) await this.tag(name, tag, digest)
  }

  /** Points `tag` at a manifest of the repository (tag history link first, as docker-registry does). */
  async tag(name: string, tag: string, digest: Digest): Promise<void> {
    if (!(await this.hasManifest(name, digest)))
      throw new ImageWriteError('blob-unknown', `manifest ${digest.value} is not in ${name}`, { missing: [digest.value] })
    await writeFileDurable(this.at({ kind: 'tagIndexLink', name, tag, digest }), digest.value)
    await this.onStep('tag-index-link', { name, tag, digest: digest.value })
    await writeFileDurable(this.at({ kind: 'tagCurrentLink', name, tag }), digest.value)
    await this.onStep('tag-current-link', { name, tag, digest: digest.value })
  }

  /** Tags of the repository whose current link points at `digest`. */
  async tagsOf(name: string, digest: Digest): Promise<string[]> {
    const out: string[] = []
    for (const tag of (await this.tags(name)) ?? []) {
      if ((await this.resolveTag(name, tag))?.value === digest.value) out.push(tag)
    }
    return out
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    if (!(await removeDurable(this.at({ kind: 'tag', name, tag }), this.workDir))) {
      throw new ImageWriteError('not-found', `no tag ${tag} in ${name}`, { tag })
    }
    await this.onStep('tag-removed', { name, tag })
  }

  /** Removes the manifest's tags first, then its revision link: no tag is left pointing at it. */
  async deleteManifest(name: string, digest: Digest): Promise<void> {
    if (!(await this.hasManifest(name, digest)))
      throw new ImageWriteError('not-found', `no manifest ${digest.value} in ${name}`, { digest: digest.value })
    for (const tag of await this.tagsOf(name, digest)) {
      if (await removeDurable(this.at({ kind: 'tag', name, tag }), this.workDir)) await this.onStep('tag-removed', { name, tag })
    }
    await removeDurable(this.at({ kind: 'revision', name, digest }), this.workDir)
    await this.onStep('revision-removed', { name, digest: digest.value })
  }

  /** Unlinks a blob from the repository; its bytes stay (other repositories may link them). */
  async deleteBlob(name: string, digest: Digest): Promise<void> {
    if (!(await removeDurable(this.at({ kind: 'layer', name, digest }), this.workDir))) {
      throw new ImageWriteError('not-found', `no blob ${digest.value} in ${name}`, { digest: digest.value })
    }
    await this.onStep('layer-removed', { name, digest: digest.value })
  }
}
