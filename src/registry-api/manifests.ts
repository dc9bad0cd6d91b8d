/**
 * Manifest bytes, read whole (they are small) and kept in a bounded cache by
 * digest. Content is addressed by digest, so a cached entry never goes stale;
 * bytes whose digest does not match their name are refused, never served.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
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
  | { ok: true; manifest: StoredManifest }
  | { ok: false; reason: 'missing' | 'corrupt' | 'not-a-manifest' | 'too-large' }

export interface ManifestCacheOptions {
  /** Total bytes kept in memory. */
  maxBytes?: number
}

export class ManifestCache {
  private readonly entries = new Map<string, StoredManifest>()
  private bytes = 0
  private readonly maxBytes: number

  constructor(options: ManifestCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  }

  async read(digest: Digest, path: string): Promise<ManifestReadResult> {
    const hit = this.entries.get(digest.value)
    if (hit) {
      // Refresh recency: Map keeps insertion order, so re-insert at the end.
      this.entries.delete(digest.value)
      this.entries.set(digest.value, hit)
      return { ok: true, manifest: hit }
    }
    let bytes: Buffer
    try {
      bytes = await readFile(path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return { ok: false, reason: 'missing' }
      throw err
    }
    if (bytes.length > MANIFEST_MAX_BYTES) return { ok: false, reason: 'too-large' }
    const actual = createHash(digest.algorithm).update(bytes).digest('hex')
    if (actual !== digest.hex) return { ok: false, reason: 'corrupt' }
    const info = parseManifest(bytes)
    if (!info) return { ok: false, reason: 'not-a-manifest' }
    const manifest: StoredManifest = { digest, bytes, info }
    this.entries.set(digest.value, manifest)
    this.bytes += bytes.length
    for (const [key, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(key)
      this.bytes -= value.bytes.length
    }
    return { ok: true, manifest }
  }
}
