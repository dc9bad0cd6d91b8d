/**
 * One conformance suite for the store interface, run against every
 * implementation over the same images (as distribution runs its driver
 * test suite against every storage driver), each also behind the caching
 * wrapper requests read through.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { rmSync, mkdirSync, writeFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import {
  ImageStores,
  OCI_INDEX,
  OciLayoutStore,
  OciLayoutWriter,
  Registry2Store,
  Registry2Writer,
  parseDigest,
  type BlobBytes,
  type DiskStore,
  type ImageStore,
  type StoredBlob,
} from '../../src/images/index.js'
import { blobOf } from '../../src/demo/images.js'
import { buildRegistry2, buildOciLayout, type Fixture } from '../helpers/fixtures.js'
import { tempDir } from '../helpers/server.js'

interface Case {
  name: string
  build: (root: string) => Promise<Fixture>
  open: (root: string) => ImageStore
  /** Stores bytes under a digest (of other bytes, to make a corrupt blob). */
  putBlob: (root: string, blob: BlobBytes) => void
  /** The repository holding the multi-arch index with tags 1.0 and latest. */
  repo: string
  /** Whether blobs are scoped to repositories by links. */
  linksScoped: boolean
}

const cached = (store: DiskStore): ImageStore => new ImageStores([store]).stores[0]!
const registry2: Omit<Case, 'name' | 'open'> = {
  build: buildRegistry2,
  putBlob: (r, b) => new Registry2Writer(r).putBlob(b),
  repo: 'library/multi',
  linksScoped: true,
}
const ociLayout: Omit<Case, 'name' | 'open'> = {
  build: buildOciLayout,
  putBlob: (r, b) => new OciLayoutWriter(r).putBlob(b),
  repo: 'library/multi',
  linksScoped: false,
}

const CASES: Case[] = [
  { name: 'registry2', open: (r) => new Registry2Store(r), ...registry2 },
  { name: 'registry2 (cached)', open: (r) => cached(new Registry2Store(r)), ...registry2 },
  { name: 'oci-layout', open: (r) => new OciLayoutStore(r, 'library/multi'), ...ociLayout },
  { name: 'oci-layout (cached)', open: (r) => cached(new OciLayoutStore(r, 'library/multi')), ...ociLayout },
]

const d = (s: string) => parseDigest(s)!
const ZERO = d(`sha256:${'0'.repeat(64)}`)
const hashOf = (stream: Readable, algorithm: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash(algorithm)
    stream
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')))
  })

for (const c of CASES) {
  describe(`store conformance: ${c.name}`, () => {
    let dir: string
    let fx: Fixture
    let store: ImageStore
    before(async () => {
      dir = tempDir()
      fx = await c.build(join(dir, 'root'))
      store = c.open(join(dir, 'root'))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    test('lists repositories and knows them', async () => {
      const repos = await store.repositories()
      assert.ok(repos.includes(c.repo), repos.join(','))
      assert.deepEqual(repos, [...repos].sort())
      assert.equal(await store.hasRepository(c.repo), true)
      assert.equal(await store.hasRepository('no/such/repo'), false)
    })

    test('lists and resolves tags', async () => {
      assert.deepEqual(await store.tags(c.repo), ['1.0', 'latest'])
      assert.equal(await store.tags('no/such/repo'), null)
      assert.equal((await store.resolveTag(c.repo, 'latest'))?.value, fx.index.digest)
      assert.equal(await store.resolveTag(c.repo, 'nope'), null)
    })

    test('knows its manifests', async () => {
      assert.equal(await store.hasManifest(c.repo, d(fx.index.digest)), true)
      assert.equal(await store.hasManifest(c.repo, d(fx.amd64.manifest.digest)), true)
      assert.equal(await store.hasManifest(c.repo, d(`sha256:${'0'.repeat(64)}`)), false)
      const digests = (await store.manifestDigests(c.repo)).map((x) => x.value)
      for (const m of [fx.index, fx.amd64.manifest, fx.arm64.manifest, fx.sbom.manifest]) assert.ok(digests.includes(m.digest), m.digest)
    })

    test('opens and stats blobs of the repository', async () => {
      const layer = fx.amd64.layers[0]!
      const file = await store.open(c.repo, d(layer.digest))
      assert.ok(file)
      try {
        assert.equal(file.size, layer.size)
        const buf = Buffer.alloc(file.size)
        const { bytesRead } = await file.handle.read(buf, 0, buf.length, 0)
        assert.equal(bytesRead, layer.size)
        assert.deepEqual(buf, layer.bytes)
      } finally {
        await file.handle.close()
      }
      assert.equal((await store.stat(c.repo, d(layer.digest)))?.size, layer.size)
      assert.equal(await store.open('no/such/repo', d(layer.digest)), null)
      assert.equal(await store.stat('no/such/repo', d(layer.digest)), null)
      assert.equal(await store.open(c.repo, ZERO), null)
      assert.equal(await store.stat(c.repo, ZERO), null)
      if (c.linksScoped) {
        assert.equal(await store.open(c.repo, d(fx.unlinked.digest)), null)
        assert.equal(await store.stat(c.repo, d(fx.unlinked.digest)), null)
      }
    })

    test('reads manifests verified against their digest, and small blobs', async () => {
      const index = await store.readManifest(d(fx.index.digest))
      assert.ok(index.ok)
      assert.deepEqual(index.manifest.bytes, fx.index.bytes)
      assert.equal(index.manifest.info.mediaType, OCI_INDEX)
      assert.equal(index.manifest.info.manifests?.length, 2)
      assert.deepEqual(await store.readManifest(ZERO), { ok: false, reason: 'missing' })
      assert.deepEqual(await store.readManifest(d(fx.amd64.layers[0]!.digest)), { ok: false, reason: 'not-a-manifest' })
      const corrupt: BlobBytes = { ...blobOf(`{"corrupt":"${c.name}"}`), bytes: Buffer.from('{"schemaVersion":2,"manifests":[]}') }
      c.putBlob(join(dir, 'root'), corrupt)
      assert.deepEqual(await store.readManifest(d(corrupt.digest)), { ok: false, reason: 'corrupt' })
      assert.deepEqual(await store.readBlob(d(fx.amd64.config.digest)), fx.amd64.config.bytes)
      assert.equal(await store.readBlob(ZERO), null)
    })

    test('enumerates its blobs; its references hold', async () => {
      const found = new Map<string, StoredBlob>()
      for await (const b of store.blobs()) found.set(`${b.algorithm}:${b.hex}`, b)
      for (const blob of [fx.index, fx.amd64.manifest, fx.amd64.config, fx.amd64.layers[0]!, fx.big]) {
        assert.equal(found.get(blob.digest)?.size, blob.size, blob.digest)
      }
      const config = found.get(fx.amd64.config.digest)!
      assert.equal(`sha256:${await hashOf(config.stream(), 'sha256')}`, fx.amd64.config.digest)
      assert.deepEqual(await store.verifyReferences(), [])
    })

    test('names the folder it reads and what to watch', () => {
      assert.ok(statSync(store.rootDir).isDirectory())
      const spec = store.watchSpec()
      if (c.linksScoped) {
        assert.equal(spec.kind, 'tree')
        if (spec.kind !== 'tree') return
        assert.deepEqual(spec.changeAt(join(spec.dir, 'library/multi/_manifests/tags/v9/current/link'), false), {
          kind: 'repository',
          name: 'library/multi',
        })
        assert.deepEqual(spec.changeAt(join(spec.dir, 'library/fresh'), true), { kind: 'under', prefix: 'library/fresh' })
        assert.equal(spec.skip('_layers'), true)
        assert.equal(spec.skip('_manifests'), false)
      } else {
        assert.equal(spec.kind, 'file')
      }
    })

    test('a malformed link or index is "not there", never a throw', async () => {
      if (c.linksScoped) {
        const link = join(dir, 'root', 'docker/registry/v2/repositories/library/multi/_manifests/tags/broken/current')
        mkdirSync(link, { recursive: true })
        writeFileSync(join(link, 'link'), 'garbage')
        assert.equal(await store.resolveTag(c.repo, 'broken'), null)
        const problems = await store.verifyReferences()
        assert.deepEqual(
          problems.map((p) => p.problem),
          ['link does not hold a valid digest'],
        )
        assert.ok(problems[0]!.location.endsWith(join('broken', 'current', 'link')))
      } else {
        const other = tempDir()
        writeFileSync(join(other, 'oci-layout'), '{}')
        writeFileSync(join(other, 'index.json'), '{not json')
        const s = new OciLayoutStore(other, 'x')
        assert.deepEqual(await s.repositories(), [])
        rmSync(other, { recursive: true, force: true })
      }
    })
  })
}

test('oci-layout: full references in ref.name name their own repository', async (t) => {
  const dir = tempDir()
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const fx = await buildOciLayout(dir)
  const store = new OciLayoutStore(dir, 'mine')
  assert.deepEqual(await store.repositories(), ['library/pause', 'mine'])
  assert.equal((await store.resolveTag('library/pause', '3.9'))?.value, fx.docker.manifest.digest)
  assert.deepEqual(await store.tags('mine'), ['1.0', 'latest'])
})
