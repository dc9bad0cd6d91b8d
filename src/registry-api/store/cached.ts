/**
 * A store wrapper that remembers answers for a short time. A manifest GET
 * by tag otherwise pays a stat (is the repository there?) and a link read
 * (open, read, close) on every request, and _catalog a walk of the whole
 * tree; with these kept for a second or two, manifests, tags and the
 * catalog are served from memory under load, while content copied into a
 * root still shows up within seconds without a restart.
 *
 * Blob and manifest *contents* are never cached here: they are addressed by
 * digest (the manifest cache keeps bytes, the blob path is opened per
 * request).
 */
import type { Digest } from '../grammar.js'
import type { ImageStore } from './types.js'

export interface CacheTtls {
  /** repositories() — the whole-tree walk behind _catalog. */
  repositoriesMs: number
  /** hasRepository, tags, resolveTag, manifestDigests. */
  lookupsMs: number
  /** hasManifest and blobPath, positive answers only (links are rarely removed). */
  linksMs: number
}

export const DEFAULT_TTLS: CacheTtls = { repositoriesMs: 5000, lookupsMs: 1000, linksMs: 5000 }

/** A bounded map whose entries expire; the oldest entries go first when full. */
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expires: number }>()
  private readonly inflight = new Map<string, Promise<V>>()
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const hit = this.map.get(key)
    if (!hit) return undefined
    if (hit.expires <= now) {
      this.map.delete(key)
      return undefined
    }
    return hit.value
  }

  set(key: string, value: V, now = Date.now()): void {
    if (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next().value
      if (oldest !== undefined) this.map.delete(oldest)
    }
    this.map.set(key, { value, expires: now + this.ttlMs })
  }

  /** Answers from the cache, else computes once (concurrent callers share the promise). */
  async through(key: string, compute: () => Promise<V>, keep: (v: V) => boolean = () => true): Promise<V> {
    const hit = this.get(key)
    if (hit !== undefined) return hit
    const running = this.inflight.get(key)
    if (running) return running
    const promise = compute().then(
      (value) => {
        this.inflight.delete(key)
        if (keep(value)) this.set(key, value)
        return value
      },
      (err: unknown) => {
        this.inflight.delete(key)
        throw err
      },
    )
    this.inflight.set(key, promise)
    return promise
  }

  clear(): void {
    this.map.clear()
  }
}

export class CachedStore implements ImageStore {
  readonly label: string
  private readonly repos: TtlCache<string[]>
  private readonly lookups: TtlCache<unknown>
  private readonly links: TtlCache<unknown>

  constructor(
    readonly inner: ImageStore,
    ttls: CacheTtls = DEFAULT_TTLS,
  ) {
    this.label = inner.label
    this.repos = new TtlCache(ttls.repositoriesMs, 1)
    this.lookups = new TtlCache(ttls.lookupsMs)
    this.links = new TtlCache(ttls.linksMs)
  }

  repositories(): Promise<string[]> {
    return this.repos.through('all', () => this.inner.repositories())
  }

  hasRepository(name: string): Promise<boolean> {
    return this.lookups.through(`r:${name}`, () => this.inner.hasRepository(name)) as Promise<boolean>
  }

  tags(name: string): Promise<string[] | null> {
    return this.lookups.through(`t:${name}`, () => this.inner.tags(name)) as Promise<string[] | null>
  }

  resolveTag(name: string, tag: string): Promise<Digest | null> {
    return this.lookups.through(`g:${name}:${tag}`, () => this.inner.resolveTag(name, tag)) as Promise<Digest | null>
  }

  manifestDigests(name: string): Promise<Digest[]> {
    return this.lookups.through(`m:${name}`, () => this.inner.manifestDigests(name)) as Promise<Digest[]>
  }

  hasManifest(name: string, digest: Digest): Promise<boolean> {
    return this.links.through(`h:${name}@${digest.value}`, () => this.inner.hasManifest(name, digest), (v) => v === true) as Promise<boolean>
  }

  blobPath(name: string, digest: Digest): Promise<string | null> {
    return this.links.through(`b:${name}@${digest.value}`, () => this.inner.blobPath(name, digest), (v) => v !== null) as Promise<string | null>
  }

  contentPath(digest: Digest): string {
    return this.inner.contentPath(digest)
  }
}
