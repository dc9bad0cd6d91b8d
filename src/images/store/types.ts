/**
 * The interfaces of image storage. A store answers questions about the
 * content it holds and hands out bytes; it never hands out a path, so no
 * caller needs to know how a registry:2 tree or an OCI image layout is laid
 * out on disk (that knowledge lives in registry2-paths.ts and
 * oci-layout-paths.ts, beside the readers and writers).
 *
 * Reading (`ImageStore`) and writing (`ImageWriter`) are separate
 * interfaces: the server reads through ImageStore only, and a store that
 * can also be written implements both.
 *
 * A store never throws for "not there": it answers null / false / [].
 */
import type { OpenedFile } from '../../http/index.js'
import type { Readable } from 'node:stream'
import type { Digest } from '../grammar.js'
import type { ManifestReadResult } from '../manifests.js'

export interface BlobStat {
  /** Bytes of the blob. */
  size: number
  mtimeMs: number
}

/** A content-addressed blob as found in a store, for `outpost verify`. */
export interface StoredBlob {
  /**
   * The digest its place in the tree names, as found: not validated, so a
   * stray file under the blobs folder shows up with a name that is no
   * digest, and verify reports it.
   */
  algorithm: string
  hex: string
  size: number
  /** Where an operator finds it (a file path), for reports only. */
  location: string
  /** Its stored bytes, from the start (to hash them). */
  stream(): Readable
}

/** A reference inside a store (a link, an index entry) that does not hold. */
export interface ReferenceProblem {
  /** Where an operator finds it (a file path), for reports only. */
  location: string
  problem: string
  /** The blob the reference points at, when it names one. */
  digest?: string
}

/** What a change seen by a watcher means for the catalog. */
export type WatchChange =
  /** Read this repository again. */
  | { kind: 'repository'; name: string }
  /** A folder appeared: repositories may have appeared below this prefix ('' for all). */
  | { kind: 'under'; prefix: string }
  /** Read every repository of the store again. */
  | { kind: 'all' }

/** What a watcher must watch to follow a store, and how to read what it sees. */
export type WatchSpec =
  | {
      /** One watch per folder: `dir` and every folder below it except those `skip` names. */
      kind: 'tree'
      dir: string
      skip(name: string): boolean
      /** What a change at `path` under `dir` means (a new folder when `newFolder`); undefined: nothing. */
      changeAt(path: string, newFolder: boolean): WatchChange | undefined
    }
  | {
      /** One file; any change to it means `{ kind: 'all' }`. */
      kind: 'file'
      path: string
    }

export interface ImageStore {
  /** Kind and root, for logs and reports, e.g. `registry2:/srv/bundle/registry`. */
  readonly label: string
  /**
   * The folder the store reads, for the readiness check (is it listable?)
   * and logs: the `docker/registry/v2` folder of a registry:2 root, the
   * folder of an OCI layout.
   */
  readonly rootDir: string
  /**
   * The folders the store must be able to list to serve, for the readiness
   * check: `rootDir` and its blobs folder (and a registry:2 tree's
   * repositories folder); one that does not exist yet holds nothing to serve.
   */
  readonly readFolders: readonly string[]

  // Lookups.
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

  // Content of a repository.
  /**
   * Size of a blob when it belongs to the repository (registry:2 serves a
   * blob only through the repository's `_layers` or revision link; an OCI
   * layout's blobs belong to every repository it holds) and its bytes are
   * there; null otherwise.
   */
  stat(name: string, digest: Digest): Promise<BlobStat | null>
  /**
   * Opens a blob of the repository for sending (same rule as `stat`): one
   * open and one fstat, nothing else. The caller closes the handle. Null when
   * the blob does not belong to the repository or its bytes are missing.
   */
  open(name: string, digest: Digest): Promise<OpenedFile | null>

  // Content by digest. The caller has established that the digest belongs
  // to a repository (resolveTag, hasManifest, or a manifest naming it).
  /**
   * A manifest's bytes, read whole (up to MANIFEST_MAX_BYTES), checked
   * against its digest and parsed; bytes that do not match are refused.
   */
  readManifest(digest: Digest): Promise<ManifestReadResult>
  /** A small blob (an image config) read whole, unverified; null when missing. */
  readBlob(digest: Digest): Promise<Buffer | null>

  // Whole-store checks, for `outpost verify` and the catalog.
  /** Every content-addressed blob present, in no particular order. */
  blobs(): AsyncIterable<StoredBlob>
  /** Links (registry:2) or index entries (OCI layout) that are malformed or point at missing blobs. */
  verifyReferences(): Promise<ReferenceProblem[]>
  /** What to watch to follow changes to the store. */
  watchSpec(): WatchSpec
}

/**
 * What the caching wrapper (cached.ts) needs of the stores it wraps, beyond
 * ImageStore: the linking rule and the open apart, so that the rule's
 * answer can be cached while the bytes are opened per request. Used inside
 * src/images only.
 */
export interface DiskStore extends ImageStore {
  /** Whether the blob belongs to the repository, by the store's rule alone (no content I/O). */
  linksBlob(name: string, digest: Digest): Promise<boolean>
  /** Opens content by digest, with no repository check. */
  openContent(digest: Digest): Promise<OpenedFile | null>
}

/** A blob upload in progress (distribution-spec "Pushing blobs": POST, PATCH…, PUT). */
export interface UploadSession {
  readonly id: string
  /** Bytes received so far. */
  readonly size: number
  /**
   * Appends bytes, whole or not at all; resolves with the new size.
   * `offset` (where the chunk says it starts) must equal `size`, else
   * nothing is read and an ImageWriteError `upload-range` is thrown;
   * `length`, when given, must equal the bytes received (`size-mismatch`).
   */
  append(chunk: AsyncIterable<Uint8Array>, options?: { offset?: number; length?: number }): Promise<number>
  /**
   * Checks the bytes against `digest` (a mismatch ends the session), moves
   * them into the blob store and links them into the repository.
   */
  commit(digest: Digest): Promise<BlobStat>
  /** Throws the bytes away. */
  cancel(): Promise<void>
}

/**
 * Writing into a store (push, `outpost import`, filling from an upstream).
 * The registry:2 push root (registry2-writer.ts) writes the tree exactly as
 * docker-registry does (blob data, then the `_layers` link; manifest blob,
 * revision link, then tag `index` and `current` links), each step durable
 * and atomic, so a reader (and the catalog watcher) never sees half of one.
 * Write through `ImageStores.push` (push.ts), which makes each write visible
 * to requests at once and copies in what a manifest takes from other stores.
 * Refusals are ImageWriteError (write-errors.ts).
 */
export interface ImageWriter {
  /**
   * Stores a blob from a stream, checked against `digest` before it becomes
   * visible (a mismatch throws and leaves nothing behind); not yet linked to
   * any repository. Present already: the stream is drained and dropped.
   */
  putBlob(digest: Digest, bytes: AsyncIterable<Uint8Array>): Promise<BlobStat>
  /** Makes a stored blob part of a repository (registry:2 `_layers` link; a cross-repository mount). */
  linkBlob(name: string, digest: Digest): Promise<void>
  /**
   * Stores a manifest (checked against its digest; every blob and child it
   * references must already be in the repository) and points `tag` at it.
   */
  putManifest(name: string, digest: Digest, bytes: Uint8Array, tag?: string): Promise<void>
  /** Removes a manifest from a repository, and every tag pointing at it. */
  deleteManifest(name: string, digest: Digest): Promise<void>
  deleteTag(name: string, tag: string): Promise<void>
  /** Unlinks a blob from a repository (its bytes stay until garbage collection). */
  deleteBlob(name: string, digest: Digest): Promise<void>
  /** Starts a chunked upload into a repository; `resumeUpload` finds it again by id. */
  startUpload(name: string): Promise<UploadSession>
  resumeUpload(name: string, id: string): Promise<UploadSession | null>
}

/** A store that can be written as well as read. */
export type WritableImageStore = ImageStore & ImageWriter
