/**
 * Importing images from `docker save` archives, oci-archive tarballs, OCI
 * image layouts and skopeo `dir:` copies into an ImageSink, offline, with
 * manifests kept byte for byte.
 *
 * Wiring: `WriterSink` is the `ImageSink` over the push root's writer
 * (`Registry2WritableStore`); `outpost import` (src/cli/import.ts) runs
 * `importPaths(paths, sink, { name, tag, dryRun, onProgress })`, prints
 * each yielded `line`, drives a progress bar from `onProgress`, and prints
 * an `ImportError`'s message (it names the file and the entry) on failure.
 */
export {
  importPaths,
  planTargets,
  openSources,
  type ImportOptions,
  type ImportProgress,
  type ImportedImage,
  type ImportTarget,
} from './import-paths.js'
export { openSource } from './open.js'
export { MemorySink, type ImageSink, type StoredManifest } from './sink.js'
export { WriterSink, type SinkTarget, type WriterSinkOptions } from './writer-sink.js'
export type { ImageSource, SourceImage, SourceKind, SourceRef, ManifestBlob, BlobRef } from './source.js'
export { ImportError } from './errors.js'
export { parseImageReference, parseRefName, type ImageName } from './names.js'
