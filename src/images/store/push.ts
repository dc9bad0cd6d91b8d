/**
 * Writes into the push root, as the registry API and `outpost import` make
 * them: through here, so that
 * - the caching wrapper of the push root forgets what it knew about a
 *   repository the moment a write to it is durable (a push is served on
 *   the next request, on every listener);
 * - the push root stands alone: a blob or child manifest that a pushed
 *   manifest (or a cross-repository mount) takes from another store holding
 *   the repository (a bundle root, an OCI layout) is copied into the push
 *   root first, verified against its digest. Other stores are never written.
 */
import type { OpenedFile } from '../../http/index.js'
import type { Digest } from '../grammar.js'
import type { ManifestInfo } from '../media-types.js'
import type { CachedStore } from './cached.js'
import { referencesOf, type Registry2WritableStore } from './registry2-writer.js'
import type { BlobStat, ImageWriter, UploadSession } from './types.js'
import { RepositoryView } from './view.js'
import { ImageWriteError, isWriteError, checkManifestBytes } from './write-errors.js'

/** How deep an index of indexes is followed when its children are copied in. */
const MAX_NESTING = 8

/** The bytes of an opened file, from the start, in 1 MiB reads; closes it. */
async function* readOpened(file: OpenedFile): AsyncGenerator<Uint8Array> {
  try {
    let position = 0
    while (position < file.size) {
      const buf = Buffer.allocUnsafe(Math.min(1024 * 1024, file.size - position))
      const { bytesRead } = await file.handle.read(buf, 0, buf.length, position)
      if (bytesRead === 0) throw new Error(`file shrank while copying (${position} of ${file.size} bytes)`)
      position += bytesRead
      yield buf.subarray(0, bytesRead)
    }
  } finally {
    await file.handle.close()
  }
}

export interface PushTargetOptions {
  /** The push root. */
  store: Registry2WritableStore
  /** The push root as requests read it. */
  cached: CachedStore
  /** A repository across every store holding it (the push root included). */
  view: (name: string) => Promise<RepositoryView>
}

export class PushTarget implements ImageWriter {
  readonly store: Registry2WritableStore
  private readonly cached: CachedStore
  private readonly view: (name: string) => Promise<RepositoryView>

  constructor(options: PushTargetOptions) {
    this.store = options.store
    this.cached = options.cached
    this.view = options.view
  }

  get label(): string {
    return this.store.label
  }

  /** Makes the push root (an empty registry:2 tree) and checks it can be written; call before the first write. */
  init(): Promise<void> {
    return this.store.init()
  }

  private changed(name: string): void {
    this.cached.forget(name)
  }

  async putBlob(digest: Digest, bytes: AsyncIterable<Uint8Array>): Promise<BlobStat> {
    return this.store.putBlob(digest, bytes)
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    try {
      await this.store.linkBlob(name, digest)
    } finally {
      this.changed(name)
    }
  }

  private session(name: string, s: UploadSession): UploadSession {
    return {
      get id() {
        return s.id
      },
      get size() {
        return s.size
      },
      append: (chunks, options) => s.append(chunks, options),
      commit: async (digest) => {
        try {
          return await s.commit(digest)
        } finally {
          this.changed(name)
        }
      },
      cancel: () => s.cancel(),
    }
  }

  async startUpload(name: string): Promise<UploadSession> {
    return this.session(name, await this.store.startUpload(name))
  }

  async resumeUpload(name: string, id: string): Promise<UploadSession | null> {
    const s = await this.store.resumeUpload(name, id)
    return s ? this.session(name, s) : null
  }

  /**
   * A blob of `name` in the push root, copied from `source` when only
   * another store has it. False when `source` does not link it.
   */
  private async adoptBlob(name: string, digest: Digest, source: RepositoryView): Promise<boolean> {
    const here = await this.store.hasBlobData(digest)
    if (here && (await this.store.linksBlob(name, digest))) return true
    if (!(await source.stat(digest))) return false
    if (!here) {
      const file = await source.open(digest)
      if (!file) return false
      await this.store.putBlob(digest, readOpened(file))
    }
    await this.store.linkBlob(name, digest)
    return true
  }

  /** A child manifest of `name` in the push root, copied (with what it references) from `source`. */
  private async adoptManifest(name: string, digest: Digest, source: RepositoryView, depth: number): Promise<string[]> {
    if ((await this.store.hasManifest(name, digest)) && (await this.store.hasBlobData(digest))) return []
    if (depth > MAX_NESTING || !(await source.hasManifest(digest))) return [digest.value]
    const read = await source.readManifest(digest)
    if (!read.ok) return [digest.value]
    const missing = await this.adoptReferences(name, read.manifest.info, source, depth + 1)
    if (missing.length === 0) await this.store.putManifest(name, digest, read.manifest.bytes)
    return missing
  }

  /** Brings what a manifest references into the push root's repository; answers what none of the stores has. */
  private async adoptReferences(name: string, info: ManifestInfo, source: RepositoryView, depth = 0): Promise<string[]> {
    const refs = referencesOf(info)
    const missing: string[] = []
    for (const d of refs.blobs) if (!(await this.adoptBlob(name, d, source))) missing.push(d.value)
    for (const d of refs.manifests) missing.push(...(await this.adoptManifest(name, d, source, depth)))
    return missing
  }

  /**
   * Cross-repository mount: links into `name` a blob that repository `from`
   * links (in any store). Null when `from` does not have it.
   */
  async mount(name: string, digest: Digest, from: string): Promise<BlobStat | null> {
    try {
      if (!(await this.adoptBlob(name, digest, await this.view(from)))) return null
    } finally {
      this.changed(name)
    }
    return this.store.stat(name, digest)
  }

  /**
   * Stores a manifest in the push root and points `tag` at it. Its blobs
   * and children must be in the repository, in the push root or in another
   * store holding it (they are then copied in); else `blob-unknown` with
   * the missing digests. The subject is never required.
   */
  async putManifest(name: string, digest: Digest, bytes: Uint8Array, tag?: string): Promise<void> {
    const info = checkManifestBytes(digest, bytes)
    try {
      const missing = await this.adoptReferences(name, info, await this.view(name))
      if (missing.length) {
        throw new ImageWriteError(
          'blob-unknown',
          `manifest references ${missing.length} blob(s) or manifest(s) the repository does not hold`,
          { missing },
        )
      }
      await this.store.putManifest(name, digest, bytes, tag)
    } finally {
      this.changed(name)
    }
  }

  /** Whether another store holds what a delete in the push root did not find. */
  private async notHere(name: string, err: unknown, elsewhere: (view: RepositoryView) => Promise<boolean>): Promise<never> {
    if (isWriteError(err, 'not-found')) {
      const view = await this.view(name)
      const others = new RepositoryView(
        name,
        view.stores.filter((s) => s.rootDir !== this.store.rootDir),
      )
      if (await elsewhere(others))
        throw new ImageWriteError('read-only', `${err.message}: it is held by a read-only store (${others.label})`, err.detail)
    }
    throw err
  }

  async deleteManifest(name: string, digest: Digest): Promise<void> {
    try {
      await this.store.deleteManifest(name, digest)
    } catch (err) {
      await this.notHere(name, err, (v) => v.hasManifest(digest))
    } finally {
      this.changed(name)
    }
  }

  async deleteTag(name: string, tag: string): Promise<void> {
    try {
      await this.store.deleteTag(name, tag)
    } catch (err) {
      await this.notHere(name, err, async (v) => (await v.resolveTag(tag)) !== null)
    } finally {
      this.changed(name)
    }
  }

  async deleteBlob(name: string, digest: Digest): Promise<void> {
    try {
      await this.store.deleteBlob(name, digest)
    } catch (err) {
      await this.notHere(name, err, async (v) => (await v.stat(digest)) !== null)
    } finally {
      this.changed(name)
    }
  }
}
