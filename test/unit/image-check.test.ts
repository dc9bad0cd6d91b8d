/** An image checked whole, over an in-memory repository: each kind of problem, named by platform and digest. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkImage, formatImageProblem, parseDigest, verifyManifest, type ImageSource } from '../../src/images/index.js'
import { blobOf, makeImage, makeIndex, type Blob, type ImageParts } from '../../src/demo/images.js'

/** A repository of blobs (manifests among them); `unlinked` manifests are not in the repository. */
const source = (blobs: Blob[], options: { unlinked?: string[]; sizes?: Record<string, number> } = {}): ImageSource => {
  const byDigest = new Map(blobs.map((b) => [b.digest, b]))
  return {
    readManifest: async (d) => {
      const b = byDigest.get(d.value)
      return b ? verifyManifest(d, b.bytes) : { ok: false, reason: 'missing' }
    },
    hasManifest: async (d) => byDigest.has(d.value) && !options.unlinked?.includes(d.value),
    stat: async (d) => {
      const b = byDigest.get(d.value)
      return b ? { size: options.sizes?.[d.value] ?? b.size, mtimeMs: 0 } : null
    },
    readBlob: async (d) => byDigest.get(d.value)?.bytes ?? null,
  }
}

const partsOf = (i: ImageParts): Blob[] => [i.config, ...i.layers, i.manifest]
const digest = (b: Blob) => parseDigest(b.digest)!

test('a whole index: platforms, sizes, every blob, no problem', async () => {
  const amd = await makeImage({ architecture: 'amd64', format: 'oci', files: { a: '1' } })
  const arm = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { a: '2' } })
  const index = makeIndex([
    { image: amd, platform: { architecture: 'amd64', os: 'linux' } },
    { image: arm, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
  ])
  const c = await checkImage(source([...partsOf(amd), ...partsOf(arm), index]), 'r:1', digest(index))
  assert.equal(c.state, 'present')
  assert.deepEqual(c.platforms, ['linux/amd64', 'linux/arm64/v8'])
  assert.deepEqual(c.completePlatforms, c.platforms)
  assert.deepEqual(c.problems, [])
  assert.equal(c.blobs.length, 7)
  assert.equal(
    c.size,
    [index, ...partsOf(amd), ...partsOf(arm)].reduce((n, b) => n + b.size, 0),
  )
})

test('a child manifest that is absent, or not in the repository, is missing for its platform', async () => {
  const amd = await makeImage({ architecture: 'amd64', format: 'oci', files: { a: '1' } })
  const arm = await makeImage({ architecture: 'arm64', format: 'oci', files: { a: '2' } })
  const index = makeIndex([
    { image: amd, platform: { architecture: 'amd64', os: 'linux' } },
    { image: arm, platform: { architecture: 'arm64', os: 'linux' } },
  ])
  for (const src of [
    source([...partsOf(amd), arm.config, ...arm.layers, index]),
    source([...partsOf(amd), ...partsOf(arm), index], { unlinked: [arm.manifest.digest] }),
  ]) {
    const c = await checkImage(src, 'r:1', digest(index))
    assert.equal(c.state, 'incomplete')
    assert.deepEqual(c.completePlatforms, ['linux/amd64'])
    assert.deepEqual(c.problems, [
      { image: 'r:1', platform: 'linux/arm64', digest: arm.manifest.digest, kind: 'missing', part: 'manifest' },
    ])
    assert.equal(formatImageProblem(c.problems[0]!), `r:1 linux/arm64 missing ${arm.manifest.digest} (manifest)`)
  }
})

test('layers: missing, short (incomplete), another size (corrupt), hashed bad (corrupt), foreign', async () => {
  const img = await makeImage({ architecture: 'amd64', format: 'docker', files: { a: '1' } })
  const layer = img.layers[0]!
  const missing = await checkImage(source([img.config, img.manifest]), 'p:1', digest(img.manifest))
  assert.deepEqual(missing.problems, [{ image: 'p:1', platform: 'linux/amd64', digest: layer.digest, kind: 'missing', part: 'layer' }])
  assert.deepEqual(missing.completePlatforms, [])
  const short = await checkImage(source(partsOf(img), { sizes: { [layer.digest]: 3 } }), 'p:1', digest(img.manifest))
  assert.equal(short.problems[0]!.kind, 'incomplete')
  assert.equal(short.problems[0]!.detail, `3 of ${layer.size} bytes`)
  const long = await checkImage(source(partsOf(img), { sizes: { [layer.digest]: layer.size + 1 } }), 'p:1', digest(img.manifest))
  assert.equal(long.problems[0]!.kind, 'corrupt')
  const hashed = await checkImage(source(partsOf(img)), 'p:1', digest(img.manifest), { corrupt: (d) => d === layer.digest })
  assert.deepEqual(
    hashed.problems.map((p) => [p.kind, p.digest, p.part]),
    [['corrupt', layer.digest, 'layer']],
  )

  const foreign = blobOf('not here')
  const manifest = blobOf(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: img.config.digest, size: img.config.size },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
          digest: foreign.digest,
          size: foreign.size,
          urls: ['https://x'],
        },
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer.digest, size: layer.size },
      ],
    }),
  )
  const f = await checkImage(source([img.config, layer, manifest]), 'w:1', digest(manifest))
  assert.equal(f.state, 'present', 'a foreign layer alone does not break a pull')
  assert.deepEqual(f.completePlatforms, ['linux/amd64'])
  assert.deepEqual(f.problems, [{ image: 'w:1', platform: 'linux/amd64', digest: foreign.digest, kind: 'foreign', part: 'layer' }])
})

test('a config that is not JSON is corrupt, and the platform is then unknown', async () => {
  const img = await makeImage({ architecture: 'amd64', format: 'oci', files: { a: '1' } })
  const notJson = { ...img.config, bytes: Buffer.alloc(img.config.size, 0x7e) }
  const c = await checkImage(source([notJson, ...img.layers, img.manifest]), 'c:1', digest(img.manifest))
  assert.deepEqual(c.problems, [
    { image: 'c:1', platform: 'unknown', digest: img.config.digest, kind: 'corrupt', part: 'config', detail: 'not valid JSON' },
  ])
  assert.deepEqual(c.platforms, [])
})

test('the manifest a tag names: missing, or bytes that do not verify', async () => {
  const img = await makeImage({ architecture: 'amd64', format: 'oci', files: { a: '1' } })
  const gone = await checkImage(source(partsOf(img).slice(0, -1)), 't:1', digest(img.manifest))
  assert.deepEqual(gone.problems, [{ image: 't:1', platform: 'unknown', digest: img.manifest.digest, kind: 'missing', part: 'manifest' }])
  assert.equal(gone.mediaType, null)
  const flipped = { ...img.manifest, bytes: Buffer.from(img.manifest.bytes.toString().replace('"', "'")) }
  const bad = await checkImage(source([img.config, ...img.layers, flipped]), 't:1', digest(img.manifest))
  assert.equal(bad.problems[0]!.kind, 'corrupt')
})

test('a buildx attestation that was not copied is no problem; its platform is none', async () => {
  const amd = await makeImage({ architecture: 'amd64', format: 'oci', files: { a: '1' } })
  const att = await makeImage({ architecture: 'unknown', os: 'unknown', format: 'oci', files: { 'sbom.json': '{}' } })
  const index = blobOf(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: amd.mediaType,
          digest: amd.manifest.digest,
          size: amd.manifest.size,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          mediaType: att.mediaType,
          digest: att.manifest.digest,
          size: att.manifest.size,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.manifest.digest },
        },
      ],
    }),
  )
  const c = await checkImage(source([...partsOf(amd), index]), 'b:1', digest(index))
  assert.deepEqual(c.problems, [])
  assert.deepEqual(c.platforms, ['linux/amd64'])
})
