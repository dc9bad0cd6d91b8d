/**
 * The image domain: names, references and digests; manifest media types;
 * reading manifests verified against their digest; upstream name
 * resolution; and the stores that hold images (registry:2 trees, OCI image
 * layouts). The registry API serves from here; the catalog and the CLI
 * read stores through the same interface. Nothing here knows HTTP beyond
 * the opened-file type it hands to the sender.
 */
export {
  NAME_MAX,
  isValidName,
  isValidTag,
  parseDigest,
  parseReference,
  isValidHost,
  type Digest,
  type Reference,
  type ReferenceError,
} from './grammar.js'
export * from './media-types.js'
export {
  MANIFEST_MAX_BYTES,
  ManifestCache,
  verifyManifest,
  type ManifestCacheOptions,
  type ManifestReadResult,
  type StoredManifest,
} from './manifests.js'
export {
  NameResolver,
  normalizeUpstream,
  looksLikeHost,
  requestedReference,
  type OriginEntry,
  type PrefixRule,
  type NameResolverOptions,
  type ResolveRequest,
} from './resolve.js'
export * from './store/index.js'
export {
  checkImage,
  formatImageProblem,
  isBreaking,
  isForeignLayer,
  platformName,
  IMAGE_PROBLEM_KINDS,
  type CheckImageOptions,
  type ImageCheck,
  type ImagePart,
  type ImageProblem,
  type ImageProblemKind,
  type ImageSource,
  type ImageState,
} from './check.js'
export { Registry2Writer, OciLayoutWriter, writeAtomic, type BlobBytes, type ImageBlobs } from './store/writers.js'
