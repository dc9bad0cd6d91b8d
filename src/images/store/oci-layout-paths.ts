/**
 * The OCI image layout (image-spec image-layout.md), in one place: the
 * reader (oci-layout.ts) and the writer (writers.ts) both build their paths
 * here.
 *
 *   <root>/oci-layout            {"imageLayoutVersion": "1.0.0"}
 *   <root>/index.json            an image index; its manifests are the entry points
 *   <root>/blobs/<alg>/<hex>     content
 */
import { join, sep } from 'node:path'
import type { DigestParts } from './registry2-paths.js'

export const OCI_LAYOUT_VERSION = '1.0.0'
/** The index.json annotation that names a tag (image-spec annotations.md). */
export const REF_NAME = 'org.opencontainers.image.ref.name'

export type OciLayoutPathSpec = { kind: 'layoutFile' } | { kind: 'index' } | { kind: 'blobs' } | { kind: 'blob'; digest: DigestParts }

/** The path of one thing in the layout at `root`. */
export const ociPathFor = (root: string, spec: OciLayoutPathSpec): string => {
  switch (spec.kind) {
    case 'layoutFile':
      return join(root, 'oci-layout')
    case 'index':
      return join(root, 'index.json')
    case 'blobs':
      return join(root, 'blobs')
    case 'blob':
      return join(root, 'blobs', spec.digest.algorithm, spec.digest.hex)
  }
}

/** The digest a path under `blobs/` (relative to it: `<alg>/<hex>`) names, as found: not validated. */
export const ociBlobOfPath = (relPath: string): DigestParts | undefined => {
  const parts = relPath.split(sep)
  return parts.length === 2 ? { algorithm: parts[0]!, hex: parts[1]! } : undefined
}
