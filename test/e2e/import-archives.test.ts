/**
 * Import reads what real skopeo writes: from an OCI layout the test makes,
 * skopeo copies images to docker-archive:, oci-archive:, oci: and dir:; the
 * readers must give the manifests skopeo reports (`skopeo inspect --raw`)
 * byte for byte, and every blob must stream back matching its digest. The
 * Docker schema2 manifest import makes for a docker-archive (which carries
 * none) is handed back to skopeo, which must accept and copy it.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { OciLayoutWriter, OCI_INDEX } from '../../src/images/index.js'
import { importPaths, openSource, MemorySink, type ImageSource, type ImportOptions } from '../../src/images/import/index.js'
import { tempDir } from '../helpers/server.js'
import { requireTool, runOk } from '../helpers/procs.js'
import { hex, writeTree } from '../helpers/image-archives.js'

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

const readAll = async (source: ImageSource, digest: string): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const c of source.openBlob(digest)) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

const withSource = async <T>(path: string, fn: (s: ImageSource) => Promise<T>): Promise<T> => {
  const source = await openSource(path)
  try {
    return await fn(source)
  } finally {
    await source.close()
  }
}

/** Every blob of every image streams back with its digest and size. */
const checkBlobs = async (source: ImageSource): Promise<number> => {
  let n = 0
  for (const image of source.images) {
    for (const b of image.blobs) {
      const bytes = await readAll(source, b.digest)
      assert.equal(sha256(bytes), b.digest)
      assert.equal(bytes.length, b.size)
      n++
    }
  }
  return n
}

const importAll = async (paths: string[], sink: MemorySink, options: ImportOptions = {}): Promise<string[]> => {
  const lines: string[] = []
  for await (const r of importPaths(paths, sink, options)) lines.push(r.line)
  return lines
}

describe('import reads what skopeo writes', () => {
  let dir: string
  let skopeo: string
  let amd64: ImageParts
  let arm64: ImageParts
  let index: Blob
  const policy = ['--insecure-policy']
  const layout = () => join(dir, 'layout')
  const out = (name: string) => join(dir, 'out', name)
  const copy = (args: string[]) => runOk(skopeo, [...policy, 'copy', '--quiet', ...args])
  const inspectRaw = async (ref: string) => (await runOk(skopeo, [...policy, 'inspect', '--raw', ref])).stdout

  before(async () => {
    skopeo = requireTool('skopeo', 'skopeo')
    dir = tempDir('outpost-e2e-import-')
    amd64 = await makeImage({
      architecture: 'amd64',
      format: 'oci',
      files: { 'etc/arch': 'amd64\n', 'bin/tool': Buffer.alloc(300_000, 7) },
    })
    arm64 = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'etc/arch': 'arm64\n' } })
    index = makeIndex([
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ])
    const writer = new OciLayoutWriter(layout())
    writer.putImage(amd64)
    writer.putImage(arm64)
    writer.addEntry(index, OCI_INDEX, 'multi')
    writer.addEntry(amd64.manifest, amd64.mediaType, 'single')
    mkdirSync(join(dir, 'out'))
  })
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('oci-archive: (--all): the index and its children byte for byte', async () => {
    const path = out('multi.tar')
    await copy(['--all', `oci:${layout()}:multi`, `oci-archive:${path}:multi`])
    const raw = await inspectRaw(`oci-archive:${path}`)
    await withSource(path, async (source) => {
      assert.equal(source.kind, 'oci-archive')
      assert.equal(source.images.length, 1)
      const [img] = source.images
      assert.equal(img!.manifest.bytes.toString(), raw)
      assert.equal(img!.manifest.digest, sha256(raw))
      assert.equal(img!.manifest.digest, index.digest, 'skopeo copied the index unchanged')
      assert.deepEqual(img!.refs, [{ tag: 'multi' }])
      assert.deepEqual(
        img!.children.map((c) => c.digest),
        [amd64.manifest.digest, arm64.manifest.digest],
      )
      assert.ok(img!.children[0]!.bytes.equals(amd64.manifest.bytes))
      assert.equal(await checkBlobs(source), 4)
    })
    const sink = new MemorySink()
    assert.deepEqual(await importAll([path], sink, { name: 'library/multi' }), [`library/multi:multi ${index.digest}`])
    assert.deepEqual(await importAll([path], sink, { name: 'library/multi' }), [`library/multi:multi ${index.digest}`])
    assert.equal(sink.writes.filter((w) => w.startsWith('blob')).length, 4, 'the second run wrote nothing')
  })

  test('oci: and dir: copies of the index (--all), and dir: of one image converted to Docker schema2', async () => {
    const ociPath = out('oci')
    await copy(['--all', `oci:${layout()}:multi`, `oci:${ociPath}:multi`])
    const dirPath = out('dir-all')
    await copy(['--all', `oci:${layout()}:multi`, `dir:${dirPath}`])
    const v2s2 = out('dir-v2s2')
    await copy(['--format', 'v2s2', `oci:${layout()}:single`, `dir:${v2s2}`])

    for (const [path, ref, kind] of [
      [ociPath, `oci:${ociPath}:multi`, 'oci-layout'],
      [dirPath, `dir:${dirPath}`, 'skopeo-dir'],
      [v2s2, `dir:${v2s2}`, 'skopeo-dir'],
    ] as const) {
      const raw = await inspectRaw(ref)
      await withSource(path, async (source) => {
        assert.equal(source.kind, kind, path)
        const [img] = source.images
        assert.equal(img!.manifest.bytes.toString(), raw, `${ref}: manifest bytes as skopeo reports them`)
        assert.equal(img!.manifest.digest, sha256(raw))
        await checkBlobs(source)
      })
    }
    const converted = JSON.parse(readFileSync(join(v2s2, 'manifest.json'), 'utf8')) as { mediaType: string }
    assert.equal(converted.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
    await withSource(v2s2, async (source) => assert.equal(source.images[0]!.manifest.mediaType, converted.mediaType))
  })

  test('docker-archive: names from RepoTags, blobs as skopeo lists them, a schema2 manifest skopeo accepts', async () => {
    const path = out('single-docker.tar')
    await copy(['--additional-tag', 'busybox:latest', `oci:${layout()}:single`, `docker-archive:${path}:example.com/tools/single:1.0`])
    // skopeo makes its own manifest for a docker-archive; its config and layers are the archive's blobs.
    const skopeoView = JSON.parse(await inspectRaw(`docker-archive:${path}`)) as {
      config: { digest: string; size: number }
      layers: Array<{ digest: string; size: number }>
    }
    const sink = new MemorySink()
    let digest = ''
    await withSource(path, async (source) => {
      assert.equal(source.kind, 'docker-archive')
      const [img] = source.images
      assert.deepEqual(img!.refs, [
        { name: 'example.com/tools/single', tag: '1.0' },
        { name: 'library/busybox', tag: 'latest' },
      ])
      const manifest = JSON.parse(img!.manifest.bytes.toString()) as {
        mediaType: string
        config: { digest: string }
        layers: Array<{ mediaType: string; digest: string; size: number }>
      }
      assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
      assert.deepEqual(manifest.config.digest, skopeoView.config.digest)
      assert.equal(manifest.config.digest, amd64.config.digest, 'the config bytes are the original ones')
      assert.deepEqual(
        manifest.layers.map((l) => [l.digest, l.size]),
        skopeoView.layers.map((l) => [l.digest, l.size]),
      )
      // skopeo labels these uncompressed layers .tar.gzip; import names them as they are.
      assert.ok(manifest.layers.every((l) => l.mediaType === 'application/vnd.docker.image.rootfs.diff.tar'))
      assert.equal(await checkBlobs(source), 2)
      digest = img!.manifest.digest
    })
    assert.deepEqual(await importAll([path], sink), [`example.com/tools/single:1.0 ${digest}`, `library/busybox:latest ${digest}`])

    // Hand the made image back to skopeo as a dir: copy: it checks every digest and reads the manifest.
    const stored = sink.manifests.get(`library/busybox@${digest}`)!
    const doc = JSON.parse(stored.bytes.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> }
    const back = writeTree(out('made-dir'), {
      version: 'Directory Transport Version: 1.1\n',
      'manifest.json': stored.bytes,
      ...Object.fromEntries([doc.config, ...doc.layers].map((d) => [hex(d.digest), sink.blobs.get(d.digest)!])),
    })
    assert.equal(sha256(await inspectRaw(`dir:${back}`)), digest)
    const inspected = JSON.parse((await runOk(skopeo, [...policy, 'inspect', `dir:${back}`])).stdout) as {
      Architecture: string
      Layers: string[]
    }
    assert.equal(inspected.Architecture, 'amd64')
    await copy([`dir:${back}`, `oci:${out('made-oci')}:made`])
  })
})
