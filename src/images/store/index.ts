/**
 * Several stores at once, consulted in configuration order (as zot picks a
 * sub-store by prefix and falls back to the default): the first store that
 * holds a repository serves it.
 */
import { ManifestCache } from '../manifests.js'
import { CachedStore, DEFAULT_TTLS, type CacheTtls } from './cached.js'
import type { DiskStore, ImageStore } from './types.js'

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

export interface ImageStoresOptions {
  /** How long lookups are remembered for requests. */
  ttls?: CacheTtls
  /** Verified manifest bytes, shared by every store of the set. */
  manifests?: ManifestCache
}

export class ImageStores {
  /** The stores as requests read them, in consultation order, each behind a short-lived cache (cached.ts). */
  readonly stores: readonly ImageStore[]
  /**
   * The same stores read directly: for the catalog, its watcher and
   * `outpost verify`, which must see each change as soon as it is made.
   */
  readonly uncached: readonly ImageStore[]

  constructor(stores: readonly DiskStore[], options: ImageStoresOptions = {}) {
    const manifests = options.manifests ?? new ManifestCache()
    this.uncached = stores
    this.stores = stores.map((s) => new CachedStore(s, options.ttls ?? DEFAULT_TTLS, manifests))
  }

  /** The first store holding the repository, or null. */
  async locate(name: string): Promise<ImageStore | null> {
    for (const store of this.stores) {
      if (await store.hasRepository(name)) return store
    }
    return null
  }

  /** Every repository of every store, once, sorted. */
  async repositories(): Promise<string[]> {
    const all = new Set<string>()
    for (const store of this.stores) for (const name of await store.repositories()) all.add(name)
    return [...all].sort()
  }

  /** Repository names held by more than one store, with the stores in the order they are consulted. */
  async duplicates(): Promise<Map<string, string[]>> {
    const seen = new Map<string, string[]>()
    for (const store of this.stores) {
      for (const name of await store.repositories()) seen.set(name, [...(seen.get(name) ?? []), store.label])
    }
    return new Map([...seen].filter(([, labels]) => labels.length > 1))
  }
}
