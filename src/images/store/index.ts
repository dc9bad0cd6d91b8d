/**
 * Several stores at once: the push root (when there is one) first, then
 * the configured roots in configuration order. A repository is served
 * across every store that holds it (view.ts): tags are the union, a tag
 * resolves in the first store that has it.
 */
import { ManifestCache } from '../manifests.js'
import { CachedStore, DEFAULT_TTLS, type CacheTtls } from './cached.js'
import { PushTarget } from './push.js'
import type { Registry2WritableStore } from './registry2-writer.js'
import type { DiskStore, ImageStore } from './types.js'
import { RepositoryView } from './view.js'

export type {
  ImageStore,
  DiskStore,
  BlobStat,
  StoredBlob,
  ReferenceProblem,
  WatchSpec,
  WatchChange,
  ImageWriter,
  WritableImageStore,
  UploadSession,
} from './types.js'
export { Registry2Store } from './registry2.js'
export { OciLayoutStore } from './oci-layout.js'
export { CachedStore, TtlCache, DEFAULT_TTLS, type CacheTtls } from './cached.js'
export {
  Registry2WritableStore,
  referencesOf,
  type WriteStep,
  type Registry2WriterOptions,
  type ManifestReferences,
} from './registry2-writer.js'
export { ImageWriteError, isWriteError, type ImageWriteErrorKind } from './write-errors.js'
export { RepositoryView } from './view.js'
export { PushTarget } from './push.js'

export interface ImageStoresOptions {
  /** How long lookups are remembered for requests. */
  ttls?: CacheTtls
  /** Verified manifest bytes, shared by every store of the set. */
  manifests?: ManifestCache
  /** The writable registry:2 tree pushes go to, consulted before the others. */
  push?: Registry2WritableStore
}

export class ImageStores {
  /** The stores as requests read them, in consultation order, each behind a short-lived cache (cached.ts). */
  readonly stores: readonly ImageStore[]
  /**
   * The same stores read directly: for the catalog, its watcher and
   * `outpost verify`, which must see each change as soon as it is made.
   */
  readonly uncached: readonly ImageStore[]
  /** Writes into the push root; null when there is none (read-only). */
  readonly push: PushTarget | null

  constructor(stores: readonly DiskStore[], options: ImageStoresOptions = {}) {
    const manifests = options.manifests ?? new ManifestCache()
    const all: DiskStore[] = options.push ? [options.push, ...stores] : [...stores]
    this.uncached = all
    const cached = all.map((s) => new CachedStore(s, options.ttls ?? DEFAULT_TTLS, manifests))
    this.stores = cached
    this.push = options.push ? new PushTarget({ store: options.push, cached: cached[0]!, view: (name) => this.view(name) }) : null
  }

  /** The repository across the stores holding it (possibly none). */
  async view(name: string): Promise<RepositoryView> {
    const holding: ImageStore[] = []
    for (const store of this.stores) if (await store.hasRepository(name)) holding.push(store)
    return new RepositoryView(name, holding)
  }

  /** The repository across the stores holding it, or null when none does. */
  async locate(name: string): Promise<RepositoryView | null> {
    const view = await this.view(name)
    return view.stores.length ? view : null
  }

  /** Every repository of every store, once, sorted. */
  async repositories(): Promise<string[]> {
    const all = new Set<string>()
    for (const store of this.stores) for (const name of await store.repositories()) all.add(name)
    return [...all].sort()
  }

  /**
   * Repository names held by more than one of the configured stores, with
   * the stores in the order they are consulted (the push root sharing a name
   * with them is what pushing to it is for, so it is left out).
   */
  async duplicates(): Promise<Map<string, string[]>> {
    const seen = new Map<string, string[]>()
    for (const store of this.push ? this.stores.slice(1) : this.stores) {
      for (const name of await store.repositories()) seen.set(name, [...(seen.get(name) ?? []), store.label])
    }
    return new Map([...seen].filter(([, labels]) => labels.length > 1))
  }
}
