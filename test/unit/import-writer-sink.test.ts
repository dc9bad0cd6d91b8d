/** Import into a real push root: the registry:2 tree it leaves, re-runs, dry runs, bad sources. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { OCI_INDEX, Registry2Store, Registry2WritableStore, parseDigest } from '../../src/images/index.js'
import { importPaths, ImportError, WriterSink, type ImportOptions, type ImportedImage } from '../../src/images/import/index.js'
import { tempDir } from '../helpers/server.js'
import { checkTree } from '../helpers/push.js'
import {
  filesToTar,
  hex,
  layoutFiles,
  legacyDockerFiles,
  plainImage,
  writeFile,
  writeTree,
  type PlainImage,
} from '../helpers/image-archives.js'

const blobsOf = (img: ImageParts): Blob[] => [img.config, ...img.layers]

/** Every file of the tree (the work folder aside) with its size and mtime: equal snapshots mean nothing was written. */
const snapshot = (root: string): Map<string, string> => {
  const out = new Map<string, string>()
  if (!existsSync(root)) return out
  for (const rel of readdirSync(root, { recursive: true }) as string[]) {
    if (rel.startsWith('.outpost-work')) continue
    const st = statSync(join(root, rel))
    out.set(rel, st.isDirectory() ? 'dir' : `${st.size} ${st.mtimeMs}`)
  }
  return out
}

describe('import into the push root (WriterSink over Registry2WritableStore)', () => {
  let dir: string
  let amd64: ImageParts
  let arm64: ImageParts
  let index: Blob
  let plain: PlainImage
  let layout: string
  let legacy: string
  let unnamed: string
  let n = 0
  const freshRoot = async (): Promise<{ root: string; store: Registry2WritableStore }> => {
    const root = join(dir, `push-${n++}`)
    const store = new Registry2WritableStore(root)
    await store.init()
    return { root, store }
  }
  const run = async (
    store: Registry2WritableStore,
    paths: string[],
    options: ImportOptions = {},
  ): Promise<{ results: ImportedImage[]; sink: WriterSink }> => {
    const sink = new WriterSink(store)
    const results: ImportedImage[] = []
    for await (const r of importPaths(paths, sink, options)) results.push(r)
    return { results, sink }
  }

  before(async () => {
    dir = tempDir('outpost-import-sink-')
    amd64 = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'etc/arch': 'amd64\n', big: Buffer.alloc(300_000, 7) } })
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
      await filesToTar(legacyDockerFiles([{ image: plain, repoTags: ['registry.k8s.io/pause:3.9'] }])),
    )
    unnamed = writeTree(join(dir, 'skopeo-dir'), {
      version: 'Directory Transport Version: 1.1\n',
      'manifest.json': amd64.manifest.bytes,
      ...Object.fromEntries(blobsOf(amd64).map((b) => [hex(b.digest), b.bytes])),
    })
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('writes a consistent registry:2 tree: manifests byte for byte, blobs linked, tags current', async () => {
    const { root, store } = await freshRoot()
    const { results } = await run(store, [layout, legacy])
    const pause = results.find((r) => r.name === 'registry.k8s.io/pause')!
    assert.deepEqual(
      results.map((r) => r.line),
      [`library/hello:1.0 ${index.digest}`, `library/hello:latest ${index.digest}`, `registry.k8s.io/pause:3.9 ${pause.digest}`],
    )
    assert.deepEqual(checkTree(root), [])

    // Read back as any registry:2 tree.
    const reader = new Registry2Store(root)
    assert.deepEqual(await reader.repositories(), ['library/hello', 'registry.k8s.io/pause'])
    assert.deepEqual(await reader.tags('library/hello'), ['1.0', 'latest'])
    assert.equal((await reader.resolveTag('library/hello', 'latest'))?.value, index.digest)
    const read = await reader.readManifest(parseDigest(index.digest)!)
    assert.ok(read.ok)
    assert.deepEqual(read.manifest.bytes, index.bytes)
    for (const child of [amd64, arm64]) {
      assert.ok(await reader.hasManifest('library/hello', parseDigest(child.manifest.digest)!))
      for (const b of blobsOf(child)) assert.ok(await reader.stat('library/hello', parseDigest(b.digest)!), `${b.digest} linked`)
    }
    // Nothing is left in the work folder.
    assert.deepEqual(readdirSync(join(root, '.outpost-work')), [])
  })

  test('a second run writes nothing and prints the same lines', async () => {
    const { root, store } = await freshRoot()
    const first = await run(store, [layout, legacy, unnamed]).catch((e: unknown) => e)
    // The skopeo dir carries no name: the whole run stops before writing.
    assert.ok(first instanceof ImportError)
    assert.deepEqual(await new Registry2Store(root).repositories(), [])

    const once = await run(store, [layout, legacy])
    const before = snapshot(root)
    const twice = await run(store, [layout, legacy])
    assert.deepEqual(twice.sink.writes, [])
    assert.deepEqual(
      twice.results.map((r) => r.line),
      once.results.map((r) => r.line),
    )
    assert.ok(twice.results.every((r) => !r.written))
    assert.deepEqual(snapshot(root), before)
  })

  test('--dry-run prints the same lines and writes nothing, not even a missing push root', async () => {
    const root = join(dir, `push-${n++}`)
    const store = new Registry2WritableStore(root)
    const dry = await run(store, [layout, legacy], { dryRun: true })
    assert.equal(existsSync(root), false)
    assert.deepEqual(dry.sink.writes, [])
    const { store: real } = await freshRoot()
    const wet = await run(real, [layout, legacy])
    assert.deepEqual(
      dry.results.map((r) => r.line),
      wet.results.map((r) => r.line),
    )
  })

  test('another name for an image already stored: links and tags, no blob copied again', async () => {
    const { root, store } = await freshRoot()
    await run(store, [unnamed], { name: 'library/first', tag: 'v1' })
    const { sink, results } = await run(store, [unnamed], { name: 'library/second', tag: 'v1' })
    assert.deepEqual(
      results.map((r) => r.line),
      [`library/second:v1 ${amd64.manifest.digest}`],
    )
    assert.ok(
      sink.writes.every((w) => !w.startsWith('blob ')),
      sink.writes.join('\n'),
    )
    assert.deepEqual(sink.writes.filter((w) => w.startsWith('link ')).length, blobsOf(amd64).length)
    // A new tag for the same manifest: only the tag is written.
    const retag = await run(store, [unnamed], { name: 'library/second', tag: 'v2' })
    assert.deepEqual(retag.sink.writes, [`tag library/second:v2 ${amd64.manifest.digest}`])
    assert.deepEqual(checkTree(root), [])
  })

  test('a blob unlinked from the repository since is linked again by the next import', async () => {
    const { root, store } = await freshRoot()
    await run(store, [unnamed], { name: 'library/repair', tag: 'v1' })
    const layer = parseDigest(amd64.layers[0]!.digest)!
    await store.deleteBlob('library/repair', layer)
    assert.notDeepEqual(checkTree(root), [])
    const again = await run(store, [unnamed], { name: 'library/repair', tag: 'v1' })
    assert.deepEqual(again.sink.writes, [`link library/repair@${layer.value}`, `manifest library/repair@${amd64.manifest.digest}`])
    assert.deepEqual(checkTree(root), [])
  })

  test('a blob whose bytes are wrong stops the source naming file and entry; no manifest or tag is written', async () => {
    const { root, store } = await freshRoot()
    const bad = writeTree(join(dir, 'bad-dir'), {
      version: 'Directory Transport Version: 1.1\n',
      'manifest.json': amd64.manifest.bytes,
      ...Object.fromEntries(blobsOf(amd64).map((b) => [hex(b.digest), b.bytes])),
    })
    const layer = amd64.layers[0]!
    const corrupt = Buffer.from(layer.bytes)
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff
    writeFileSync(join(bad, hex(layer.digest)), corrupt)
    const err = await run(store, [bad], { name: 'library/bad', tag: 'v1' }).catch((e: unknown) => e)
    assert.ok(err instanceof ImportError, String(err))
    assert.equal(err.file, bad)
    assert.equal(err.entry, hex(layer.digest))
    assert.deepEqual(await new Registry2Store(root).repositories(), [])
    assert.equal(existsSync(join(root, 'docker/registry/v2/blobs/sha256', hex(layer.digest).slice(0, 2), hex(layer.digest))), false)
    assert.deepEqual(readdirSync(join(root, '.outpost-work')), [])
    assert.deepEqual(checkTree(root), [])
  })

  test('a truncated archive is refused before anything is written, a missing push root not even made', async () => {
    const { root, store } = await freshRoot()
    const before = snapshot(root)
    const whole = readFileSync(legacy)
    const cut = writeFile(join(dir, 'cut.tar'), whole.subarray(0, whole.length - 2048 - 300))
    const err = await run(store, [layout, cut]).catch((e: unknown) => e)
    assert.ok(err instanceof ImportError, String(err))
    assert.equal(err.file, cut)
    assert.ok(err.entry, 'names the entry')
    assert.match(err.message, /truncated/)
    assert.deepEqual(snapshot(root), before)

    const missing = join(dir, `push-${n++}`)
    const fresh = new Registry2WritableStore(missing)
    let prepared = 0
    const sink = new WriterSink(fresh, { prepare: () => (prepared++, fresh.init()) })
    await assert.rejects(async () => {
      for await (const _ of importPaths([layout, cut], sink)) assert.fail('nothing is imported')
    }, ImportError)
    assert.equal(prepared, 0)
    assert.equal(existsSync(missing), false)
    // The first write makes it, once.
    for await (const _ of importPaths([layout], sink)) continue
    assert.equal(prepared, 1)
    assert.deepEqual(checkTree(missing), [])
  })
})
