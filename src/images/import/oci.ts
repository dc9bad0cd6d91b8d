/**
 * OCI image layouts (image-spec image-layout.md), in a folder or a tar
 * archive (`oci-archive`, and the layout inside a newer `docker save`):
 * `oci-layout`, `index.json`, `blobs/<algorithm>/<hex>`. Each `index.json`
 * entry is an image; entries with the same digest are one image with several
 * names. Names come from `io.containerd.image.name` (a full reference, as
 * containerd, BuildKit and `docker save` write it) and else
 * `org.opencontainers.image.ref.name` (usually a tag alone).
 */
import { parseDigest, type Descriptor } from './deps.js'
import { ImportError } from './errors.js'
import { parseImageReference, parseRefName } from './names.js'
import { METADATA_MAX, SourceBuilder, descriptorAt, parseJson, type Locator, type SourceImage, type SourceRef } from './source.js'

export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name'
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name'

/** `blobs/<algorithm>/<hex>` for a digest. */
export const blobPath = (digest: string): string => {
  const d = parseDigest(digest)
  return d ? `blobs/${d.algorithm}/${d.hex}` : `blobs/${digest}`
}

const LAYOUT_LOCATOR: Locator = { manifest: blobPath, blob: blobPath }

/** The name an index.json entry gives, from its annotations. Throws an ImportError for a name that cannot be a repository or tag. */
export const refOfEntry = (desc: Descriptor, file: string, where: string): SourceRef | undefined => {
  const annotations = desc.annotations ?? {}
  const refName = annotations[ANNOTATION_REF_NAME]
  const full = annotations[ANNOTATION_CONTAINERD_NAME]
  let out: SourceRef = {}
  if (refName) {
    const p = parseRefName(refName)
    if (!p.ok) throw new ImportError(file, 'index.json', `${where}: ${ANNOTATION_REF_NAME} ${p.error}`)
    out = p.value
  }
  if (full) {
    const p = parseImageReference(full)
    if (!p.ok) throw new ImportError(file, 'index.json', `${where}: ${ANNOTATION_CONTAINERD_NAME} ${p.error}`)
    const tag = p.value.tag ?? out.tag
    out = tag === undefined ? { name: p.value.name } : { name: p.value.name, tag }
  }
  return out.name === undefined && out.tag === undefined ? undefined : out
}

/** Reads the layout's images into the builder (and returns them). */
export const readOciLayout = async (builder: SourceBuilder): Promise<SourceImage[]> => {
  const file = builder.path
  const layout = parseJson(await builder.container.read('oci-layout', METADATA_MAX), file, 'oci-layout')
  if (typeof layout !== 'object' || layout === null || typeof (layout as Record<string, unknown>).imageLayoutVersion !== 'string') {
    throw new ImportError(file, 'oci-layout', 'not an OCI layout marker (no "imageLayoutVersion")')
  }
  const index = parseJson(await builder.container.read('index.json', METADATA_MAX), file, 'index.json') as Record<string, unknown>
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) {
    throw new ImportError(file, 'index.json', 'not an image index (no "manifests" list)')
  }
  const byDigest = new Map<string, { desc: Descriptor; refs: SourceRef[]; where: string }>()
  for (const [i, raw] of (index.manifests as unknown[]).entries()) {
    const where = `manifests[${i}]`
    const desc = descriptorAt(raw, file, 'index.json', where)
    const ref = refOfEntry(desc, file, where)
    const seen = byDigest.get(desc.digest)
    if (seen) {
      if (ref && !seen.refs.some((r) => r.name === ref.name && r.tag === ref.tag)) seen.refs.push(ref)
    } else {
      byDigest.set(desc.digest, { desc, refs: ref ? [ref] : [], where: `index.json ${where}` })
    }
  }
  const images: SourceImage[] = []
  for (const { desc, refs, where } of byDigest.values()) {
    const entry = blobPath(desc.digest)
    const bytes = await builder.readManifest(entry, desc)
    const image = { refs, ...(await builder.collect(bytes, entry, LAYOUT_LOCATOR, desc.mediaType || undefined, where)) }
    builder.images.push(image)
    images.push(image)
  }
  return images
}
