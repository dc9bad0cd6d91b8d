/**
 * Several stores at once, consulted in configuration order (as zot picks a
 * sub-store by prefix and falls back to the default): the first store that
 * holds a repository serves it.
 */
import type { ImageStore } from './types.js'

export type { ImageStore } from './types.js'
export { Registry2Store, registry2Base } from './registry2.js'
export { OciLayoutStore, isOciLayout } from './oci-layout.js'
export { CachedStore, TtlCache, DEFAULT_TTLS, type CacheTtls } from './cached.js'

export class ImageStores {
  constructor(readonly stores: readonly ImageStore[]) {}

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
