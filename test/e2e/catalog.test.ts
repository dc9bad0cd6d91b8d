/**
 * The catalog follows the disk: an image pushed by skopeo through the real
 * docker-registry into a running Outpost's root, files copied in, a large
 * file still being written, a removed tag. Then `outpost verify` finds a
 * flipped byte and a truncated file, and a deleted catalog is rebuilt.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import request from 'supertest'
import { OciLayoutWriter, OCI_MANIFEST } from '../../src/images/index.js'
import { makeImage } from '../../src/demo/images.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, run, runOk, startDockerRegistry } from '../helpers/procs.js'

const inventory = async (s: TestServer) => (await request(s.url).get('/inventory').set('Accept', 'application/json')).body

const eventually = async <T>(what: string, probe: () => Promise<T | undefined>, ms = 5000): Promise<T> => {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('catalog follows the disk', () => {
  let dir: string
  let s: TestServer
  let fx: Fixture
  const storage = () => join(dir, 'storage')
  const files = () => join(dir, 'files')

  before(async () => {
    dir = tempDir('outpost-e2e-catalog-')
    fx = await buildRegistry2(storage())
    mkdirSync(files(), { recursive: true })
    s = await startTestServer({ data_dir: join(dir, 'data'), registry: { roots: [storage()] }, files: { roots: [files()] } })
    await s.running.scanned
    await s.running.watcherReady
  })
  after(async () => {
    await s?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('an image pushed through docker-registry appears within 5 s', async () => {
    const skopeo = requireTool('skopeo', 'skopeo')
    const image = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'etc/new': 'new\n' } })
    const layout = new OciLayoutWriter(join(dir, 'layout'))
    layout.putImage(image)
    layout.addEntry(image.manifest, OCI_MANIFEST, 'v9')
    const reference = await startDockerRegistry(dir, storage())
    try {
      await runOk(skopeo, [
        '--insecure-policy',
        'copy',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'layout')}:v9`,
        `docker://${reference.hostPort}/live/new:v9`,
      ])
    } finally {
      await reference.stop()
    }
    const found = await eventually('live/new in /inventory', async () => {
      const inv = await inventory(s)
      return inv.images.find((i: { repository: string }) => i.repository === 'live/new')
    })
    assert.equal(found.tags[0].tag, 'v9')
    assert.equal(found.tags[0].digest, image.manifest.digest)
  })

  test('a removed tag disappears within 5 s', async () => {
    rmSync(join(storage(), 'docker/registry/v2/repositories/library/multi/_manifests/tags/1.0'), { recursive: true })
    await eventually('tag 1.0 gone', async () => {
      const multi = (await inventory(s)).images.find((i: { repository: string }) => i.repository === 'library/multi')
      return multi.tags.map((t: { tag: string }) => t.tag).join() === 'latest' ? true : undefined
    })
  })

  test('new files appear; a file still being written is listed only once complete', async () => {
    writeFileSync(join(files(), 'kubeadm'), Buffer.alloc(4096, 1))
    await eventually('kubeadm listed', async () => ((await inventory(s)).files[0].count === 1 ? true : undefined))

    const big = join(files(), 'big.tar')
    const out = createWriteStream(big)
    const chunk = randomBytes(256 * 1024)
    // Keep writing for ~2.5 s (faster than the stability threshold): never listed meanwhile.
    for (let i = 0; i < 25; i++) {
      out.write(chunk)
      await new Promise((r) => setTimeout(r, 100))
      const inv = await inventory(s)
      assert.equal(inv.files[0].count, 1, `half-written file listed after ${i + 1} chunks`)
    }
    await new Promise<void>((r) => out.end(r))
    const done = await eventually('big.tar listed complete', async () => {
      const f = (await inventory(s)).files[0]
      return f.count === 2 ? f : undefined
    })
    assert.equal(done.bytes, 4096 + 25 * chunk.length)
  })

  test('outpost verify finds a flipped byte in a layer blob and a truncated file', async () => {
    const bin = join(files(), 'kubectl')
    const content = randomBytes(100_000)
    writeFileSync(bin, content)
    writeFileSync(`${bin}.sha256`, `${createHash('sha256').update(content).digest('hex')}  kubectl\n`)
    const cli = [
      '--import',
      'tsx',
      'src/cli/index.ts',
      'verify',
      '--registry-root',
      storage(),
      '--files-root',
      files(),
      '--data-dir',
      join(dir, 'verify-data'),
    ]
    const env = { ...process.env, OUTPOST_CONFIG: '' }
    const clean = await run(process.execPath, cli, { env })
    assert.equal(clean.status, 0, clean.stdout + clean.stderr)
    assert.match(clean.stdout, /all good/)

    const layer = fx.amd64.layers[0]!
    const hex = layer.digest.slice(7)
    const blobPath = join(storage(), 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data')
    const bytes = readFileSync(blobPath)
    bytes[10] = bytes[10]! ^ 0xff
    writeFileSync(blobPath, bytes)
    truncateSync(bin, 5000)
    const bad = await run(process.execPath, cli, { env })
    assert.equal(bad.status, 1, bad.stdout + bad.stderr)
    assert.ok(bad.stdout.includes(`BLOB ${blobPath}: content is sha256:`), bad.stdout)
    assert.ok(bad.stdout.includes(`FILE ${bin}: content is sha256:`), bad.stdout)
    assert.match(bad.stdout, /2 problem\(s\)/)
  })

  test('a catalog deleted while stopped is rebuilt with the same inventory', async () => {
    // Let the watcher settle on the files the previous test wrote.
    const before = await eventually('four files indexed', async () => {
      const inv = await inventory(s)
      return inv.files[0].count === 4 && inv.files[0].bytes === 4096 + 25 * 256 * 1024 + 5000 + 74 ? inv : undefined
    })
    await s.running.close(1000)
    for (const f of ['catalog.db', 'catalog.db-wal', 'catalog.db-shm']) rmSync(join(dir, 'data', f), { force: true })
    assert.equal(existsSync(join(dir, 'data', 'catalog.db')), false)
    const again = await startTestServer({ data_dir: join(dir, 'data'), registry: { roots: [storage()] }, files: { roots: [files()] } })
    s = again
    await again.running.scanned
    const after = await inventory(again)
    assert.deepEqual(after.images, before.images)
    assert.deepEqual(after.files, before.files)
    assert.deepEqual(after.totals, before.totals)
  })
})
