import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CHUNK_SIZE, LARGE_BODY_MEMORY, MIN_CHUNK_SIZE, chunkSizeFor } from '../../src/http/send.js'

test('chunks shrink as concurrent large bodies grow, within the memory bound', () => {
  assert.equal(chunkSizeFor(0), CHUNK_SIZE)
  assert.equal(chunkSizeFor(1), CHUNK_SIZE)
  let last = CHUNK_SIZE
  for (let active = 1; active <= 4096; active *= 2) {
    const size = chunkSizeFor(active)
    assert.ok(size <= last, `non-increasing at ${active}`)
    assert.ok(size >= MIN_CHUNK_SIZE && size <= CHUNK_SIZE)
    assert.equal(size & (size - 1), 0, 'a power of two (one pool per size)')
    if (size > MIN_CHUNK_SIZE) assert.ok(2 * size * active <= LARGE_BODY_MEMORY, `two chunks each fit at ${active}`)
    last = size
  }
  assert.equal(chunkSizeFor(8), CHUNK_SIZE)
  assert.equal(chunkSizeFor(128), MIN_CHUNK_SIZE)
})
