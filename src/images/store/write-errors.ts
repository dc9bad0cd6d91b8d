/**
 * Why a write into a store was refused. The registry API maps each kind to
 * its error code (src/registry-api/errors.ts); `outpost import` prints it.
 */

export type ImageWriteErrorKind =
  /** The bytes do not hash to the digest they were sent under. */
  | 'digest-mismatch'
  /** Fewer or more bytes than announced. */
  | 'size-mismatch'
  /** A manifest names blobs or child manifests the repository does not hold (`detail.missing`). */
  | 'blob-unknown'
  /** Not a manifest this registry stores (unparsable, wrong schema, a type it does not take). */
  | 'manifest-invalid'
  /** A manifest over MANIFEST_MAX_BYTES. */
  | 'manifest-too-large'
  /** No such upload session (never started, finished, cancelled or expired). */
  | 'upload-unknown'
  /** A chunk that does not start where the session's bytes end (`detail.size`). */
  | 'upload-range'
  /** Too many upload sessions open at once. */
  | 'too-many-uploads'
  /** A delete of something the writable store does not hold. */
  | 'not-found'
  /** The thing is held only by a read-only store (a bundle root, an OCI layout). */
  | 'read-only'

export class ImageWriteError extends Error {
  constructor(
    readonly kind: ImageWriteErrorKind,
    message: string,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message)
    this.name = 'ImageWriteError'
  }
}

export const isWriteError = (err: unknown, kind?: ImageWriteErrorKind): err is ImageWriteError =>
  err instanceof ImageWriteError && (kind === undefined || err.kind === kind)
