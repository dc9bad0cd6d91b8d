/**
 * Writers for the two layouts Outpost reads, a registry:2 tree and an OCI
 * image layout, with the paths of registry2-paths.ts and
 * oci-layout-paths.ts. Synchronous and for content made in this process
 * (the demo bundle, test fixtures); the writable store of ImageWriter
 * (types.ts) is the interface for pushed and imported content. Every file
 * is written to a temporary name and renamed into place, so a reader never
 * sees half a blob.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { OCI_INDEX } from '../media-types.js'
import { OCI_LAYOUT_VERSION, REF_NAME, ociPathFor } from './oci-layout-paths.js'
import { REGISTRY2_SUBDIR, pathFor, type DigestParts, type Registry2PathSpec } from './registry2-paths.js'

export const writeAtomic = (path: string, bytes: Uint8Array | string, mode?: number): void => {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  writeFileSync(tmp, bytes, mode === undefined ? undefined : { mode })
  renameSync(tmp, path)
}

/** Bytes and the digest (`sha256:<hex>`) they are stored under. */
export interface BlobBytes {
  digest: string
  size: number
  bytes: Buffer
}

/** An image as the writers store it: config, layers and the manifest naming them. */
export interface ImageBlobs {
  config: BlobBytes
  layers: BlobBytes[]
  manifest: BlobBytes
}

const partsOf = (digest: string): DigestParts => {
  const colon = digest.indexOf(':')
  return { algorithm: digest.slice(0, colon), hex: digest.slice(colon + 1) }
}

/** Writes a registry:2 tree under `<root>/docker/registry/v2`, links as docker-registry writes them. */
export class Registry2Writer {
  readonly base: string
  constructor(readonly root: string) {
    this.base = join(root, REGISTRY2_SUBDIR)
  }

  private path(spec: Registry2PathSpec): string {
    return pathFor(this.base, spec)
  }

  putBlob(blob: BlobBytes): void {
    const path = this.path({ kind: 'blobData', digest: partsOf(blob.digest) })
    if (!existsSync(path)) writeAtomic(path, blob.bytes)
  }

  linkLayer(repo: string, blob: BlobBytes): void {
    this.putBlob(blob)
    writeAtomic(this.path({ kind: 'layerLink', name: repo, digest: partsOf(blob.digest) }), blob.digest)
  }

  putManifest(repo: string, manifest: BlobBytes, tags: string[] = []): void {
    this.putBlob(manifest)
    const digest = partsOf(manifest.digest)
    writeAtomic(this.path({ kind: 'revisionLink', name: repo, digest }), manifest.digest)
    for (const tag of tags) {
      writeAtomic(this.path({ kind: 'tagIndexLink', name: repo, tag, digest }), manifest.digest)
      writeAtomic(this.path({ kind: 'tagCurrentLink', name: repo, tag }), manifest.digest)
    }
  }

  putImage(repo: string, image: ImageBlobs, tags: string[] = []): void {
    this.linkLayer(repo, image.config)
    for (const layer of image.layers) this.linkLayer(repo, layer)
    this.putManifest(repo, image.manifest, tags)
  }
}

/** Writes an OCI image layout (adding to the index.json already there). */
export class OciLayoutWriter {
  private readonly entries: Array<Record<string, unknown>> = []
  constructor(readonly root: string) {
    writeAtomic(ociPathFor(root, { kind: 'layoutFile' }), JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }))
    const existing = ociPathFor(root, { kind: 'index' })
    if (existsSync(existing)) {
      const doc = JSON.parse(readFileSync(existing, 'utf8')) as { manifests?: Array<Record<string, unknown>> }
      this.entries.push(...(doc.manifests ?? []))
    }
  }

  putBlob(blob: BlobBytes): void {
    const path = ociPathFor(this.root, { kind: 'blob', digest: partsOf(blob.digest) })
    if (!existsSync(path)) writeAtomic(path, blob.bytes)
  }

  putImage(image: ImageBlobs): void {
    this.putBlob(image.config)
    for (const layer of image.layers) this.putBlob(layer)
    this.putBlob(image.manifest)
  }

  /** Adds an entry to index.json, tagged by ref.name when given. */
  addEntry(blob: BlobBytes, mediaType: string, refName?: string): void {
    this.putBlob(blob)
    this.entries.push({
      mediaType,
      digest: blob.digest,
      size: blob.size,
      ...(refName ? { annotations: { [REF_NAME]: refName } } : {}),
    })
    writeAtomic(
      ociPathFor(this.root, { kind: 'index' }),
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: this.entries }, null, 2),
    )
  }
}
