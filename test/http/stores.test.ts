/**
 * One conformance suite for the store interface, run against every
 * implementation over the same images (as distribution runs its driver
 * test suite against every storage driver).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry2Store, OciLayoutStore, type ImageStore } from '../../src/registry-api/index.js'
import { parseDigest } from '../../src/registry-api/grammar.js'
import { buildRegistry2, buildOciLayout, type Fixture } from '../helpers/fixtures.js'
import { tempDir } from '../helpers/server.js'

interface Case {
  name: string
  build: (root: string) => Promise<Fixture>
  open: (root: string) => ImageStore
  /** The repository holding the multi-arch index with tags 1.0 and latest. */
  repo: string
  /** Whether blobs are scoped to repositories by links. */
  linksScoped: boolean
}

const CASES: Case[] = [
  { name: 'registry2', build: buildRegistry2, open: (r) => new Registry2Store(r), repo: 'library/multi', linksScoped: true },
  { name: 'oci-layout', build: buildOciLayout, open: (r) => new OciLayoutStore(r, 'library/multi'), repo: 'library/multi', linksScoped: false },
]

const d = (s: string) => parseDigest(s)!

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

    test('locates blobs of the repository', async () => {
      const path = await store.blobPath(c.repo, d(fx.amd64.layers[0]!.digest))
      assert.ok(path)
      assert.equal(path, store.contentPath(d(fx.amd64.layers[0]!.digest)))
      assert.equal(await store.blobPath('no/such/repo', d(fx.amd64.layers[0]!.digest)), null)
      if (c.linksScoped) assert.equal(await store.blobPath(c.repo, d(fx.unlinked.digest)), null)
    })

    test('a malformed link or index is "not there", never a throw', async () => {
      if (c.name === 'registry2') {
        const link = join(dir, 'root', 'docker/registry/v2/repositories/library/multi/_manifests/tags/broken/current')
        mkdirSync(link, { recursive: true })
        writeFileSync(join(link, 'link'), 'garbage')
        assert.equal(await store.resolveTag(c.repo, 'broken'), null)
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
