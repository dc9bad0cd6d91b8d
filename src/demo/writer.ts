/**
 * Writers for the two layouts Outpost reads: the registry:2 tree and OCI
 * image layouts. Used to build the demo bundle and test fixtures. Every file
 * is written to a temporary name and renamed into place, so a reader never
 * sees half a blob.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, renameSync, writeFileSync, existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'

export const sha256 = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

export const writeAtomic = (path: string, bytes: Uint8Array | string, mode?: number): void => {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  writeFileSync(tmp, bytes, mode === undefined ? undefined : { mode })
  renameSync(tmp, path)
}

export interface Blob {
  digest: string
  size: number
  bytes: Buffer
}

export const blobOf = (bytes: Buffer | string): Blob => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  return { digest: sha256(b), size: b.length, bytes: b }
}

/** A tar archive of the given files, deterministic (fixed mtime, owner root). */
export const makeTar = async (files: Record<string, string | Buffer>): Promise<Buffer> => {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((res, rej) => {
    p.on('end', res)
    p.on('error', rej)
  })
  for (const [name, content] of Object.entries(files)) {
    const body = typeof content === 'string' ? Buffer.from(content) : content
    p.entry({ name, size: body.length, mode: name.endsWith('.sh') ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0 }, body)
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

export interface ImageParts {
  config: Blob
  layers: Blob[]
  manifest: Blob
  mediaType: string
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json'
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip'

export interface ImageSpec {
  architecture: string
  os?: string
  variant?: string
  files: Record<string, string | Buffer>
  format: 'oci' | 'docker'
  /** For artifacts: a subject (referrers API) and artifactType. */
  subject?: { mediaType: string; digest: string; size: number }
  artifactType?: string
  annotations?: Record<string, string>
}

/** Builds a one-layer image: gzip layer, config with the right diff_id, manifest. */
export const makeImage = async (spec: ImageSpec): Promise<ImageParts> => {
  const tar = await makeTar(spec.files)
  const layer = blobOf(gzipSync(tar, { level: 9 }))
  const docker = spec.format === 'docker'
  const config = blobOf(
    JSON.stringify({
      architecture: spec.architecture,
      os: spec.os ?? 'linux',
      ...(spec.variant ? { variant: spec.variant } : {}),
      created: '2024-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'outpost demo' }],
    }),
  )
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST
  const manifestDoc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    config: { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, digest: config.digest, size: config.size },
    layers: [{ mediaType: docker ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP, digest: layer.digest, size: layer.size }],
    ...(spec.subject ? { subject: spec.subject } : {}),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  }
  const manifest = blobOf(JSON.stringify(manifestDoc, null, 2))
  return { config, layers: [layer], manifest, mediaType }
}

export interface IndexChild {
  image: ImageParts
  platform: { architecture: string; os: string; variant?: string }
}

export const makeIndex = (children: IndexChild[], mediaType = OCI_INDEX): Blob =>
  blobOf(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType,
        manifests: children.map((c) => ({
          mediaType: c.image.mediaType,
          digest: c.image.manifest.digest,
          size: c.image.manifest.size,
          platform: c.platform,
        })),
      },
      null,
      2,
    ),
  )

const hexOf = (digest: string): string => digest.slice(digest.indexOf(':') + 1)

/** Writes a registry:2 tree under `<root>/docker/registry/v2`. */
export class Registry2Writer {
  readonly base: string
  constructor(readonly root: string) {
    this.base = join(root, 'docker', 'registry', 'v2')
  }

  putBlob(blob: Blob): void {
    const hex = hexOf(blob.digest)
    const path = join(this.base, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')
    if (!existsSync(path)) writeAtomic(path, blob.bytes)
  }

  private link(path: string, digest: string): void {
    writeAtomic(path, digest)
  }

  linkLayer(repo: string, blob: Blob): void {
    this.putBlob(blob)
    this.link(join(this.base, 'repositories', repo, '_layers', 'sha256', hexOf(blob.digest), 'link'), blob.digest)
  }

  putManifest(repo: string, manifest: Blob, tags: string[] = []): void {
    this.putBlob(manifest)
    const hex = hexOf(manifest.digest)
    this.link(join(this.base, 'repositories', repo, '_manifests', 'revisions', 'sha256', hex, 'link'), manifest.digest)
    for (const tag of tags) {
      const tagDir = join(this.base, 'repositories', repo, '_manifests', 'tags', tag)
      this.link(join(tagDir, 'index', 'sha256', hex, 'link'), manifest.digest)
      this.link(join(tagDir, 'current', 'link'), manifest.digest)
    }
  }

  putImage(repo: string, image: ImageParts, tags: string[] = []): void {
    this.linkLayer(repo, image.config)
    for (const layer of image.layers) this.linkLayer(repo, layer)
    this.putManifest(repo, image.manifest, tags)
  }
}

/** Writes an OCI image layout. */
export class OciLayoutWriter {
  private readonly entries: Array<Record<string, unknown>> = []
  constructor(readonly root: string) {
    writeAtomic(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
    const existing = join(root, 'index.json')
    if (existsSync(existing)) {
      const doc = JSON.parse(readFileSync(existing, 'utf8')) as { manifests?: Array<Record<string, unknown>> }
      this.entries.push(...(doc.manifests ?? []))
    }
  }

  putBlob(blob: Blob): void {
    const path = join(this.root, 'blobs', 'sha256', hexOf(blob.digest))
    if (!existsSync(path)) writeAtomic(path, blob.bytes)
  }

  putImage(image: ImageParts): void {
    this.putBlob(image.config)
    for (const layer of image.layers) this.putBlob(layer)
    this.putBlob(image.manifest)
  }

  /** Adds an entry to index.json, tagged by ref.name when given. */
  addEntry(blob: Blob, mediaType: string, refName?: string): void {
    this.putBlob(blob)
    this.entries.push({
      mediaType,
      digest: blob.digest,
      size: blob.size,
      ...(refName ? { annotations: { 'org.opencontainers.image.ref.name': refName } } : {}),
    })
    writeAtomic(join(this.root, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: this.entries }, null, 2))
  }
}
