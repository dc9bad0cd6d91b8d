/**
 * A store wrapper that remembers answers for a short time. A manifest GET
 * by tag otherwise pays a stat (is the repository there?) and a link read
 * (open, read, close) on every request, and _catalog a walk of the whole
 * tree; with these kept for a second or two, manifests, tags and the
 * catalog are served from memory under load, while content copied into a
 * root still shows up within seconds without a restart.
 *
 * Blob contents are never cached: a blob is opened per request (whether
 * it belongs to the repository is remembered). Manifest bytes are kept by
 * digest in a ManifestCache, verified once; a store shares one with the
 * other stores of its set (content addressed by digest is the same
 * wherever it is stored). Everything else is forwarded as it is, so a
 * caller never needs to know whether a store is wrapped.
 */
import type { OpenedFile } from '../../http/index.js'
import type { Digest } from '../grammar.js'
import { ManifestCache, type ManifestReadResult } from '../manifests.js'
import type { BlobStat, DiskStore, ImageStore, ReferenceProblem, StoredBlob, WatchSpec } from './types.js'

export interface CacheTtls {
  /** repositories() — the whole-tree walk behind _catalog. */
  repositoriesMs: number
  /** hasRepository, tags, resolveTag, manifestDigests. */
  lookupsMs: number
  /** hasManifest and whether a blob belongs to a repository (open), positive answers only (links are rarely removed). */
  linksMs: number
}

export const DEFAULT_TTLS: CacheTtls = { repositoriesMs: 5000, lookupsMs: 1000, linksMs: 5000 }

/** A bounded map whose entries expire; the oldest entries go first when full. */
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expires: number }>()
  private readonly inflight = new Map<string, Promise<V>>()
  /** Bumped by `forget`: an answer computed across a change is not kept. */
  private generation = 0
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
    const generation = this.generation
    const promise = compute().then(
      (value) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key)
        if (keep(value) && generation === this.generation) this.set(key, value)
        return value
      },
      (err: unknown) => {
        if (this.inflight.get(key) === promise) this.inflight.delete(key)
        throw err
      },
    )
    this.inflight.set(key, promise)
    return promise
  }

  clear(): void {
    this.forget(() => true)
  }

  /**
   * Drops the entries whose keys match, and every answer being computed (it
   * may have read the disk before the change): the next read sees the disk.
   */
  forget(matches: (key: string) => boolean): void {
    this.generation++
    for (const key of [...this.map.keys()]) if (matches(key)) this.map.delete(key)
    this.inflight.clear()
  }
}

export class CachedStore implements ImageStore {
  readonly label: string
  readonly rootDir: string
  private readonly repos: TtlCache<string[]>
  private readonly lookups: TtlCache<unknown>
  private readonly links: TtlCache<unknown>

  constructor(
    private readonly inner: DiskStore,
    ttls: CacheTtls = DEFAULT_TTLS,
    private readonly manifests: ManifestCache = new ManifestCache(),
  ) {
    this.label = inner.label
    this.rootDir = inner.rootDir
    this.repos = new TtlCache(ttls.repositoriesMs, 1)
    this.lookups = new TtlCache(ttls.lookupsMs)
    this.links = new TtlCache(ttls.linksMs)
  }

  get readFolders(): readonly string[] {
    return this.inner.readFolders
  }

  repositories(): Promise<string[]> {
    return this.repos.through('all', () => this.inner.repositories())
  }

  /**
   * Forgets what is remembered about a repository, after Outpost itself
   * wrote to it: the change is served on the next request, not after the
   * cache's lifetime.
   */
  forget(name: string): void {
    // Keys are `<letter>:<name>` followed by nothing, `:<tag>` or `@<digest>`.
    const about = (key: string): boolean =>
      key.startsWith(name, 2) && (key.length === name.length + 2 || ':@'.includes(key[name.length + 2]!))
    this.repos.clear()
    this.lookups.forget(about)
    this.links.forget(about)
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
    return this.links.through(
      `h:${name}@${digest.value}`,
      () => this.inner.hasManifest(name, digest),
      (v) => v === true,
    ) as Promise<boolean>
  }

  private linksBlob(name: string, digest: Digest): Promise<boolean> {
    return this.links.through(
      `b:${name}@${digest.value}`,
      () => this.inner.linksBlob(name, digest),
      (v) => v === true,
    ) as Promise<boolean>
  }

  stat(name: string, digest: Digest): Promise<BlobStat | null> {
    return this.inner.stat(name, digest)
  }

  /** The link answer from the cache, then one open and one fstat, as unwrapped. */
  async open(name: string, digest: Digest): Promise<OpenedFile | null> {
    return (await this.linksBlob(name, digest)) ? this.inner.openContent(digest) : null
  }

  readManifest(digest: Digest): Promise<ManifestReadResult> {
    return this.manifests.read(digest, () => this.inner.readManifest(digest))
  }

  readBlob(digest: Digest): Promise<Buffer | null> {
    return this.inner.readBlob(digest)
  }

  blobs(): AsyncIterable<StoredBlob> {
    return this.inner.blobs()
  }

  verifyReferences(): Promise<ReferenceProblem[]> {
    return this.inner.verifyReferences()
  }

  watchSpec(): WatchSpec {
    return this.inner.watchSpec()
  }
}
