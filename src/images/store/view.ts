/**
 * One repository as requests see it across every store that holds it (the
 * push root first, then the configured roots in their order): tags are the
 * union, and a tag held by several stores resolves in the first, so a tag
 * pushed later wins while every other tag stays pullable; a manifest or
 * blob is served by the first store holding the repository that links it.
 */
import type { OpenedFile } from '../../http/index.js'
import type { Digest } from '../grammar.js'
import type { ManifestReadResult } from '../manifests.js'
import type { BlobStat, ImageStore } from './types.js'

export class RepositoryView {
  constructor(
    /** The stored repository name. */
    readonly name: string,
    /** The stores holding it, in consultation order. */
    readonly stores: readonly ImageStore[],
  ) {}

  /** The labels of the stores, for logs. */
  get label(): string {
    return this.stores.map((s) => s.label).join(', ')
  }

  /** Every tag of every store, once, sorted. */
  async tags(): Promise<string[]> {
    const all = new Set<string>()
    for (const s of this.stores) for (const t of (await s.tags(this.name)) ?? []) all.add(t)
    return [...all].sort()
  }

  async resolveTag(tag: string): Promise<Digest | null> {
    for (const s of this.stores) {
      const d = await s.resolveTag(this.name, tag)
      if (d) return d
    }
    return null
  }

  async hasManifest(digest: Digest): Promise<boolean> {
    for (const s of this.stores) if (await s.hasManifest(this.name, digest)) return true
    return false
  }

  /** Manifest digests of every store, once. */
  async manifestDigests(): Promise<Digest[]> {
    const out = new Map<string, Digest>()
    for (const s of this.stores) for (const d of await s.manifestDigests(this.name)) if (!out.has(d.value)) out.set(d.value, d)
    return [...out.values()]
  }

  async stat(digest: Digest): Promise<BlobStat | null> {
    for (const s of this.stores) {
      const st = await s.stat(this.name, digest)
      if (st) return st
    }
    return null
  }

  async open(digest: Digest): Promise<OpenedFile | null> {
    for (const s of this.stores) {
      const f = await s.open(this.name, digest)
      if (f) return f
    }
    return null
  }

  /**
   * A manifest's bytes from the first store that has them, verified. When
   * none has good bytes, the first failure other than `missing` is the
   * answer (so a corrupt copy is reported).
   */
  async readManifest(digest: Digest): Promise<ManifestReadResult> {
    let failure: ManifestReadResult = { ok: false, reason: 'missing' }
    for (const s of this.stores) {
      const r = await s.readManifest(digest)
      if (r.ok) return r
      if (failure.ok === false && failure.reason === 'missing') failure = r
    }
    return failure
  }

  async readBlob(digest: Digest): Promise<Buffer | null> {
    for (const s of this.stores) {
      const b = await s.readBlob(digest)
      if (b) return b
    }
    return null
  }
}
