import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseByteRange, resolveByteRange } from '../../src/http/range.js'

test('parses bounded, open-ended and suffix ranges', () => {
  assert.deepEqual(parseByteRange('bytes=0-9'), { type: 'bounded', start: 0, end: 9 })
  assert.deepEqual(parseByteRange('bytes=10-'), { type: 'open-ended', start: 10 })
  assert.deepEqual(parseByteRange('bytes=-5'), { type: 'suffix', length: 5 })
  assert.deepEqual(parseByteRange('Bytes = 1 - 2'), { type: 'bounded', start: 1, end: 2 })
})

test('ignores what it does not understand (RFC 9110 §14.2)', () => {
  for (const h of [undefined, '', 'bytes', 'items=0-1', 'bytes=5-1', 'bytes=a-b', 'bytes=0-1,3-4', 'bytes=-', 'bytes=--1', 'bytes=1-2-3']) {
    assert.equal(parseByteRange(h), undefined, String(h))
  }
})

test('resolves against the size', () => {
  assert.deepEqual(resolveByteRange(undefined, 10), { kind: 'full' })
  assert.deepEqual(resolveByteRange({ type: 'bounded', start: 2, end: 100 }, 10), { kind: 'partial', start: 2, end: 9 })
  assert.deepEqual(resolveByteRange({ type: 'bounded', start: 10, end: 12 }, 10), { kind: 'unsatisfiable' })
  assert.deepEqual(resolveByteRange({ type: 'open-ended', start: 9 }, 10), { kind: 'partial', start: 9, end: 9 })
  assert.deepEqual(resolveByteRange({ type: 'open-ended', start: 10 }, 10), { kind: 'unsatisfiable' })
  assert.deepEqual(resolveByteRange({ type: 'suffix', length: 3 }, 10), { kind: 'partial', start: 7, end: 9 })
  assert.deepEqual(resolveByteRange({ type: 'suffix', length: 30 }, 10), { kind: 'partial', start: 0, end: 9 })
  assert.deepEqual(resolveByteRange({ type: 'suffix', length: 0 }, 10), { kind: 'unsatisfiable' })
  assert.deepEqual(resolveByteRange({ type: 'suffix', length: 1 }, 0), { kind: 'unsatisfiable' })
})
