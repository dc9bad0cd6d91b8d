/**
 * The few facts of the image domain this folder needs (digest and name
 * grammar, manifest media types), kept here so the folder stands alone until
 * it is wired to `src/images/`. Only `deps.ts` imports this file; see there.
 */

// ── grammar (distribution-spec; same definitions as src/images/grammar.ts) ──

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*'
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
const NAME_MAX = 255
const DIGEST_GENERIC_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 }

export const isValidName = (name: string): boolean => name.length <= NAME_MAX && NAME_RE.test(name)
export const isValidTag = (tag: string): boolean => TAG_RE.test(tag)

export interface Digest {
  algorithm: string
  hex: string
  /** `algorithm:hex` */
  value: string
}

export const parseDigest = (value: string): Digest | undefined => {
  if (!DIGEST_GENERIC_RE.test(value)) return undefined
  const colon = value.indexOf(':')
  const algorithm = value.slice(0, colon)
  const hex = value.slice(colon + 1)
  const len = DIGEST_ALGORITHMS[algorithm]
  if (len === undefined || hex.length !== len || !/^[a-f0-9]+$/.test(hex)) return undefined
  return { algorithm, hex, value }
}

// ── media types (image-spec, Docker manifest v2 schema 2; as src/images/media-types.ts) ──

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'

const LIST_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST])
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
}

// ── media types only import needs (not in src/images/media-types.ts yet) ──

/** Docker image config (Docker manifest v2 schema 2). */
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
/** An uncompressed layer (distribution `schema2.MediaTypeUncompressedLayer`). */
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'

// ── upstream names (as src/images/resolve.ts) ──

/** A first path component names a host when it has a dot or a port, or is localhost. */
export const looksLikeHost = (component: string): boolean =>
  component.includes('.') || component.includes(':') || component === 'localhost'
