/**
 * Images made in this process: a one-layer image from a few files, an
 * index over images. The content of the demo bundle and of test fixtures;
 * the layout writers of src/images store them.
 */
import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  type BlobBytes,
  type ImageBlobs,
} from '../images/index.js'

export const sha256 = (bytes: Uint8Array | string): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`

export type Blob = BlobBytes

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

export interface ImageParts extends ImageBlobs {
  mediaType: string
}

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
