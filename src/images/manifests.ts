/**
 * Manifest bytes: read whole (they are small), checked against their digest
 * and parsed; and a bounded cache of them by digest. Content is addressed by
 * digest, so a cached entry never goes stale; bytes whose digest does not
 * match their name are refused, never served.
 */
import { createHash } from 'node:crypto'
import { readRegularFile } from '../http/send.js'
import type { Digest } from './grammar.js'
import { parseManifest, type ManifestInfo } from './media-types.js'

/** Manifests above this size are refused (distribution-spec suggests 4 MiB as the limit registries accept). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024

export interface StoredManifest {
  digest: Digest
  bytes: Buffer
  info: ManifestInfo
}

export type ManifestReadResult =
  { ok: true; manifest: StoredManifest } | { ok: false; reason: 'missing' | 'corrupt' | 'not-a-manifest' | 'too-large' }

/** Checks bytes read for `digest`: size, digest, and that they are a manifest. */
export const verifyManifest = (digest: Digest, bytes: Buffer): ManifestReadResult => {
  if (bytes.length > MANIFEST_MAX_BYTES) return { ok: false, reason: 'too-large' }
  const actual = createHash(digest.algorithm).update(bytes).digest('hex')
  if (actual !== digest.hex) return { ok: false, reason: 'corrupt' }
  const info = parseManifest(bytes)
  if (!info) return { ok: false, reason: 'not-a-manifest' }
  return { ok: true, manifest: { digest, bytes, info } }
}

/** Reads and checks the manifest stored at `path` for `digest` (stores call this). */
export const readManifestFile = async (path: string, digest: Digest): Promise<ManifestReadResult> => {
  // Only a regular file is read (opened without blocking, then fstat): anything else is missing.
  const bytes = await readRegularFile(path)
  if (!bytes) return { ok: false, reason: 'missing' }
  return verifyManifest(digest, bytes)
}

export interface ManifestCacheOptions {
  /** Total bytes kept in memory. */
  maxBytes?: number
}

/** Verified manifests by digest, least recently used dropped first past `maxBytes`. */
export class ManifestCache {
  private readonly entries = new Map<string, StoredManifest>()
  private bytes = 0
  private readonly maxBytes: number

  constructor(options: ManifestCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  }

  /** Answers from the cache, else reads with `load` and keeps what verified. */
  async read(digest: Digest, load: () => Promise<ManifestReadResult>): Promise<ManifestReadResult> {
    const hit = this.entries.get(digest.value)
    if (hit) {
      // Refresh recency: Map keeps insertion order, so re-insert at the end.
      this.entries.delete(digest.value)
      this.entries.set(digest.value, hit)
      return { ok: true, manifest: hit }
    }
    const result = await load()
    if (result.ok) this.add(result.manifest)
    return result
  }

  private add(manifest: StoredManifest): void {
    const key = manifest.digest.value
    // Two concurrent misses for one digest both load it: keep one copy.
    const old = this.entries.get(key)
    if (old) {
      this.entries.delete(key)
      this.bytes -= old.bytes.length
    }
    this.entries.set(key, manifest)
    this.bytes += manifest.bytes.length
    for (const [k, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(k)
      this.bytes -= value.bytes.length
    }
  }
}
