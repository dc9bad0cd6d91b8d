/**
 * `docker save` archives (moby image/tarexport, also written by skopeo's
 * `docker-archive:` and go-containerregistry's tarball package).
 *
 * `manifest.json` lists images: `[{Config, RepoTags, Layers}]`, paths of
 * entries in the archive. Since Docker 25 (and in containerd / nerdctl
 * exports) the archive is also an OCI layout (`oci-layout`, `index.json`,
 * `blobs/…`) that carries the image manifests: those are read as they are,
 * byte for byte, and `RepoTags` only names images the layout leaves unnamed.
 *
 * An image only `manifest.json` describes (the legacy form, and skopeo's)
 * has no manifest: a Docker schema2 manifest is made for it from the config
 * and the layers. Layers there are uncompressed tars (`<id>/layer.tar`,
 * `<hex>.tar`; gzip from go-containerregistry's `<hex>.tar.gz`). The config's
 * `rootfs.diff_ids` give an uncompressed layer's digest, checked while the
 * layer is copied; a compressed layer is hashed here, unpacked bytes
 * checked against its diff_id.
 */
import { posix } from 'node:path'
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP, DOCKER_MANIFEST } from './deps.js'
import type { Container } from './container.js'
import { ImportError } from './errors.js'
import { parseImageReference } from './names.js'
import { readOciLayout } from './oci.js'
import { METADATA_MAX, SourceBuilder, parseJson, type BlobRef, type SourceImage, type SourceRef } from './source.js'
import { digestOf, hashStream } from './verify.js'

interface ManifestItem {
  Config: string
  RepoTags: string[]
  Layers: string[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const readItems = async (container: Container): Promise<ManifestItem[]> => {
  const doc = parseJson(await container.read('manifest.json', METADATA_MAX), container.path, 'manifest.json')
  if (!Array.isArray(doc)) throw new ImportError(container.path, 'manifest.json', 'not a list of images')
  return doc.map((item, i) => {
    const bad = (what: string) => new ImportError(container.path, 'manifest.json', `[${i}]: ${what}`)
    if (!isObject(item)) throw bad('not an object')
    if (typeof item.Config !== 'string' || !item.Config) throw bad('no "Config"')
    if (!Array.isArray(item.Layers) || item.Layers.some((l) => typeof l !== 'string')) throw bad('"Layers" is not a list of paths')
    const tags = item.RepoTags ?? []
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw bad('"RepoTags" is not a list of names')
    return { Config: item.Config, RepoTags: tags as string[], Layers: item.Layers as string[] }
  })
}

const refsOf = (item: ManifestItem, file: string, i: number): SourceRef[] =>
  item.RepoTags.map((t) => {
    const p = parseImageReference(t)
    if (!p.ok) throw new ImportError(file, 'manifest.json', `[${i}].RepoTags: ${p.error}`)
    return p.value
  })

/** The hex a path names when it is content-addressed: `blobs/sha256/<hex>`, `<hex>.tar`, `<hex>.json`, `sha256:<hex>`, `<hex>.tar.gz`. */
export const hexInName = (entry: string): string | undefined => {
  const base = posix.basename(entry)
  const m = /^(?:sha256:)?([a-f0-9]{64})(?:\.json|\.tar|\.tar\.gz)?$/.exec(base)
  if (m) return m[1]
  const dir = posix.basename(posix.dirname(entry))
  return dir === 'sha256' && /^[a-f0-9]{64}$/.test(base) ? base : undefined
}

type Compression = 'none' | 'gzip'

const compressionOf = (head: Buffer, file: string, entry: string): Compression => {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  const other = head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
    ? 'zstd'
    : head.subarray(0, 3).toString('latin1') === 'BZh'
      ? 'bzip2'
      : head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
        ? 'xz'
        : undefined
  if (other)
    throw new ImportError(
      file,
      entry,
      `a ${other}-compressed layer: only uncompressed and gzip layers can be imported from a docker-archive`,
    )
  return 'none'
}

/** Makes the Docker schema2 manifest for a `manifest.json` item. */
const legacyImage = async (builder: SourceBuilder, item: ManifestItem, i: number, measured: Map<string, BlobRef>): Promise<SourceImage> => {
  const file = builder.path
  const where = `manifest.json[${i}]`
  const configBytes = await builder.container.read(item.Config, METADATA_MAX)
  const configDigest = digestOf(configBytes)
  const configHex = hexInName(item.Config)
  if (configHex && `sha256:${configHex}` !== configDigest) {
    throw new ImportError(file, item.Config, `content does not match the digest its name gives (it hashes to ${configDigest})`)
  }
  const config = parseJson(configBytes, file, item.Config)
  const rootfs = isObject(config) && isObject(config.rootfs) ? config.rootfs : undefined
  const diffIds = rootfs && Array.isArray(rootfs.diff_ids) ? (rootfs.diff_ids as unknown[]) : undefined
  if (diffIds && diffIds.length !== item.Layers.length) {
    throw new ImportError(
      file,
      'manifest.json',
      `[${i}]: ${item.Layers.length} layers, but the config ${item.Config} lists ${diffIds.length} diff_ids`,
    )
  }
  builder.setBlob(configDigest, item.Config, configBytes.length)

  const layers: BlobRef[] = []
  for (const [j, entry] of item.Layers.entries()) {
    const diffId = typeof diffIds?.[j] === 'string' ? (diffIds[j] as string) : undefined
    let layer = measured.get(entry)
    if (!layer) {
      const size = await builder.container.size(entry)
      if (size === undefined) throw new ImportError(file, entry, `missing: ${where} lists it as layer ${j}`)
      const compression = compressionOf(await builder.container.head(entry, 8), file, entry)
      const hex = hexInName(entry)
      if (compression === 'none' && (diffId || hex)) {
        // Uncompressed: the digest is the diff_id; the bytes are checked against it when copied.
        const digest = diffId ?? `sha256:${hex}`
        if (hex && `sha256:${hex}` !== digest) {
          throw new ImportError(file, entry, `the name gives sha256:${hex}, the config's rootfs.diff_ids[${j}] is ${diffId}`)
        }
        layer = { digest, size, mediaType: DOCKER_LAYER }
      } else {
        const hashed = await hashStream(builder.container.stream(entry), file, entry, compression === 'gzip')
        if (hashed.size !== size) throw new ImportError(file, entry, `truncated: read ${hashed.size} of ${size} bytes`)
        layer = { digest: hashed.digest, size, mediaType: compression === 'gzip' ? DOCKER_LAYER_GZIP : DOCKER_LAYER }
        if (hex && compression === 'gzip' && `sha256:${hex}` !== hashed.digest) {
          throw new ImportError(file, entry, `content does not match the digest its name gives (it hashes to ${hashed.digest})`)
        }
        const unpacked = compression === 'gzip' ? hashed.diffId : hashed.digest
        if (diffId && unpacked !== diffId) {
          throw new ImportError(file, entry, `unpacked, it hashes to ${unpacked}; the config's rootfs.diff_ids[${j}] is ${diffId}`)
        }
      }
      measured.set(entry, layer)
    }
    builder.setBlob(layer.digest, entry, layer.size)
    layers.push(layer)
  }

  // Field order as distribution's schema2 package marshals it.
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: configBytes.length, digest: configDigest },
      layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.size, digest: l.digest })),
    }),
  )
  const blobs = [
    { digest: configDigest, size: configBytes.length, mediaType: DOCKER_CONFIG },
    ...layers.filter((l, k) => layers.findIndex((m) => m.digest === l.digest) === k),
  ]
  return {
    refs: refsOf(item, file, i),
    manifest: { digest: digestOf(manifest), mediaType: DOCKER_MANIFEST, bytes: manifest },
    children: [],
    missing: [],
    blobs,
    where,
  }
}

/** Config digests of an image read from a layout (its manifest's, and its children's). */
const configsOf = (image: SourceImage): string[] =>
  [image.manifest, ...image.children].flatMap((m) => {
    try {
      const doc = JSON.parse(m.bytes.toString('utf8')) as { config?: { digest?: unknown } }
      return typeof doc.config?.digest === 'string' ? [doc.config.digest] : []
    } catch {
      return []
    }
  })

export const readDockerArchive = async (builder: SourceBuilder): Promise<void> => {
  const { container } = builder
  const items = await readItems(container)
  const hasLayout = (await container.size('index.json')) !== undefined && (await container.size('oci-layout')) !== undefined
  const fromLayout = hasLayout ? await readOciLayout(builder) : []
  const measured = new Map<string, BlobRef>()
  for (const [i, item] of items.entries()) {
    const hex = hexInName(item.Config)
    const twin = hex === undefined ? undefined : fromLayout.find((image) => configsOf(image).includes(`sha256:${hex}`))
    if (twin) {
      // The layout carries this image's manifest; RepoTags name it only when the layout does not.
      const named = refsOf(item, container.path, i)
      if (named.length > 0 && twin.refs.every((r) => r.name === undefined)) {
        twin.refs = named.filter((ref, k) => named.findIndex((r) => r.name === ref.name && r.tag === ref.tag) === k)
      }
      continue
    }
    builder.images.push(await legacyImage(builder, item, i, measured))
  }
}
