/** A FIFO where a blob's data or a tag's link belongs: a prompt 404, and every other request still served. */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseDigest } from '../../src/images/index.js'
import { pathFor, registry2Base } from '../../src/images/store/registry2-paths.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'

const mkfifo = (path: string): void => {
  rmSync(path, { force: true })
  const r = spawnSync('mkfifo', [path])
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`)
}

/** A GET that must answer within `ms`. */
const get = async (url: string, ms = 3000): Promise<{ status: number; body: string }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(ms), headers: { Accept: '*/*' } })
  return { status: res.status, body: await res.text() }
}

describe('FIFOs in a registry:2 tree', () => {
  let dir: string
  let fx: Fixture
  let s: TestServer
  before(async () => {
    dir = tempDir()
    const root = join(dir, 'registry')
    fx = await buildRegistry2(root)
    const base = registry2Base(root)
    mkfifo(pathFor(base, { kind: 'blobData', digest: parseDigest(fx.big.digest)! }))
    mkfifo(pathFor(base, { kind: 'tagCurrentLink', name: 'library/pause', tag: '3.9' }))
    s = await startTestServer({ registry: { roots: [root] } })
  })
  after(async () => {
    await s?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a blob whose data is a FIFO is BLOB_UNKNOWN, promptly, however often asked', async () => {
    const url = `${s.url}/v2/library/multi/blobs/${fx.big.digest}`
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => get(url)))
    for (const a of answers) {
      assert.equal(a.status, 404)
      assert.equal(JSON.parse(a.body).errors[0].code, 'BLOB_UNKNOWN')
    }
    const head = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(3000) })
    assert.equal(head.status, 404)
  })

  test('a tag whose link is a FIFO is MANIFEST_UNKNOWN, promptly', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => get(`${s.url}/v2/library/pause/manifests/3.9`)))
    for (const a of answers) {
      assert.equal(a.status, 404)
      assert.equal(JSON.parse(a.body).errors[0].code, 'MANIFEST_UNKNOWN')
    }
  })

  test('other blobs and manifests are still served', async () => {
    const blob = fx.amd64.layers[0]!
    const r = await get(`${s.url}/v2/library/multi/blobs/${blob.digest}`)
    assert.equal(r.status, 200)
    assert.equal((await get(`${s.url}/v2/library/multi/manifests/latest`)).status, 200)
    assert.equal((await get(`${s.url}/v2/library/pause/manifests/list`)).status, 200)
  })
})
