/**
 * Why a write into a store was refused. The registry API maps each kind to
 * its error code (src/registry-api/errors.ts); `outpost import` prints it.
 */
import { createHash } from 'node:crypto'
import type { Digest } from '../grammar.js'
import { MANIFEST_MAX_BYTES } from '../manifests.js'
import { parseManifest, type ManifestInfo } from '../media-types.js'

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

/** A manifest's bytes as a store takes them: within the size limit, hashing to `digest`, parsed. */
export const checkManifestBytes = (digest: Digest, bytes: Uint8Array): ManifestInfo => {
  if (bytes.length > MANIFEST_MAX_BYTES) {
    throw new ImageWriteError('manifest-too-large', `manifest is ${bytes.length} bytes, more than ${MANIFEST_MAX_BYTES}`, {
      size: bytes.length,
      limit: MANIFEST_MAX_BYTES,
    })
  }
  const actual = createHash(digest.algorithm).update(bytes).digest('hex')
  if (actual !== digest.hex) {
    throw new ImageWriteError('digest-mismatch', `manifest bytes are ${digest.algorithm}:${actual}, not ${digest.value}`, {
      digest: digest.value,
      actual: `${digest.algorithm}:${actual}`,
    })
  }
  const info = parseManifest(bytes)
  if (!info) throw new ImageWriteError('manifest-invalid', 'not a manifest')
  return info
}
