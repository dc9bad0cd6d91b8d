/**
 * Small image archives for the import tests, built in memory: tar files
 * (tar-stream, plus hand-made GNU headers tar-stream does not write), OCI
 * layouts, and `docker save` archives in the legacy and the OCI-layout form.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { pack } from 'tar-stream'
import { blobOf, makeTar, type Blob } from '../../src/demo/images.js'

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
export const hex = (digest: string): string => digest.slice(digest.indexOf(':') + 1)

export interface TarItem {
  name: string
  body?: Buffer | string
  type?: 'file' | 'symlink' | 'link' | 'directory'
  linkname?: string
}

/** A tar archive (tar-stream: ustar, with a prefix or a pax header for long names). */
export const tarBuffer = async (items: readonly TarItem[]): Promise<Buffer> => {
  const p = pack()
  const chunks: Buffer[] = []
  p.on('data', (c: unknown) => chunks.push(c as Buffer))
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve)
    p.on('error', reject)
  })
  for (const item of items) {
    const type = item.type ?? 'file'
    const header = {
      name: item.name,
      type,
      mode: type === 'directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(item.linkname ? { linkname: item.linkname } : {}),
    }
    if (type === 'file') p.entry(header, typeof item.body === 'string' ? Buffer.from(item.body) : (item.body ?? Buffer.alloc(0)))
    else p.entry(header)
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

/** One 512-byte header, written by hand: GNU (`ustar  \0`) or POSIX (`ustar\0` + `00`) magic. */
export const rawHeader = (
  name: string,
  size: number,
  flag: string,
  options: { gnu?: boolean; prefix?: string; linkname?: string } = {},
): Buffer => {
  const b = Buffer.alloc(512)
  b.write(name, 0, 100, 'utf8')
  b.write('0000644\0', 100)
  b.write('0000000\0', 108)
  b.write('0000000\0', 116)
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124)
  b.write('00000000000\0', 136)
  b.write(flag, 156)
  if (options.linkname) b.write(options.linkname, 157, 100)
  if (options.gnu) b.write('ustar  \0', 257, 'latin1')
  else {
    b.write('ustar\0', 257, 'latin1')
    b.write('00', 263)
  }
  if (options.prefix) b.write(options.prefix, 345, 155)
  b.write('        ', 148)
  let sum = 0
  for (const v of b) sum += v
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return b
}

/** Data padded to whole 512-byte blocks. */
export const padded = (data: Buffer | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data) : data
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)])
}

export const END_OF_ARCHIVE = Buffer.alloc(1024)

/** A pax record, `<len> <key>=<value>\n`, where len counts itself. */
export const paxRecord = (key: string, value: string): string => {
  const body = ` ${key}=${value}\n`
  let len = Buffer.byteLength(body) + 1
  while (Buffer.byteLength(`${len}${body}`) !== len) len++
  return `${len}${body}`
}

export const writeFile = (path: string, bytes: Buffer | string): string => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, bytes)
  return path
}

/** Writes every `name → bytes` under a folder. */
export const writeTree = (root: string, files: Record<string, Buffer | string>): string => {
  for (const [name, bytes] of Object.entries(files)) writeFile(join(root, name), bytes)
  return root
}

export const filesToTar = (files: Record<string, Buffer | string>): Promise<Buffer> =>
  tarBuffer(Object.entries(files).map(([name, body]) => ({ name, body })))

/** An uncompressed image as `docker save` holds it: layer tars and a config naming their diff_ids. */
export interface PlainImage {
  layers: Buffer[]
  config: Blob
}

export const plainImage = async (contents: Array<Record<string, string>>, architecture = 'amd64'): Promise<PlainImage> => {
  const layers = await Promise.all(contents.map((files) => makeTar(files)))
  const config = blobOf(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) },
    }),
  )
  return { layers, config }
}

/** The files of a legacy `docker save` archive (`<id>/layer.tar`, `<hex>.json`, manifest.json). */
export const legacyDockerFiles = (
  images: Array<{ image: PlainImage; repoTags: string[] | null; gzipLayers?: boolean }>,
): Record<string, Buffer | string> => {
  const files: Record<string, Buffer | string> = {}
  const manifest = images.map(({ image, repoTags, gzipLayers }) => {
    const configName = `${hex(image.config.digest)}.json`
    files[configName] = image.config.bytes
    const layers = image.layers.map((layer, i) => {
      const id = hex(sha256(`${image.config.digest}/${i}`))
      files[`${id}/VERSION`] = '1.0'
      files[`${id}/json`] = JSON.stringify({ id })
      files[`${id}/layer.tar`] = gzipLayers ? gzipSync(layer) : layer
      return `${id}/layer.tar`
    })
    return { Config: configName, RepoTags: repoTags, Layers: layers }
  })
  files['manifest.json'] = JSON.stringify(manifest)
  return files
}

export interface LayoutImage {
  manifest: Blob
  mediaType: string
  blobs: Blob[]
  annotations?: Record<string, string>
}

/** The files of an OCI layout holding the given manifests and blobs. */
export const layoutFiles = (entries: readonly LayoutImage[], extraBlobs: readonly Blob[] = []): Record<string, Buffer | string> => {
  const files: Record<string, Buffer | string> = { 'oci-layout': JSON.stringify({ imageLayoutVersion: '1.0.0' }) }
  for (const b of [...entries.flatMap((e) => [e.manifest, ...e.blobs]), ...extraBlobs]) files[`blobs/sha256/${hex(b.digest)}`] = b.bytes
  files['index.json'] = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries.map((e) => ({
      mediaType: e.mediaType,
      digest: e.manifest.digest,
      size: e.manifest.size,
      ...(e.annotations ? { annotations: e.annotations } : {}),
    })),
  })
  return files
}

/**
 * The files of a Docker 25+ `docker save`: an OCI layout whose manifests list
 * uncompressed layers, plus manifest.json and repositories for older loaders.
 */
export const dockerSaveOciFiles = (images: Array<{ image: PlainImage; refs: string[] }>): Record<string, Buffer | string> => {
  const entries: LayoutImage[] = []
  const items: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = []
  for (const { image, refs } of images) {
    const layers = image.layers.map((l) => blobOf(l))
    const manifest = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.config.digest, size: image.config.size },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
      }),
    )
    for (const ref of refs) {
      const full = ref.includes('/') ? ref : `docker.io/library/${ref}`
      entries.push({
        manifest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        blobs: [image.config, ...layers],
        annotations: { 'io.containerd.image.name': full, 'org.opencontainers.image.ref.name': ref.slice(ref.lastIndexOf(':') + 1) },
      })
    }
    if (refs.length === 0)
      entries.push({ manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json', blobs: [image.config, ...layers] })
    items.push({
      Config: `blobs/sha256/${hex(image.config.digest)}`,
      RepoTags: refs,
      Layers: layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
    })
  }
  return { ...layoutFiles(entries), 'manifest.json': JSON.stringify(items), repositories: '{}' }
}
