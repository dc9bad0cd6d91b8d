/**
 * The store interface every image storage layout implements. Stores are
 * read-only views of content on disk: they answer which repositories, tags
 * and links exist and where a blob's bytes are; the HTTP layer reads them.
 * A store never throws for "not there": it answers null / false / [].
 */
import type { Digest } from '../grammar.js'

export interface ImageStore {
  /** Kind and root, for logs and reports, e.g. `registry2:/srv/bundle/registry`. */
  readonly label: string
  /** Every repository name this store holds, sorted. */
  repositories(): Promise<string[]>
  hasRepository(name: string): Promise<boolean>
  /** Tags of a repository, sorted; null when the repository is unknown. */
  tags(name: string): Promise<string[] | null>
  /** The manifest digest a tag points at; null when unknown. */
  resolveTag(name: string, tag: string): Promise<Digest | null>
  /** Whether a manifest digest belongs to the repository. */
  hasManifest(name: string, digest: Digest): Promise<boolean>
  /** Manifest digests of the repository, for the referrers API. */
  manifestDigests(name: string): Promise<Digest[]>
  /**
   * The path of a blob's bytes when the blob belongs to the repository (as
   * registry:2 serves only blobs linked to a repository); null otherwise.
   * The file itself may still be missing: the caller opens it.
   */
  blobPath(name: string, digest: Digest): Promise<string | null>
  /** The path of content-addressed bytes, without a repository check. */
  contentPath(digest: Digest): string
}
