/** Manifest media types (image-spec, Docker manifest v2 schema 2). */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json'
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws'

/** Config and layer types of the images Outpost writes (the demo bundle, test fixtures, imported archives). */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
/** An uncompressed layer (distribution `schema2.MediaTypeUncompressedLayer`), as a legacy `docker save` archive holds them. */
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'

export const LIST_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST])
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_LIST,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
])

export const isListType = (mediaType: string): boolean => LIST_TYPES.has(mediaType)

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
}

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: Platform
  artifactType?: string
  annotations?: Record<string, string>
  /** Where a non-distributable layer may be fetched from instead. */
  urls?: string[]
}

/** What Outpost needs to know of a stored manifest, parsed once. */
export interface ManifestInfo {
  mediaType: string
  /** Children of an index / manifest list. */
  manifests?: Descriptor[]
  /** Config and layers of an image manifest. */
  config?: Descriptor
  layers?: Descriptor[]
  subject?: Descriptor
  artifactType?: string
  annotations?: Record<string, string>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Reads the media type and references of manifest bytes. The stored
 * `mediaType` field wins (registry:2 serves it as Content-Type); without one
 * the shape decides, as image-spec allows the field to be absent.
 * Returns undefined for bytes that are not a manifest.
 */
export const parseManifest = (bytes: Uint8Array): ManifestInfo | undefined => {
  let doc: unknown
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch {
    return undefined
  }
  if (!isObject(doc)) return undefined
  let mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined
  if (!mediaType) {
    if (doc.schemaVersion === 1) mediaType = Array.isArray(doc.signatures) ? DOCKER_SCHEMA1_SIGNED : DOCKER_SCHEMA1
    else if (Array.isArray(doc.manifests)) mediaType = OCI_INDEX
    else if (isObject(doc.config)) mediaType = OCI_MANIFEST
    else return undefined
  }
  const descriptors = (v: unknown): Descriptor[] | undefined =>
    Array.isArray(v) ? (v.filter((d) => isObject(d) && typeof d.digest === 'string') as unknown as Descriptor[]) : undefined
  const info: ManifestInfo = { mediaType }
  const manifests = descriptors(doc.manifests)
  if (manifests) info.manifests = manifests
  if (isObject(doc.config) && typeof doc.config.digest === 'string') info.config = doc.config as unknown as Descriptor
  const layers = descriptors(doc.layers)
  if (layers) info.layers = layers
  if (isObject(doc.subject) && typeof doc.subject.digest === 'string') info.subject = doc.subject as unknown as Descriptor
  if (typeof doc.artifactType === 'string') info.artifactType = doc.artifactType
  if (isObject(doc.annotations)) info.annotations = doc.annotations as Record<string, string>
  return info
}

/**
 * The artifact type of a manifest for the referrers API (image-spec
 * manifest.md): `artifactType`, else the config media type for an image
 * manifest.
 */
export const artifactTypeOf = (info: ManifestInfo): string | undefined =>
  info.artifactType ?? (info.mediaType === OCI_MANIFEST ? info.config?.mediaType : undefined)
