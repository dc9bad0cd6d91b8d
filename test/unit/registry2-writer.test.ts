/**
 * The push root writer's invariants: a crash after any durable step leaves
 * a consistent tree (the old state or the new one), uploads survive a
 * restart, refused bytes leave nothing behind, concurrent writers of the
 * same blob or tag both succeed, and abandoned uploads expire.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Registry2WritableStore, isWriteError, parseDigest, type Digest, type WriteStep } from '../../src/images/index.js'
import { checkTree, imageManifest, sha256 } from '../helpers/push.js'
import { tempDir } from '../helpers/server.js'

const d = (value: string): Digest => parseDigest(value)!
async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b
}

class Crash extends Error {}

/** A writer that throws (as a killed process stops) after its `at`-th durable step. */
const crashingWriter = (root: string, at: number) => {
  let n = 0
  const steps: WriteStep[] = []
  const store = new Registry2WritableStore(root, {
    onStep: (step) => {
      steps.push(step)
      if (++n === at) throw new Crash(`crash after ${step}`)
    },
  })
  return { store, steps }
}

interface Image {
  config: Buffer
  layer: Buffer
  manifest: Buffer
}
const makeImage = (): Image => {
  const config = Buffer.from(JSON.stringify({ n: randomBytes(4).toString('hex') }))
  const layer = randomBytes(5000)
  return { config, layer, manifest: imageManifest(config, [layer]) }
}

/** Pushes an image the way a client does: two uploads, then the manifest under `tag`. */
const pushImage = async (store: Registry2WritableStore, name: string, img: Image, tag: string): Promise<void> => {
  for (const blob of [img.config, img.layer]) {
    const s = await store.startUpload(name)
    await s.append(once(blob.subarray(0, 100)))
    await s.append(once(blob.subarray(100)))
    await s.commit(d(sha256(blob)))
  }
  await store.putManifest(name, d(sha256(img.manifest)), img.manifest, tag)
}

const restart = async (root: string): Promise<Registry2WritableStore> => {
  const store = new Registry2WritableStore(root)
  await store.init()
  return store
}

test('a crash after any step of a push leaves a consistent tree; the push then succeeds', async () => {
  const probe = tempDir('outpost-writer-')
  const { store, steps } = crashingWriter(probe, 0)
  await store.init()
  await pushImage(store, 'app/x', makeImage(), 'v1')
  rmSync(probe, { recursive: true, force: true })
  assert.deepEqual(steps, [
    'blob-data',
    'layer-link',
    'blob-data',
    'layer-link',
    'manifest-data',
    'revision-link',
    'tag-index-link',
    'tag-current-link',
  ])

  for (let at = 1; at <= steps.length; at++) {
    const root = tempDir('outpost-writer-')
    try {
      const old = makeImage()
      const first = await restart(root)
      await pushImage(first, 'app/x', old, 'v1')
      const img = makeImage()
      const { store: crashing } = crashingWriter(root, at)
      await crashing.init()
      await assert.rejects(pushImage(crashing, 'app/x', img, 'v1'), Crash)
      assert.deepEqual(checkTree(root), [], `after step ${at} (${steps[at - 1]})`)
      const after = await restart(root)
      const tag = (await after.resolveTag('app/x', 'v1'))!.value
      // The old image or the new one, never anything else; the new one only once its tag link is written.
      assert.equal(tag, at === steps.length ? sha256(img.manifest) : sha256(old.manifest), `tag after step ${at}`)
      await pushImage(after, 'app/x', img, 'v1')
      assert.equal((await after.resolveTag('app/x', 'v1'))!.value, sha256(img.manifest))
      assert.deepEqual(checkTree(root), [])
      assert.deepEqual(readdirSync(join(root, '.outpost-work')), [])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }
})

test('a crash while deleting a manifest leaves no tag pointing at it without its revision', async () => {
  for (let at = 1; at <= 3; at++) {
    const root = tempDir('outpost-writer-')
    try {
      const img = makeImage()
      const store = await restart(root)
      await pushImage(store, 'app/x', img, 'a')
      await store.putManifest('app/x', d(sha256(img.manifest)), img.manifest, 'b')
      const { store: crashing, steps } = crashingWriter(root, at)
      await assert.rejects(crashing.deleteManifest('app/x', d(sha256(img.manifest))), Crash)
      assert.equal(steps.at(-1), at < 3 ? 'tag-removed' : 'revision-removed')
      assert.deepEqual(checkTree(root), [], `after step ${at}`)
      const after = await restart(root)
      assert.deepEqual(readdirSync(join(root, '.outpost-work')), [], 'leftovers swept')
      assert.equal(await after.hasManifest('app/x', d(sha256(img.manifest))), at < 3)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }
})

test('an upload survives a restart: found on disk, hashed again, finished', async () => {
  const root = tempDir('outpost-writer-')
  try {
    const bytes = randomBytes(300_000)
    const first = await restart(root)
    const s = await first.startUpload('app/x')
    await s.append(once(bytes.subarray(0, 123_456)))
    const later = await restart(root)
    const found = (await later.resumeUpload('app/x', s.id))!
    assert.equal(found.size, 123_456)
    await assert.rejects(found.append(once(bytes.subarray(0, 10)), { offset: 0 }), (e) => isWriteError(e, 'upload-range'))
    await found.append(once(bytes.subarray(123_456)), { offset: 123_456 })
    await found.commit(d(sha256(bytes)))
    assert.ok(
      readFileSync(join(root, 'docker/registry/v2/blobs/sha256', sha256(bytes).slice(7, 9), sha256(bytes).slice(7), 'data')).equals(bytes),
    )
    assert.equal(await later.resumeUpload('app/x', s.id), null)
    assert.equal(await later.resumeUpload('other/repo', s.id), null)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('a chunk counts whole or not at all: a short or failed one is cut back', async () => {
  const root = tempDir('outpost-writer-')
  try {
    const store = await restart(root)
    const s = await store.startUpload('app/x')
    await s.append(once(Buffer.from('abc')))
    await assert.rejects(s.append(once(Buffer.from('defg')), { length: 10 }), (e) => isWriteError(e, 'size-mismatch'))
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(2 * 1024 * 1024, 1)
      throw new Error('client went away')
    }
    await assert.rejects(s.append(broken()), /client went away/)
    assert.equal(s.size, 3)
    assert.equal(statSync(join(root, 'docker/registry/v2/repositories/app/x/_uploads', s.id, 'data')).size, 3)
    await s.append(once(Buffer.from('def')))
    await s.commit(d(sha256('abcdef')))
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('bytes that do not match their digest leave nothing behind', async () => {
  const root = tempDir('outpost-writer-')
  try {
    const store = await restart(root)
    const bytes = randomBytes(1000)
    await assert.rejects(store.putBlob(d(sha256('other')), once(bytes)), (e) => isWriteError(e, 'digest-mismatch'))
    const s = await store.startUpload('app/x')
    await s.append(once(bytes))
    await assert.rejects(s.commit(d(sha256('other'))), (e) => isWriteError(e, 'digest-mismatch'))
    assert.equal(await store.resumeUpload('app/x', s.id), null)
    assert.deepEqual(readdirSync(join(root, 'docker/registry/v2/blobs')), [])
    assert.deepEqual(readdirSync(join(root, '.outpost-work')), [])
    await assert.rejects(store.putManifest('app/x', d(sha256('{}')), Buffer.from('{"x":1}')), (e) => isWriteError(e, 'digest-mismatch'))
    await assert.rejects(store.linkBlob('app/x', d(sha256(bytes))), (e) => isWriteError(e, 'blob-unknown'))
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('two pushes of the same blob and the same tag at once both succeed', async () => {
  const root = tempDir('outpost-writer-')
  try {
    const store = await restart(root)
    const img = makeImage()
    const other = await restart(root)
    await Promise.all([pushImage(store, 'app/x', img, 'v1'), pushImage(other, 'app/x', img, 'v1')])
    const second = makeImage()
    await Promise.all([pushImage(store, 'app/x', second, 'v2'), pushImage(other, 'app/x', makeImage(), 'v2')])
    assert.deepEqual(checkTree(root), [])
    assert.equal((await store.resolveTag('app/x', 'v1'))!.value, sha256(img.manifest))
    assert.ok(await store.resolveTag('app/x', 'v2'))
    const bytes = randomBytes(2_000_000)
    const blobs = await Promise.all([store.putBlob(d(sha256(bytes)), once(bytes)), other.putBlob(d(sha256(bytes)), once(bytes))])
    assert.deepEqual(
      blobs.map((b) => b.size),
      [bytes.length, bytes.length],
    )
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('abandoned uploads expire; live ones and recent leftovers stay', async () => {
  const root = tempDir('outpost-writer-')
  try {
    const ttl = 60_000
    const store = new Registry2WritableStore(root, { uploadTtlMs: ttl })
    await store.init()
    const live = await store.startUpload('app/x')
    const abandoned = await store.startUpload('app/y')
    await abandoned.append(once(Buffer.from('x')))
    // A session of an earlier process, on disk only, two days old.
    const oldDir = join(root, 'docker/registry/v2/repositories/app/z/_uploads/11111111-2222-4333-8444-555555555555')
    await (await store.startUpload('app/z')).cancel()
    const fresh = new Registry2WritableStore(root, { uploadTtlMs: ttl })
    const leftover = await fresh.startUpload('app/z')
    const old = new Date(Date.now() - 2 * 86_400_000)
    writeFileSync(
      join(root, 'docker/registry/v2/repositories/app/z/_uploads', leftover.id, 'startedat'),
      old.toISOString().replace(/\.\d+Z$/, 'Z'),
    )
    utimesSync(join(root, 'docker/registry/v2/repositories/app/z/_uploads', leftover.id, 'data'), old, old)
    // The live session saw bytes a moment ago; the abandoned one (in this process) long ago.
    ;(abandoned as unknown as { lastActive: number }).lastActive = Date.now() - 2 * ttl
    const removed = await store.sweep()
    assert.ok(
      removed.some((p) => p.endsWith(leftover.id)),
      'the on-disk leftover went',
    )
    assert.equal(await store.resumeUpload('app/y', abandoned.id), null)
    assert.ok(await store.resumeUpload('app/x', live.id))
    assert.equal(existsSync(oldDir), false)
    // Much later, the live one goes too.
    await store.sweep(Date.now() + 2 * ttl)
    assert.equal(await store.resumeUpload('app/x', live.id), null)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
