/**
 * Where imported images go: the small write interface the push-root writer
 * implements (and an in-memory one for tests and dry checks).
 *
 * Import calls it in this order, so a reader of the store never sees an image
 * whose parts are missing: every blob of a source first (`putBlob`, skipped
 * when `hasBlob`), then, per image, its child manifests, its manifest, its
 * tag. A source that fails part-way leaves at most some verified blobs and no
 * manifest or tag of its images.
 */
import type { Readable } from 'node:stream'
import { createHash } from 'node:crypto'
import { parseDigest } from './deps.js'

export interface ImageSink {
  hasBlob(digest: string): Promise<boolean>
  /**
   * Stores a blob. `stream` is already checked while it flows (it errors
   * instead of ending when the bytes do not match), but the sink should check
   * digest and size again and store only when both match and the stream
   * ended: rejected means nothing stored.
   */
  putBlob(digest: string, size: number, stream: Readable): Promise<void>
  /** Whether `repo` already holds this manifest. */
  hasManifest(repo: string, digest: string): Promise<boolean>
  /**
   * Stores manifest bytes (exactly these bytes, served as `mediaType`) in
   * `repo` under their digest. Every blob and child manifest they reference
   * is stored already (in the sink, perhaps for another repository); the
   * sink links them to `repo` as registry:2 does (`_layers` links).
   */
  putManifest(repo: string, digest: string, bytes: Buffer, mediaType: string): Promise<void>
  /** The digest `repo:tag` points at, if the tag exists. */
  tagOf(repo: string, tag: string): Promise<string | undefined>
  /** Points `repo:tag` at a manifest stored in `repo` (creating or moving the tag). */
  tag(repo: string, tag: string, digest: string): Promise<void>
}

export interface StoredManifest {
  bytes: Buffer
  mediaType: string
}

/** An ImageSink in memory that checks the write order and counts writes. */
export class MemorySink implements ImageSink {
  readonly blobs = new Map<string, Buffer>()
  /** `repo@digest` → manifest */
  readonly manifests = new Map<string, StoredManifest>()
  /** `repo:tag` → digest */
  readonly tags = new Map<string, string>()
  /** Every write, in order: `blob sha256:…`, `manifest repo@sha256:…`, `tag repo:tag sha256:…`. */
  readonly writes: string[] = []
  /** Children of stored indexes that were not stored first (`repo@digest`): only a kept partial index has them. */
  readonly absentChildren: string[] = []

  async hasBlob(digest: string): Promise<boolean> {
    return this.blobs.has(digest)
  }

  async putBlob(digest: string, size: number, stream: Readable): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    const bytes = Buffer.concat(chunks)
    const algorithm = parseDigest(digest)?.algorithm ?? 'sha256'
    const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`
    if (bytes.length !== size || actual !== digest) throw new Error(`blob ${digest}: got ${bytes.length} bytes hashing to ${actual}`)
    this.blobs.set(digest, bytes)
    this.writes.push(`blob ${digest}`)
  }

  async hasManifest(repo: string, digest: string): Promise<boolean> {
    return this.manifests.has(`${repo}@${digest}`)
  }

  async putManifest(repo: string, digest: string, bytes: Buffer, mediaType: string): Promise<void> {
    const doc = JSON.parse(bytes.toString('utf8')) as {
      config?: { digest: string }
      layers?: Array<{ digest: string; urls?: string[] }>
      manifests?: Array<{ digest: string }>
    }
    for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
      if (!this.blobs.has(d.digest) && !('urls' in d)) throw new Error(`manifest ${digest} written before its blob ${d.digest}`)
    }
    for (const d of doc.manifests ?? []) {
      if (!this.manifests.has(`${repo}@${d.digest}`)) this.absentChildren.push(`${repo}@${d.digest}`)
    }
    this.manifests.set(`${repo}@${digest}`, { bytes, mediaType })
    this.writes.push(`manifest ${repo}@${digest}`)
  }

  async tagOf(repo: string, tag: string): Promise<string | undefined> {
    return this.tags.get(`${repo}:${tag}`)
  }

  async tag(repo: string, tag: string, digest: string): Promise<void> {
    if (!this.manifests.has(`${repo}@${digest}`)) throw new Error(`tag ${repo}:${tag} set before its manifest ${digest}`)
    this.tags.set(`${repo}:${tag}`, digest)
    this.writes.push(`tag ${repo}:${tag} ${digest}`)
  }
}
