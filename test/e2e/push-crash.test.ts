/**
 * kill -9 of the process writing a push root, in the middle of a large
 * upload and at every durable step of a blob commit and a manifest PUT:
 * after a restart the tree is consistent (every tag resolves to a manifest
 * whose blobs exist and match their digests) and the push then succeeds.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { startProcess, waitFor, type Spawned } from '../helpers/procs.js'
import { tempDir } from '../helpers/server.js'
import { OCI_MANIFEST, checkTree, imageManifest, pushBlob, sha256 } from '../helpers/push.js'

const startChild = async (root: string, killAt?: string): Promise<Spawned & { url: string }> => {
  const env = { ...process.env, ...(killAt ? { OUTPOST_TEST_KILL_AT: killAt } : {}) }
  const proc = startProcess(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/push-child.ts'), root], { env })
  let url = ''
  await waitFor(() => {
    const m = /listening (\S+)/.exec(proc.output())
    if (m) url = m[1]!
    return url !== ''
  }, `the push child to start: ${proc.output()}`)
  return { ...proc, url }
}

const exited = (p: Spawned): Promise<void> =>
  new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve()
    p.child.once('exit', () => resolve())
  })

describe('kill -9 during a push', () => {
  let dir: string
  const children: Spawned[] = []
  before(() => {
    dir = tempDir('outpost-crash-')
  })
  after(async () => {
    for (const c of children) await c.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('in the middle of a large streamed upload: the session resumes or restarts, the tree holds', async () => {
    const root = join(dir, 'large')
    const first = await startChild(root)
    children.push(first)
    const post = await request(first.url).post('/v2/big/image/blobs/uploads/')
    assert.equal(post.status, 202)
    const total = 64 * 1024 * 1024
    let sent = 0
    // Stream slowly enough to be killed half way.
    await new Promise<void>((resolve) => {
      const u = new URL(post.headers.location, first.url)
      const req = httpRequest({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PATCH',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) },
      })
      req.on('error', () => resolve())
      req.on('response', () => resolve())
      const chunk = randomBytes(1024 * 1024)
      const pump = (): void => {
        while (sent < total / 2) {
          sent += chunk.length
          if (!req.write(chunk)) return void req.once('drain', pump)
        }
        setTimeout(() => first.child.kill('SIGKILL'), 200)
      }
      pump()
    })
    await exited(first)
    assert.deepEqual(checkTree(root), [])
    const second = await startChild(root)
    children.push(second)
    // The session is still there; the unfinished chunk was never acknowledged.
    const status = await request(second.url).get(post.headers.location)
    assert.equal(status.status, 204)
    const held = Number(status.headers.range.split('-')[1]) + 1
    assert.ok(held <= sent, `${held} <= ${sent}`)
    // A client starts over: the whole push succeeds.
    const config = Buffer.from('{"big":true}')
    const layer = randomBytes(16 * 1024 * 1024)
    await pushBlob(second.url, 'big/image', config)
    await pushBlob(second.url, 'big/image', layer)
    const manifest = imageManifest(config, [layer])
    assert.equal(
      (await request(second.url).put('/v2/big/image/manifests/v1').set('Content-Type', OCI_MANIFEST).send(manifest.toString())).status,
      201,
    )
    assert.equal((await request(second.url).head(`/v2/big/image/blobs/${sha256(layer)}`)).headers['content-length'], String(layer.length))
    assert.deepEqual(checkTree(root), [])
    await second.stop()
  })

  for (const step of ['blob-data', 'layer-link', 'manifest-data', 'revision-link', 'tag-index-link', 'tag-current-link']) {
    test(`killed right after ${step}: old state or new, then the push succeeds`, async () => {
      const root = join(dir, step)
      // An earlier image under the tag, written by a process that is not killed.
      const setup = await startChild(root)
      children.push(setup)
      const old = { config: Buffer.from('{"old":1}'), layer: randomBytes(1000) }
      for (const b of [old.config, old.layer]) await pushBlob(setup.url, 'app/x', b)
      const oldManifest = imageManifest(old.config, [old.layer])
      assert.equal(
        (await request(setup.url).put('/v2/app/x/manifests/v1').set('Content-Type', OCI_MANIFEST).send(oldManifest.toString())).status,
        201,
      )
      await setup.stop()

      const crashing = await startChild(root, step)
      children.push(crashing)
      const config = Buffer.from(`{"new":"${step}"}`)
      const layer = randomBytes(300_000)
      const manifest = imageManifest(config, [layer])
      const push = async (url: string): Promise<number> => {
        for (const b of [config, layer]) await pushBlob(url, 'app/x', b)
        return (await request(url).put('/v2/app/x/manifests/v1').set('Content-Type', OCI_MANIFEST).send(manifest.toString())).status
      }
      await assert.rejects(push(crashing.url))
      await exited(crashing)
      assert.equal(crashing.child.signalCode, 'SIGKILL')
      assert.deepEqual(checkTree(root), [], `after a kill at ${step}`)

      const restarted = await startChild(root)
      children.push(restarted)
      const tag = (await request(restarted.url).head('/v2/app/x/manifests/v1')).headers['docker-content-digest']
      assert.equal(tag, step === 'tag-current-link' ? sha256(manifest) : sha256(oldManifest))
      assert.equal(await push(restarted.url), 201)
      assert.equal((await request(restarted.url).head('/v2/app/x/manifests/v1')).headers['docker-content-digest'], sha256(manifest))
      assert.deepEqual(checkTree(root), [])
      await restarted.stop()
    })
  }
})
