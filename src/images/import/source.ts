/**
 * What every reader produces: the images of one source (manifest bytes as
 * the source carries them, the child manifests of an index, the blobs they
 * reference), and a way to stream each blob, checked against its digest.
 *
 * Opening a source reads and checks all manifests (small, held in memory)
 * and checks that every referenced blob is present with the size the
 * manifest gives; blob contents are checked as they are streamed.
 */
import type { Readable } from 'node:stream'
import { isListType, parseDigest, OCI_INDEX, OCI_MANIFEST, type Descriptor } from './deps.js'
import type { Container } from './container.js'
import { ImportError } from './errors.js'
import { checkBytes, digestOf, verified } from './verify.js'

export type SourceKind = 'docker-archive' | 'oci-archive' | 'oci-layout' | 'skopeo-dir'

/** Manifest bytes exactly as the source carries them (or as synthesised for a legacy docker-archive). */
export interface ManifestBlob {
  digest: string
  mediaType: string
  bytes: Buffer
}

export interface BlobRef {
  digest: string
  size: number
  mediaType: string
}

/** A name the source gives an image, normalised; either part may be absent. */
export interface SourceRef {
  name?: string
  tag?: string
}

export interface SourceImage {
  /** Names the source gives this image; empty when it carries none. */
  refs: SourceRef[]
  manifest: ManifestBlob
  /** For an index: the child manifests the source carries, deepest first (write them in this order, then `manifest`). */
  children: ManifestBlob[]
  /** For an index: children the source does not carry (e.g. `docker save` of a partly pulled multi-platform image). */
  missing: Descriptor[]
  /** Configs and layers of the image (and of its children), each once. */
  blobs: BlobRef[]
  /** Where the image is described in the source, for messages: `index.json manifests[1]`, `manifest.json[0]`. */
  where: string
}

export interface ImageSource {
  readonly path: string
  readonly kind: SourceKind
  readonly images: readonly SourceImage[]
  /**
   * A blob's bytes. The stream is checked while read: it errors with an
   * ImportError naming the file and entry (and never ends) when the bytes do
   * not match the digest or size.
   */
  openBlob(digest: string): Readable
  /** The entry that holds a blob, for messages. */
  entryOf(digest: string): string | undefined
  close(): Promise<void>
}

/** distribution refuses manifests over 4 MiB; so does import. */
export const MANIFEST_MAX = 4 * 1024 * 1024
/** index.json, manifest.json, configs read whole. */
export const METADATA_MAX = 64 * 1024 * 1024
const MAX_DEPTH = 4

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export const parseJson = (bytes: Buffer, file: string, entry: string): unknown => {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    throw new ImportError(file, entry, `not valid JSON (${(err as Error).message})`)
  }
}

/** A descriptor from JSON, checked: a registered digest, a size, a media type. */
export const descriptorAt = (v: unknown, file: string, entry: string, what: string): Descriptor => {
  if (
    !isObject(v) ||
    typeof v.digest !== 'string' ||
    !parseDigest(v.digest) ||
    typeof v.size !== 'number' ||
    !Number.isSafeInteger(v.size) ||
    v.size < 0
  ) {
    throw new ImportError(file, entry, `${what} is not a valid descriptor`)
  }
  return { ...(v as object), mediaType: typeof v.mediaType === 'string' ? v.mediaType : '' } as Descriptor
}

/**
 * The media type of manifest bytes: their own `mediaType` field, else the
 * descriptor's that pointed at them, else the shape (image-spec lets the
 * field be absent).
 */
export const manifestMediaType = (doc: Record<string, unknown>, fromDescriptor: string | undefined): string | undefined => {
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType
  if (fromDescriptor) return fromDescriptor
  if (doc.schemaVersion === 1) return undefined
  if (Array.isArray(doc.manifests)) return OCI_INDEX
  if (isObject(doc.config)) return OCI_MANIFEST
  return undefined
}

/** How a reader finds, by digest, the entry holding a manifest or a blob. */
export interface Locator {
  manifest(digest: string): string
  blob(digest: string): string
}

/** Builds an ImageSource over a container: readers add images, the builder checks and records every blob. */
export class SourceBuilder {
  private readonly blobs = new Map<string, { entry: string; size: number }>()
  readonly images: SourceImage[] = []

  constructor(
    readonly container: Container,
    readonly kind: SourceKind,
  ) {}

  get path(): string {
    return this.container.path
  }

  /** Records where a blob is; checks that it is there with the given size. */
  async addBlob(ref: BlobRef, entry: string, referencedBy: string): Promise<void> {
    const size = await this.container.size(entry)
    if (size === undefined) throw new ImportError(this.path, entry, `missing: ${referencedBy} references ${ref.digest}`)
    if (size !== ref.size) throw new ImportError(this.path, entry, `${size} bytes, ${referencedBy} gives ${ref.size}`)
    this.blobs.set(ref.digest, { entry, size })
  }

  /** Reads manifest bytes at an entry, checked against a descriptor when there is one. */
  async readManifest(entry: string, expected?: Descriptor): Promise<Buffer> {
    const bytes = await this.container.read(entry, MANIFEST_MAX)
    if (expected) checkBytes(bytes, expected, this.path, entry)
    return bytes
  }

  /**
   * Walks a manifest (and, for an index, its children) and returns the image
   * it describes. `mediaType` is the pointing descriptor's, when one points.
   */
  async collect(
    bytes: Buffer,
    entry: string,
    locate: Locator,
    mediaType: string | undefined,
    where: string,
  ): Promise<Omit<SourceImage, 'refs'>> {
    const children: ManifestBlob[] = []
    const missing: Descriptor[] = []
    const blobs = new Map<string, BlobRef>()
    const walk = async (b: Buffer, at: string, pointed: string | undefined, depth: number): Promise<ManifestBlob> => {
      const doc = parseJson(b, this.path, at)
      if (!isObject(doc)) throw new ImportError(this.path, at, 'not a manifest (not a JSON object)')
      const type = manifestMediaType(doc, pointed)
      if (type === undefined) throw new ImportError(this.path, at, 'not an image manifest or index (schema 1 manifests are not supported)')
      const digest = digestOf(b)
      const self = `manifest ${digest}`
      if (isListType(type) || Array.isArray(doc.manifests)) {
        if (!Array.isArray(doc.manifests)) throw new ImportError(this.path, at, `an index (${type}) without "manifests"`)
        if (depth >= MAX_DEPTH) throw new ImportError(this.path, at, `indexes nested more than ${MAX_DEPTH} deep`)
        for (const [i, raw] of doc.manifests.entries()) {
          const child = descriptorAt(raw, this.path, at, `manifests[${i}]`)
          const childEntry = locate.manifest(child.digest)
          if ((await this.container.size(childEntry)) === undefined) {
            missing.push(child)
            continue
          }
          const childBytes = await this.readManifest(childEntry, child)
          const blob = await walk(childBytes, childEntry, child.mediaType || undefined, depth + 1)
          if (!children.some((c) => c.digest === blob.digest)) children.push(blob)
        }
      } else {
        const refs: Array<[unknown, string]> = [[doc.config, 'config']]
        if (!isObject(doc.config)) throw new ImportError(this.path, at, `an image manifest (${type}) without "config"`)
        if (doc.layers !== undefined && !Array.isArray(doc.layers)) throw new ImportError(this.path, at, '"layers" is not a list')
        for (const [i, l] of ((doc.layers as unknown[] | undefined) ?? []).entries()) refs.push([l, `layers[${i}]`])
        for (const [raw, what] of refs) {
          const d = descriptorAt(raw, this.path, at, what)
          if (blobs.has(d.digest)) continue
          const blobEntry = locate.blob(d.digest)
          // A non-distributable layer (with `urls`) may be left out of a source; clients fetch it from its URL.
          if ((await this.container.size(blobEntry)) === undefined && isObject(raw) && Array.isArray(raw.urls) && raw.urls.length > 0)
            continue
          const ref = { digest: d.digest, size: d.size, mediaType: d.mediaType }
          await this.addBlob(ref, blobEntry, `${self} (${what})`)
          blobs.set(d.digest, ref)
        }
      }
      return { digest, mediaType: type, bytes: b }
    }
    const manifest = await walk(bytes, entry, mediaType, 0)
    return { manifest, children, missing, blobs: [...blobs.values()], where }
  }

  /** Records a blob known by entry, without a size check (the legacy docker-archive reader has measured it). */
  setBlob(digest: string, entry: string, size: number): void {
    this.blobs.set(digest, { entry, size })
  }

  build(): ImageSource {
    const { container, kind, blobs, images } = this
    return {
      path: container.path,
      kind,
      images,
      openBlob(digest: string): Readable {
        const at = blobs.get(digest)
        if (!at) throw new ImportError(container.path, undefined, `no blob ${digest} in this source`)
        return verified(container.stream(at.entry), { digest, size: at.size }, container.path, at.entry)
      },
      entryOf: (digest: string) => blobs.get(digest)?.entry,
      close: () => container.close(),
    }
  }
}
