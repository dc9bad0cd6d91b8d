/**
 * An image checked whole: from the manifest a tag (or digest) names, through
 * an index to every child manifest, and from each image manifest to its
 * config and every layer. What a pull would need and not find is a problem:
 *
 * - `missing`: not in the repository (no bytes, or not linked to it);
 * - `incomplete`: fewer bytes than its descriptor says (still being copied);
 * - `corrupt`: bytes that are not what the digest names (a manifest that
 *   does not verify, a blob found corrupt by hashing, a size that differs
 *   from its descriptor), or an image config that is not JSON;
 * - `foreign`: a non-distributable layer (Docker foreign layers, OCI
 *   nondistributable media types, or a descriptor with `urls`) that is not
 *   here: clients fetch it from its URLs, which an air gap does not reach.
 *
 * The scan checks presence and sizes and parses what it reads anyway
 * (manifests, image configs for their platforms); `outpost verify` hashes
 * every blob first and passes what failed as `corrupt`.
 */
import { parseDigest, type Digest } from './grammar.js'
import type { ManifestReadResult } from './manifests.js'
import { DOCKER_CONFIG, OCI_CONFIG, isListType, type Descriptor, type ManifestInfo, type Platform } from './media-types.js'
import type { BlobStat } from './store/types.js'

export type ImageProblemKind = 'missing' | 'corrupt' | 'foreign' | 'incomplete'
export type ImagePart = 'index' | 'manifest' | 'config' | 'layer'

export const IMAGE_PROBLEM_KINDS: readonly ImageProblemKind[] = ['missing', 'corrupt', 'foreign', 'incomplete']

export interface ImageProblem {
  /** `repository:tag`, or `repository@digest`. */
  image: string
  /** `os/arch[/variant]` of the image the part belongs to; `unknown` when it cannot be told. */
  platform: string
  /** The digest of the part. */
  digest: string
  kind: ImageProblemKind
  /** What the digest is in the image. */
  part: ImagePart
  /** Why, in a few words, when the kind alone does not say. */
  detail?: string
}

/** Problems that break a pull (a foreign layer alone is fetched from its URLs by clients that can). */
export const isBreaking = (p: Pick<ImageProblem, 'kind'>): boolean => p.kind !== 'foreign'

/** One problem on one line: `library/pause:3.3 linux/arm64 missing sha256:83d1… (layer)`. */
export const formatImageProblem = (p: ImageProblem): string =>
  `${p.image} ${p.platform} ${p.kind} ${p.digest} (${p.part}${p.detail ? `: ${p.detail}` : ''})`

/** One repository as a puller sees it. */
export interface ImageSource {
  /** A manifest's bytes by digest, verified. */
  readManifest(digest: Digest): Promise<ManifestReadResult>
  /** Whether a manifest belongs to the repository (needed for a child pulled by digest). */
  hasManifest(digest: Digest): Promise<boolean>
  /** A blob of the repository: null when absent or not linked to it. */
  stat(digest: Digest): Promise<BlobStat | null>
  /** A small blob read whole (an image config). */
  readBlob(digest: Digest): Promise<Buffer | null>
}

export interface CheckImageOptions {
  /** Digests whose bytes were hashed and did not match (verify). */
  corrupt?: (digest: string) => boolean
}

export type ImageState = 'present' | 'incomplete'

export interface ImageCheck {
  digest: string
  mediaType: string | null
  /** Platforms the image is for (an index's children, or the config's), `os/arch[/variant]`. */
  platforms: string[]
  /** Those whose images are whole. */
  completePlatforms: string[]
  /** Bytes of the manifests and blobs the image references. */
  size: number
  /** Every manifest and blob referenced, with its size (the first is the top manifest). */
  blobs: Array<{ digest: string; size: number }>
  problems: ImageProblem[]
  /** `incomplete` when any problem but a foreign layer. */
  state: ImageState
}

/** `os/arch[/variant]`, or undefined when the platform names no architecture. */
export const platformName = (p: Partial<Platform> | undefined): string | undefined =>
  p && typeof p.architecture === 'string' && p.architecture && typeof p.os === 'string' && p.os
    ? [p.os, p.architecture, typeof p.variant === 'string' ? p.variant : undefined].filter(Boolean).join('/')
    : undefined

const FOREIGN_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
])

/** A layer that registries need not hold: clients fetch it from its URLs. */
export const isForeignLayer = (d: Descriptor): boolean => FOREIGN_TYPES.has(d.mediaType) || (Array.isArray(d.urls) && d.urls.length > 0)

/** Configs read for their platform: image configs and other JSON documents. */
const isJsonConfig = (mediaType: string | undefined): boolean =>
  !mediaType || mediaType === OCI_CONFIG || mediaType === DOCKER_CONFIG || mediaType.endsWith('+json') || mediaType.endsWith('/json')

/** An index entry that is not an image for a platform (buildx attestations): optional to hold. */
const isAttestation = (d: Descriptor): boolean =>
  d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
  (d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown')

const manifestProblem = (r: Exclude<ManifestReadResult, { ok: true }>): { kind: ImageProblemKind; detail?: string } =>
  r.reason === 'missing'
    ? { kind: 'missing' }
    : r.reason === 'corrupt'
      ? { kind: 'corrupt', detail: 'bytes do not match the digest' }
      : r.reason === 'too-large'
        ? { kind: 'corrupt', detail: 'larger than 4 MiB' }
        : { kind: 'corrupt', detail: 'not a manifest' }

interface Walk {
  source: ImageSource
  image: string
  options: CheckImageOptions
  problems: ImageProblem[]
  blobs: Array<{ digest: string; size: number }>
}

/** Checks one blob of an image; its size when it is there. */
const checkBlob = async (w: Walk, d: Descriptor, part: ImagePart, platform: string): Promise<number | null> => {
  const digest = parseDigest(d.digest)
  const problem = (kind: ImageProblemKind, detail?: string): null => {
    w.problems.push({ image: w.image, platform, digest: d.digest, kind, part, ...(detail ? { detail } : {}) })
    return null
  }
  if (!digest) return problem('corrupt', 'not a valid digest')
  const st = await w.source.stat(digest).catch(() => null)
  if (!st) return problem(part === 'layer' && isForeignLayer(d) ? 'foreign' : 'missing')
  const want = typeof d.size === 'number' ? d.size : null
  if (want !== null && st.size < want) return problem('incomplete', `${st.size} of ${want} bytes`)
  if (want !== null && st.size !== want) return problem('corrupt', `${st.size} bytes, the manifest says ${want}`)
  if (w.options.corrupt?.(d.digest)) return problem('corrupt', 'bytes do not match the digest')
  w.blobs.push({ digest: d.digest, size: st.size })
  return st.size
}

/** Reads a config for its platform; a JSON config that does not parse is corrupt. */
const readConfig = async (w: Walk, d: Descriptor): Promise<{ platform?: string; unreadable: boolean }> => {
  const digest = parseDigest(d.digest)
  if (!digest || !isJsonConfig(d.mediaType)) return { unreadable: false }
  const bytes = await w.source.readBlob(digest).catch(() => null)
  if (!bytes) return { unreadable: true }
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as unknown
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { unreadable: true }
    const platform = platformName(doc as Partial<Platform>)
    return { ...(platform ? { platform } : {}), unreadable: false }
  } catch {
    return { unreadable: true }
  }
}

/** An image manifest: its config, then its layers. Returns the platform and whether it is whole. */
const checkManifest = async (
  w: Walk,
  info: ManifestInfo,
  hint: string | undefined,
): Promise<{ platform: string | undefined; size: number; whole: boolean }> => {
  const before = w.problems.length
  let size = 0
  let platform = hint
  if (info.config) {
    const config = info.config
    const cfg = await readConfig(w, config)
    platform ??= cfg.platform
    const at = platform ?? 'unknown'
    const got = await checkBlob(w, config, 'config', at)
    if (got !== null) {
      size += got
      if (cfg.unreadable) {
        w.blobs.pop()
        w.problems.push({ image: w.image, platform: at, digest: config.digest, kind: 'corrupt', part: 'config', detail: 'not valid JSON' })
      }
    }
  }
  for (const layer of info.layers ?? []) size += (await checkBlob(w, layer, 'layer', platform ?? 'unknown')) ?? 0
  const whole = w.problems.slice(before).every((p) => !isBreaking(p))
  return { platform, size, whole }
}

/**
 * Checks the image `digest` names in a repository (`image` names it in
 * problems: `repository:tag`). Never throws for what is not there.
 */
export const checkImage = async (
  source: ImageSource,
  image: string,
  digest: Digest,
  options: CheckImageOptions = {},
): Promise<ImageCheck> => {
  const w: Walk = { source, image, options, problems: [], blobs: [] }
  const platforms: string[] = []
  const completePlatforms: string[] = []
  const top = await source.readManifest(digest).catch((): ManifestReadResult => ({ ok: false, reason: 'missing' }))
  if (!top.ok) {
    const { kind, detail } = manifestProblem(top)
    w.problems.push({ image, platform: 'unknown', digest: digest.value, kind, part: 'manifest', ...(detail ? { detail } : {}) })
    return {
      digest: digest.value,
      mediaType: null,
      platforms,
      completePlatforms,
      size: 0,
      blobs: [],
      problems: w.problems,
      state: 'incomplete',
    }
  }
  const { info, bytes } = top.manifest
  w.blobs.push({ digest: digest.value, size: bytes.length })
  let size = bytes.length
  if (options.corrupt?.(digest.value)) {
    w.problems.push({
      image,
      platform: 'unknown',
      digest: digest.value,
      kind: 'corrupt',
      part: isListType(info.mediaType) ? 'index' : 'manifest',
    })
  }
  if (isListType(info.mediaType)) {
    for (const child of info.manifests ?? []) {
      const attestation = isAttestation(child)
      const declared = attestation ? undefined : platformName(child.platform)
      if (declared) platforms.push(declared)
      const at = declared ?? 'unknown'
      const cd = parseDigest(child.digest)
      const add = (kind: ImageProblemKind, detail?: string): void =>
        void w.problems.push({ image, platform: at, digest: child.digest, kind, part: 'manifest', ...(detail ? { detail } : {}) })
      if (!cd) {
        add('corrupt', 'not a valid digest')
        continue
      }
      const linked = await source.hasManifest(cd).catch(() => false)
      const read = linked ? await source.readManifest(cd).catch((): ManifestReadResult => ({ ok: false, reason: 'missing' })) : null
      if (!read || !read.ok) {
        // A missing attestation leaves every platform pullable.
        if (attestation && (!read || read.reason === 'missing')) continue
        const p = read ? manifestProblem(read) : { kind: 'missing' as const }
        add(p.kind, p.detail)
        continue
      }
      if (options.corrupt?.(child.digest)) {
        add('corrupt', 'bytes do not match the digest')
        continue
      }
      w.blobs.push({ digest: child.digest, size: read.manifest.bytes.length })
      size += read.manifest.bytes.length
      if (isListType(read.manifest.info.mediaType)) continue // an index in an index: its own tag checks it
      const checked = await checkManifest(w, read.manifest.info, declared)
      size += checked.size
      if (!declared && checked.platform && !attestation) platforms.push(checked.platform)
      const name = declared ?? (attestation ? undefined : checked.platform)
      if (checked.whole && name) completePlatforms.push(name)
    }
  } else {
    const checked = await checkManifest(w, info, undefined)
    size += checked.size
    if (checked.platform) platforms.push(checked.platform)
    if (checked.whole && checked.platform) completePlatforms.push(checked.platform)
  }
  return {
    digest: digest.value,
    mediaType: info.mediaType,
    platforms,
    completePlatforms: w.problems.some((p) => isBreaking(p) && p.platform === 'unknown') ? [] : completePlatforms,
    size,
    blobs: w.blobs,
    problems: w.problems,
    state: w.problems.some(isBreaking) ? 'incomplete' : 'present',
  }
}
