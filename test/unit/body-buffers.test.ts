/** Reused body buffers: classes, views of the body's length, one give-back each, a bound on what is kept. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BodyBuffers } from '../../src/repos/body-buffers.js'

test('a body gets the smallest class that holds it, as a view of its own length', () => {
  const b = new BodyBuffers({ largest: 64 * 1024 })
  for (const [size, cls] of [
    [1, 1024],
    [1024, 1024],
    [1025, 2048],
    [10_000, 16_384],
    [65_536, 65_536],
  ] as const) {
    const p = b.take(size)!
    assert.equal(p.bytes.length, size)
    assert.equal(p.bytes.buffer.byteLength, cls, `${size}`)
    assert.equal(p.bytes.byteOffset, 0)
  }
  assert.equal(b.take(0), null)
  assert.equal(b.take(65_537), null)
})

test('a buffer given back is handed out again, once, and never to two bodies at a time', () => {
  const b = new BodyBuffers()
  const first = b.take(5000)!
  const parent = first.bytes.buffer
  const other = b.take(5000)!
  assert.notEqual(other.bytes.buffer, parent, 'a buffer in use is not handed out')
  first.release()
  first.release()
  assert.equal(b.freeBytes, 8192, 'given back once')
  const again = b.take(4097)!
  assert.equal(again.bytes.buffer, parent, 'reused')
  assert.equal(again.bytes.length, 4097)
  assert.notEqual(b.take(5000)!.bytes.buffer, parent, 'not twice')
  assert.equal(b.freeBytes, 0)
})

test('free buffers are kept up to maxFreeBytes; the rest are left to the collector', () => {
  const b = new BodyBuffers({ maxFreeBytes: 40 * 1024 })
  const taken = Array.from({ length: 5 }, () => b.take(16 * 1024)!)
  for (const t of taken) t.release()
  assert.equal(b.freeBytes, 32 * 1024)
  const big = b.take(100 * 1024)!
  big.release()
  assert.equal(b.freeBytes, 32 * 1024, 'a 128 KiB buffer would pass the bound')
})
