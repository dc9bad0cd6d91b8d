import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { OCI_INDEX } from '../../src/images/index.js'
import {
  importPaths,
  MemorySink,
  ImportError,
  type ImportOptions,
  type ImportedImage,
  type ImportProgress,
} from '../../src/images/import/index.js'
import { tempDir } from '../helpers/server.js'
import {
  filesToTar,
  hex,
  layoutFiles,
  legacyDockerFiles,
  plainImage,
  sha256,
  writeFile,
  writeTree,
  type PlainImage,
} from '../helpers/image-archives.js'

const collect = async (paths: string[], sink: MemorySink, options: ImportOptions = {}): Promise<ImportedImage[]> => {
  const out: ImportedImage[] = []
  for await (const r of importPaths(paths, sink, options)) out.push(r)
  return out
}

const rejects = async (p: Promise<unknown>, file: string, detail: RegExp): Promise<ImportError> => {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof ImportError, `an ImportError, got ${String(err)}`)
    assert.equal(err.file, file)
    assert.match(err.message, detail)
    return err
  }
  assert.fail(`expected an ImportError matching ${detail}`)
}

const blobsOf = (img: ImageParts): Blob[] => [img.config, ...img.layers]

describe('importPaths', () => {
  let dir: string
  let amd64: ImageParts
  let arm64: ImageParts
  let index: Blob
  let plain: PlainImage
  let layout: string
  let legacy: string
  let unnamed: string

  before(async () => {
    dir = tempDir('outpost-import-paths-')
    amd64 = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'etc/arch': 'amd64\n', big: Buffer.alloc(200_000, 3) } })
    arm64 = await makeImage({ architecture: 'arm64', format: 'oci', files: { 'etc/arch': 'arm64\n' } })
    index = makeIndex([
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux' } },
    ])
    plain = await plainImage([{ 'etc/one': '1\n' }, { 'etc/two': '2\n' }])
    layout = writeTree(
      join(dir, 'layout'),
      layoutFiles(
        [
          { manifest: index, mediaType: OCI_INDEX, blobs: [], annotations: { 'io.containerd.image.name': 'docker.io/library/hello:1.0' } },
          {
            manifest: index,
            mediaType: OCI_INDEX,
            blobs: [],
            annotations: { 'io.containerd.image.name': 'docker.io/library/hello:latest' },
          },
        ],
        [amd64.manifest, arm64.manifest, ...blobsOf(amd64), ...blobsOf(arm64)],
      ),
    )
    legacy = writeFile(
      join(dir, 'legacy.tar'),
      await filesToTar(legacyDockerFiles([{ image: plain, repoTags: ['registry.k8s.io/pause:3.9', 'pause:3.9'] }])),
    )
    unnamed = writeTree(join(dir, 'skopeo-dir'), {
      version: 'Directory Transport Version: 1.1\n',
      'manifest.json': amd64.manifest.bytes,
      ...Object.fromEntries(blobsOf(amd64).map((b) => [hex(b.digest), b.bytes])),
    })
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('imports every image of every path, blobs before manifests, one line per NAME:TAG', async () => {
    const sink = new MemorySink()
    const progress: ImportProgress[] = []
    const results = await collect([layout, legacy], sink, { onProgress: (p) => progress.push(p) })
    const legacyDigest = results.find((r) => r.name === 'library/pause')!.digest
    assert.deepEqual(
      results.map((r) => r.line),
      [
        `library/hello:1.0 ${index.digest}`,
        `library/hello:latest ${index.digest}`,
        `registry.k8s.io/pause:3.9 ${legacyDigest}`,
        `library/pause:3.9 ${legacyDigest}`,
      ],
    )
    assert.ok(results.every((r) => r.written))
    assert.equal(results[0]!.path, layout)
    assert.equal(results[0]!.mediaType, OCI_INDEX)

    // The stored index is the layout's bytes; its children and blobs came first (MemorySink checks the order).
    assert.ok(sink.manifests.get(`library/hello@${index.digest}`)!.bytes.equals(index.bytes))
    assert.ok(sink.manifests.get(`library/hello@${arm64.manifest.digest}`)!.bytes.equals(arm64.manifest.bytes))
    assert.equal(sink.tags.get('library/hello:latest'), index.digest)
    assert.equal(sink.tags.get('registry.k8s.io/pause:3.9'), legacyDigest)
    for (const b of [...blobsOf(amd64), ...blobsOf(arm64)]) assert.ok(sink.blobs.get(b.digest)!.equals(b.bytes))
    for (const l of plain.layers) assert.ok(sink.blobs.get(sha256(l))!.equals(l))
    assert.equal(sink.absentChildren.length, 0)
    const firstManifest = sink.writes.findIndex((w) => w.startsWith('manifest'))
    const lastLayoutBlob = Math.max(...[...blobsOf(amd64), ...blobsOf(arm64)].map((b) => sink.writes.indexOf(`blob ${b.digest}`)))
    assert.ok(lastLayoutBlob < firstManifest, 'all of a source’s blobs before its first manifest')

    // Progress counts every copied byte once.
    const total =
      [...blobsOf(amd64), ...blobsOf(arm64)].reduce((n, b) => n + b.size, 0) +
      plain.config.size +
      plain.layers.reduce((n, l) => n + l.length, 0)
    assert.equal(progress.at(-1)!.done, total)
    assert.ok(progress.every((p) => p.total === total))
    assert.ok(progress.some((p) => p.path === legacy))

    // A second run writes nothing new and prints the same lines.
    const writes = sink.writes.length
    const again = await collect([layout, legacy], sink)
    assert.deepEqual(
      again.map((r) => r.line),
      results.map((r) => r.line),
    )
    assert.ok(again.every((r) => !r.written))
    assert.equal(sink.writes.length, writes)
  })

  test('a dry run prints the same lines, reads every blob, writes nothing', async () => {
    const sink = new MemorySink()
    let last: ImportProgress | undefined
    const results = await collect([layout, legacy], sink, { dryRun: true, onProgress: (p) => (last = p) })
    assert.equal(results.length, 4)
    assert.ok(results.every((r) => !r.written))
    assert.equal(sink.writes.length, 0)
    assert.ok(last && last.done === last.total && last.total > 0, 'every blob was read')

    const flipped = Buffer.from(plain.layers[0]!)
    flipped[700] ^= 0x01
    const files = legacyDockerFiles([{ image: plain, repoTags: ['pause:3.9'] }])
    const entry = Object.keys(files).find((k) => k.endsWith('layer.tar') && (files[k] as Buffer).equals(plain.layers[0]!))!
    const bad = writeFile(join(dir, 'dry-bad.tar'), await filesToTar({ ...files, [entry]: flipped }))
    await rejects(collect([bad], sink, { dryRun: true }), bad, /does not match its digest/)
  })

  test('a source without names needs --name and --tag', async () => {
    const sink = new MemorySink()
    await rejects(collect([unnamed], sink), unnamed, /manifest\.json: carries no name: give --name REPO --tag TAG/)
    await rejects(collect([unnamed], sink, { name: 'library/tool' }), unnamed, /carries no tag: give --tag TAG/)
    await rejects(collect([unnamed], sink, { name: 'Bad Name', tag: '1' }), unnamed, /--name "Bad Name" is not a valid repository name/)
    await rejects(collect([unnamed], sink, { name: 'library/tool', tag: '-x' }), unnamed, /--tag "-x" is not a valid tag/)
    assert.equal(sink.writes.length, 0)
    const results = await collect([unnamed], sink, { name: 'library/tool', tag: '2.0' })
    assert.deepEqual(
      results.map((r) => r.line),
      [`library/tool:2.0 ${amd64.manifest.digest}`],
    )
  })

  test('--name renames every image, --tag only a single one', async () => {
    const sink = new MemorySink()
    const renamed = await collect([layout], sink, { name: 'mirror/hello' })
    assert.deepEqual(
      renamed.map((r) => r.line),
      [`mirror/hello:1.0 ${index.digest}`, `mirror/hello:latest ${index.digest}`],
    )
    const retagged = await collect([legacy], sink, { tag: 'stable' })
    assert.deepEqual(
      retagged.map((r) => `${r.name}:${r.tag}`),
      ['registry.k8s.io/pause:stable', 'library/pause:stable'],
    )
    await rejects(
      collect([layout, legacy], sink, { name: 'x/y', tag: '1' }),
      `${layout}, ${legacy}`,
      /--tag names a single image, and there are 2/,
    )
  })

  test('a tag-only OCI name needs --name', async () => {
    const path = writeTree(
      join(dir, 'tag-only'),
      layoutFiles([
        {
          manifest: amd64.manifest,
          mediaType: amd64.mediaType,
          blobs: blobsOf(amd64),
          annotations: { 'org.opencontainers.image.ref.name': 'v1' },
        },
      ]),
    )
    await rejects(
      collect([path], new MemorySink()),
      path,
      /index\.json manifests\[0\]: carries a tag \(v1\) but no repository name: give --name REPO/,
    )
    const results = await collect([path], new MemorySink(), { name: 'library/app' })
    assert.deepEqual(
      results.map((r) => r.line),
      [`library/app:v1 ${amd64.manifest.digest}`],
    )
  })

  test('two sources giving one tag to different images stop the run before any write', async () => {
    const other = await plainImage([{ 'etc/other': 'o\n' }])
    const clash = writeFile(join(dir, 'clash.tar'), await filesToTar(legacyDockerFiles([{ image: other, repoTags: ['pause:3.9'] }])))
    const sink = new MemorySink()
    await rejects(
      collect([legacy, clash], sink),
      clash,
      /library\/pause:3\.9 is also given to sha256:.* by .*legacy\.tar \(manifest\.json\[0\]\)/,
    )
    assert.equal(sink.writes.length, 0)
  })

  test('a corrupt blob leaves no manifest or tag of its source; sources before it are complete', async () => {
    const broken = await plainImage([{ 'etc/broken': 'b\n' }, { 'etc/ok': 'k\n' }])
    const files = legacyDockerFiles([{ image: broken, repoTags: ['broken:1'] }])
    const layerEntry = Object.keys(files)
      .filter((k) => k.endsWith('layer.tar'))
      .find((k) => (files[k] as Buffer).equals(broken.layers[1]!))!
    const flipped = Buffer.from(broken.layers[1]!)
    flipped[600] ^= 0x01
    const bad = writeFile(join(dir, 'broken.tar'), await filesToTar({ ...files, [layerEntry]: flipped }))
    const sink = new MemorySink()
    const err = await rejects(collect([legacy, bad], sink), bad, /does not match its digest/)
    assert.equal(err.entry, layerEntry)
    assert.equal(sink.tags.get('library/pause:3.9') !== undefined, true, 'the good source before it is imported')
    assert.equal(sink.tags.get('library/broken:1'), undefined)
    assert.ok(![...sink.manifests.keys()].some((k) => k.startsWith('library/broken@')))
    assert.ok(!sink.blobs.has(sha256(broken.layers[1]!)))
  })

  test('an index missing children is refused unless kept', async () => {
    const files = layoutFiles(
      [{ manifest: index, mediaType: OCI_INDEX, blobs: [], annotations: { 'io.containerd.image.name': 'hello:partial' } }],
      [amd64.manifest, ...blobsOf(amd64)],
    )
    const path = writeTree(join(dir, 'partial'), files)
    const sink = new MemorySink()
    await rejects(collect([path], sink), path, /index sha256:.* lists 1 manifest\(s\) the source does not carry \(linux\/arm64\)/)
    assert.equal(sink.writes.length, 0)
    const kept = await collect([path], sink, { partialIndexes: 'keep' })
    assert.deepEqual(
      kept.map((r) => r.line),
      [`library/hello:partial ${index.digest}`],
    )
    assert.deepEqual(sink.absentChildren, [`library/hello@${arm64.manifest.digest}`])
  })

  test('a blob shared by two sources is copied once', async () => {
    const again = writeFile(
      join(dir, 'legacy-again.tar'),
      await filesToTar(legacyDockerFiles([{ image: plain, repoTags: ['copy/pause:1'] }])),
    )
    const sink = new MemorySink()
    const results = await collect([legacy, again], sink)
    assert.equal(results.length, 3)
    assert.equal(sink.writes.filter((w) => w.startsWith('blob ')).length, 3)
    assert.equal(results[2]!.written, true, 'its manifest and tag are new')
  })
})
