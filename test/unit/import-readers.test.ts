import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { blobOf, makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { OCI_INDEX } from '../../src/images/index.js'
import { openSource, ImportError, type ImageSource } from '../../src/images/import/index.js'
import { tempDir } from '../helpers/server.js'
import {
  dockerSaveOciFiles,
  filesToTar,
  hex,
  layoutFiles,
  legacyDockerFiles,
  plainImage,
  sha256,
  tarBuffer,
  writeFile,
  writeTree,
  type PlainImage,
} from '../helpers/image-archives.js'

const readAll = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

const importError = async (p: Promise<unknown>, file: string, entry: string | RegExp | undefined, detail: RegExp): Promise<ImportError> => {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof ImportError, `an ImportError, got ${String(err)}`)
    assert.equal(err.file, file)
    if (entry instanceof RegExp) assert.match(err.entry ?? '', entry)
    else assert.equal(err.entry, entry)
    assert.match(err.detail, detail)
    assert.ok(err.message.startsWith(`${file}: `), err.message)
    return err
  }
  assert.fail(`expected an ImportError matching ${detail}`)
}

/** Opens a source, checks every blob streams back exactly (and checked), closes it. */
const withSource = async <T>(path: string, fn: (s: ImageSource) => Promise<T> | T): Promise<T> => {
  const source = await openSource(path)
  try {
    return await fn(source)
  } finally {
    await source.close()
  }
}

const allBlobsRead = async (source: ImageSource): Promise<number> => {
  let n = 0
  for (const image of source.images) {
    for (const b of image.blobs) {
      const bytes = await readAll(source.openBlob(b.digest))
      assert.equal(sha256(bytes), b.digest)
      assert.equal(bytes.length, b.size)
      n++
    }
  }
  return n
}

const imageBlobs = (img: ImageParts): Blob[] => [img.config, ...img.layers]

describe('OCI layouts: folder, oci-archive, skopeo dir', () => {
  let dir: string
  let amd64: ImageParts
  let arm64: ImageParts
  let docker: ImageParts
  let index: Blob
  let files: Record<string, Buffer | string>

  before(async () => {
    dir = tempDir('outpost-import-readers-')
    amd64 = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'etc/arch': 'amd64\n' } })
    arm64 = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'etc/arch': 'arm64\n' } })
    docker = await makeImage({ architecture: 'amd64', format: 'docker', files: { pause: 'pause\n' } })
    index = makeIndex([
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ])
    files = layoutFiles(
      [
        { manifest: index, mediaType: OCI_INDEX, blobs: [], annotations: { 'org.opencontainers.image.ref.name': '1.0' } },
        { manifest: index, mediaType: OCI_INDEX, blobs: [], annotations: { 'org.opencontainers.image.ref.name': 'latest' } },
        {
          manifest: docker.manifest,
          mediaType: docker.mediaType,
          blobs: imageBlobs(docker),
          annotations: { 'io.containerd.image.name': 'registry.k8s.io/pause:3.9', 'org.opencontainers.image.ref.name': '3.9' },
        },
        { manifest: amd64.manifest, mediaType: amd64.mediaType, blobs: [] },
      ],
      [amd64.manifest, arm64.manifest, ...imageBlobs(amd64), ...imageBlobs(arm64)],
    )
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const checkLayout = (source: ImageSource) => {
    assert.equal(source.images.length, 3, 'entries with one digest are one image')
    const [idx, pause, single] = source.images as [ImageSource['images'][0], ImageSource['images'][0], ImageSource['images'][0]]
    assert.deepEqual(idx.refs, [{ tag: '1.0' }, { tag: 'latest' }])
    assert.equal(idx.manifest.digest, index.digest)
    assert.equal(idx.manifest.mediaType, OCI_INDEX)
    assert.ok(idx.manifest.bytes.equals(index.bytes), 'index bytes preserved')
    assert.deepEqual(
      idx.children.map((c) => [c.digest, c.mediaType]),
      [
        [amd64.manifest.digest, amd64.mediaType],
        [arm64.manifest.digest, arm64.mediaType],
      ],
    )
    assert.ok(idx.children[1]!.bytes.equals(arm64.manifest.bytes))
    assert.deepEqual(idx.missing, [])
    assert.deepEqual(new Set(idx.blobs.map((b) => b.digest)), new Set([...imageBlobs(amd64), ...imageBlobs(arm64)].map((b) => b.digest)))
    assert.equal(idx.where, 'index.json manifests[0]')
    assert.deepEqual(pause.refs, [{ name: 'registry.k8s.io/pause', tag: '3.9' }])
    assert.ok(pause.manifest.bytes.equals(docker.manifest.bytes), 'a Docker manifest in a layout is kept as it is')
    assert.equal(pause.manifest.mediaType, docker.mediaType)
    assert.deepEqual(single.refs, [])
  }

  test('an OCI layout folder', async () => {
    const path = writeTree(join(dir, 'layout'), files)
    await withSource(path, async (source) => {
      assert.equal(source.kind, 'oci-layout')
      checkLayout(source)
      assert.equal(await allBlobsRead(source), 4 + 2 + 2)
      assert.equal(source.entryOf(amd64.config.digest), `blobs/sha256/${hex(amd64.config.digest)}`)
    })
  })

  test('an oci-archive tarball, with ./ member names', async () => {
    const tar = await tarBuffer([
      { name: './', type: 'directory' },
      ...Object.entries(files).map(([name, body]) => ({ name: `./${name}`, body })),
    ])
    const path = writeFile(join(dir, 'layout.tar'), tar)
    await withSource(path, async (source) => {
      assert.equal(source.kind, 'oci-archive')
      checkLayout(source)
      await allBlobsRead(source)
    })
  })

  test('a skopeo dir: copy of an index (--all) and of an image', async () => {
    const all = writeTree(join(dir, 'skopeo-all'), {
      version: 'Directory Transport Version: 1.1\n',
      'manifest.json': index.bytes,
      [`${hex(amd64.manifest.digest)}.manifest.json`]: amd64.manifest.bytes,
      [`${hex(arm64.manifest.digest)}.manifest.json`]: arm64.manifest.bytes,
      ...Object.fromEntries([...imageBlobs(amd64), ...imageBlobs(arm64)].map((b) => [hex(b.digest), b.bytes])),
      'signature-1': 'ignored',
    })
    await withSource(all, async (source) => {
      assert.equal(source.kind, 'skopeo-dir')
      assert.equal(source.images.length, 1)
      const [img] = source.images
      assert.deepEqual(img!.refs, [])
      assert.equal(img!.manifest.digest, index.digest)
      assert.equal(img!.manifest.mediaType, OCI_INDEX, 'read from the bytes: skopeo keeps no media type beside them')
      assert.equal(img!.children.length, 2)
      assert.equal(await allBlobsRead(source), 4)
    })
    const one = writeTree(join(dir, 'skopeo-one'), {
      version: 'Directory Transport Version: 1.1\n',
      'manifest.json': docker.manifest.bytes,
      ...Object.fromEntries(imageBlobs(docker).map((b) => [hex(b.digest), b.bytes])),
    })
    await withSource(one, (source) => {
      assert.equal(source.images[0]!.manifest.digest, docker.manifest.digest)
      assert.equal(source.images[0]!.manifest.mediaType, docker.mediaType)
    })
  })

  test('an index whose children are not all there lists what is missing', async () => {
    const partial = { ...files }
    delete partial[`blobs/sha256/${hex(arm64.manifest.digest)}`]
    const path = writeTree(join(dir, 'partial'), partial)
    await withSource(path, (source) => {
      const [idx] = source.images
      assert.deepEqual(
        idx!.children.map((c) => c.digest),
        [amd64.manifest.digest],
      )
      assert.deepEqual(
        idx!.missing.map((d) => [d.digest, d.platform?.architecture]),
        [[arm64.manifest.digest, 'arm64']],
      )
    })
  })

  test('a missing blob, a wrong size, a manifest that does not match its digest are refused on open', async () => {
    const missing = { ...files }
    delete missing[`blobs/sha256/${hex(docker.layers[0]!.digest)}`]
    const p1 = writeTree(join(dir, 'missing-blob'), missing)
    await importError(
      openSource(p1),
      p1,
      `blobs/sha256/${hex(docker.layers[0]!.digest)}`,
      new RegExp(`missing: manifest ${docker.manifest.digest} \\(layers\\[0\\]\\)`),
    )

    const short = { ...files, [`blobs/sha256/${hex(docker.config.digest)}`]: docker.config.bytes.subarray(1) }
    const p2 = writeTree(join(dir, 'short-blob'), short)
    await importError(openSource(p2), p2, `blobs/sha256/${hex(docker.config.digest)}`, /bytes, manifest .* gives/)

    const bad = Buffer.from(docker.manifest.bytes)
    bad[bad.length - 2] = 0x20
    const p3 = writeTree(join(dir, 'bad-manifest'), { ...files, [`blobs/sha256/${hex(docker.manifest.digest)}`]: bad })
    await importError(openSource(p3), p3, `blobs/sha256/${hex(docker.manifest.digest)}`, /does not match its digest/)
  })

  test('corrupt blob bytes fail the blob stream, naming the archive and the entry', async () => {
    const layer = docker.layers[0]!
    const flipped = Buffer.from(layer.bytes)
    flipped[10] ^= 0xff
    const path = writeFile(join(dir, 'corrupt-layer.tar'), await filesToTar({ ...files, [`blobs/sha256/${hex(layer.digest)}`]: flipped }))
    await withSource(path, async (source) => {
      await importError(
        readAll(source.openBlob(layer.digest)),
        path,
        `blobs/sha256/${hex(layer.digest)}`,
        /content does not match its digest/,
      )
      // The other blobs still read fine.
      assert.equal((await readAll(source.openBlob(docker.config.digest))).length, docker.config.size)
    })
  })
})

describe('docker save archives', () => {
  let dir: string
  let one: PlainImage
  let two: PlainImage

  before(async () => {
    dir = tempDir('outpost-import-docker-')
    one = await plainImage([{ 'etc/one': '1\n' }, { 'bin/tool': 'x'.repeat(3000) }])
    two = await plainImage([{ 'etc/two': '2\n' }], 'arm64')
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  const expectedManifest = (image: PlainImage, layerType: string, layers: Buffer[] = image.layers): Buffer =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: image.config.size, digest: image.config.digest },
        layers: layers.map((l) => ({ mediaType: layerType, size: l.length, digest: sha256(l) })),
      }),
    )

  test('the legacy form: a Docker schema2 manifest is made for each image, names normalised', async () => {
    const path = writeFile(
      join(dir, 'legacy.tar'),
      await filesToTar(
        legacyDockerFiles([
          { image: one, repoTags: ['busybox:1.36', 'example.com/tools/busybox:1.36'] },
          { image: two, repoTags: null },
        ]),
      ),
    )
    await withSource(path, async (source) => {
      assert.equal(source.kind, 'docker-archive')
      assert.equal(source.images.length, 2)
      const [a, b] = source.images
      assert.deepEqual(a!.refs, [
        { name: 'library/busybox', tag: '1.36' },
        { name: 'example.com/tools/busybox', tag: '1.36' },
      ])
      assert.deepEqual(b!.refs, [])
      assert.equal(a!.where, 'manifest.json[0]')
      const want = expectedManifest(one, 'application/vnd.docker.image.rootfs.diff.tar')
      assert.equal(a!.manifest.bytes.toString(), want.toString())
      assert.equal(a!.manifest.digest, sha256(want))
      assert.equal(a!.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
      assert.deepEqual(
        a!.blobs.map((x) => x.digest),
        [one.config.digest, ...one.layers.map((l) => sha256(l))],
      )
      assert.equal(await allBlobsRead(source), 3 + 2)
      assert.match(source.entryOf(sha256(one.layers[0]!)) ?? '', /^[a-f0-9]{64}\/layer\.tar$/)
    })
  })

  test('skopeo-style names (<hex>.tar behind <id>/layer.tar symlinks) read the same', async () => {
    const layerName = `${hex(sha256(one.layers[0]!))}.tar`
    const path = writeFile(
      join(dir, 'skopeo-style.tar'),
      await tarBuffer([
        { name: layerName, body: one.layers[0]! },
        { name: `${hex(sha256(one.layers[1]!))}.tar`, body: one.layers[1]! },
        { name: `${hex(one.config.digest)}.json`, body: one.config.bytes },
        { name: 'aaaa/layer.tar', type: 'symlink', linkname: `../${layerName}` },
        {
          name: 'manifest.json',
          body: JSON.stringify([
            {
              Config: `${hex(one.config.digest)}.json`,
              RepoTags: ['docker.io/library/busybox:latest'],
              Layers: ['aaaa/layer.tar', `${hex(sha256(one.layers[1]!))}.tar`],
            },
          ]),
        },
      ]),
    )
    await withSource(path, async (source) => {
      assert.deepEqual(source.images[0]!.refs, [{ name: 'library/busybox', tag: 'latest' }])
      assert.equal(
        source.images[0]!.manifest.bytes.toString(),
        expectedManifest(one, 'application/vnd.docker.image.rootfs.diff.tar').toString(),
      )
      await allBlobsRead(source)
    })
  })

  test('gzip layers (go-containerregistry tarballs) are hashed and checked against the diff_ids', async () => {
    const path = writeFile(
      join(dir, 'gzip.tar'),
      await filesToTar(legacyDockerFiles([{ image: one, repoTags: ['app:1'], gzipLayers: true }])),
    )
    await withSource(path, async (source) => {
      const img = source.images[0]!
      const gz = one.layers.map((l) => gzipSync(l))
      assert.equal(img.manifest.bytes.toString(), expectedManifest(one, 'application/vnd.docker.image.rootfs.diff.tar.gzip', gz).toString())
      await allBlobsRead(source)
    })
    const other = await plainImage([{ 'etc/other': 'o\n' }, { x: 'y' }])
    const files = legacyDockerFiles([{ image: { config: one.config, layers: other.layers }, repoTags: ['app:1'], gzipLayers: true }])
    const bad = writeFile(join(dir, 'gzip-bad.tar'), await filesToTar(files))
    await importError(openSource(bad), bad, /layer\.tar$/, /unpacked, it hashes to sha256:.*rootfs\.diff_ids\[0\]/)
  })

  test('an uncompressed layer that does not match its diff_id fails when read', async () => {
    const other = await plainImage([{ 'etc/other': 'o\n' }, { 'bin/tool': 'y'.repeat(3000) }])
    const files = legacyDockerFiles([{ image: { config: one.config, layers: other.layers }, repoTags: ['app:1'] }])
    const path = writeFile(join(dir, 'diffid-bad.tar'), await filesToTar(files))
    await withSource(path, async (source) => {
      const layer = source.images[0]!.blobs[1]!
      assert.equal(layer.digest, sha256(one.layers[0]!), 'the diff_id is the digest')
      await importError(readAll(source.openBlob(layer.digest)), path, /layer\.tar$/, /bytes|does not match its digest/)
    })
  })

  test('a config that does not match its name, or lists other layers, is refused', async () => {
    const files = legacyDockerFiles([{ image: one, repoTags: ['app:1'] }])
    const configName = `${hex(one.config.digest)}.json`
    const p1 = writeFile(join(dir, 'config-bad.tar'), await filesToTar({ ...files, [configName]: `${one.config.bytes.toString()} ` }))
    await importError(openSource(p1), p1, configName, /does not match the digest its name gives/)

    const items = JSON.parse(files['manifest.json'] as string) as Array<{ Layers: string[] }>
    items[0]!.Layers.pop()
    const p2 = writeFile(join(dir, 'count-bad.tar'), await filesToTar({ ...files, 'manifest.json': JSON.stringify(items) }))
    await importError(openSource(p2), p2, 'manifest.json', /\[0\]: 1 layers, but the config .* lists 2 diff_ids/)

    const p3 = writeFile(
      join(dir, 'bad-name.tar'),
      await filesToTar(legacyDockerFiles([{ image: one, repoTags: ['localhost:5000/app:1'] }])),
    )
    await importError(openSource(p3), p3, 'manifest.json', /\[0\]\.RepoTags: .*valid repository name/)
  })

  test('the Docker 25+ form: manifests from the OCI layout, byte for byte; names from the annotations', async () => {
    const files = dockerSaveOciFiles([
      { image: one, refs: ['busybox:1.36', 'busybox:latest'] },
      { image: two, refs: ['registry.k8s.io/pause:3.9'] },
    ])
    const path = writeFile(join(dir, 'docker25.tar'), await filesToTar(files))
    await withSource(path, async (source) => {
      assert.equal(source.kind, 'docker-archive')
      assert.equal(source.images.length, 2)
      const [a, b] = source.images
      assert.deepEqual(a!.refs, [
        { name: 'library/busybox', tag: '1.36' },
        { name: 'library/busybox', tag: 'latest' },
      ])
      assert.deepEqual(b!.refs, [{ name: 'registry.k8s.io/pause', tag: '3.9' }])
      assert.equal(a!.manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json')
      const index = JSON.parse(files['index.json'] as string) as { manifests: Array<{ digest: string }> }
      assert.equal(a!.manifest.digest, index.manifests[0]!.digest)
      assert.ok(a!.manifest.bytes.equals(files[`blobs/sha256/${hex(a!.manifest.digest)}`] as Buffer))
      await allBlobsRead(source)
    })
  })

  test('the Docker 25+ form without annotations takes the names from RepoTags', async () => {
    const files = dockerSaveOciFiles([{ image: one, refs: [] }])
    const items = JSON.parse(files['manifest.json'] as string) as Array<{ RepoTags: string[] }>
    items[0]!.RepoTags = ['app:2']
    files['manifest.json'] = JSON.stringify(items)
    const path = writeFile(join(dir, 'docker25-repotags.tar'), await filesToTar(files))
    await withSource(path, (source) => {
      assert.equal(source.images.length, 1)
      assert.deepEqual(source.images[0]!.refs, [{ name: 'library/app', tag: '2' }])
      assert.equal(source.images[0]!.manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    })
  })

  test('compressed, empty and foreign files are refused with what they are', async () => {
    const tar = await filesToTar(legacyDockerFiles([{ image: one, repoTags: ['app:1'] }]))
    const gz = writeFile(join(dir, 'saved.tar.gz'), gzipSync(tar))
    await importError(openSource(gz), gz, undefined, /gzip-compressed: decompress it first \(gunzip -k/)
    const other = writeFile(join(dir, 'other.tar'), await filesToTar({ README: 'hello' }))
    await importError(openSource(other), other, undefined, /not an image archive/)
    const folder = writeTree(join(dir, 'plain-folder'), { README: 'hello' })
    await importError(openSource(folder), folder, undefined, /not an image folder/)
    const nowhere = join(dir, 'does-not-exist.tar')
    await importError(openSource(nowhere), nowhere, undefined, /cannot open/)
    const truncated = writeFile(join(dir, 'truncated.tar'), tar.subarray(0, tar.length - 1024 - 700))
    await importError(openSource(truncated), truncated, /./, /truncated/)
  })

  test('a blob named in no manifest cannot be opened', async () => {
    const path = writeFile(join(dir, 'one.tar'), await filesToTar(legacyDockerFiles([{ image: one, repoTags: ['app:1'] }])))
    await withSource(path, (source) => {
      assert.throws(() => source.openBlob(blobOf('nothing').digest), /no blob sha256:.* in this source/)
    })
  })
})
