import { test } from 'node:test'
import assert from 'node:assert/strict'
import { evaluateConditions, ifRangeAllows, parseEtagList } from '../../src/http/conditional.js'

const v = { etag: '"abc"', lastModified: Date.parse('Mon, 01 Jan 2024 00:00:00 GMT') + 500 }

test('entity tag lists', () => {
  assert.deepEqual(parseEtagList('"a", W/"b" ,"c"'), ['"a"', 'W/"b"', '"c"'])
  assert.deepEqual(parseEtagList('*'), ['*'])
})

test('If-None-Match uses weak comparison and wins over If-Modified-Since', () => {
  assert.equal(evaluateConditions({ ifNoneMatch: '"abc"' }, v), 'not-modified')
  assert.equal(evaluateConditions({ ifNoneMatch: 'W/"abc"' }, v), 'not-modified')
  assert.equal(evaluateConditions({ ifNoneMatch: '"x", "abc"' }, v), 'not-modified')
  assert.equal(evaluateConditions({ ifNoneMatch: '*' }, v), 'not-modified')
  assert.equal(evaluateConditions({ ifNoneMatch: '"x"', ifModifiedSince: 'Mon, 01 Jan 2024 00:00:00 GMT' }, v), 'proceed')
})

test('If-Modified-Since compares whole seconds', () => {
  assert.equal(evaluateConditions({ ifModifiedSince: 'Mon, 01 Jan 2024 00:00:00 GMT' }, v), 'not-modified')
  assert.equal(evaluateConditions({ ifModifiedSince: 'Sun, 31 Dec 2023 23:59:59 GMT' }, v), 'proceed')
  assert.equal(evaluateConditions({ ifModifiedSince: 'garbage' }, v), 'proceed')
})

test('If-Match and If-Unmodified-Since fail with 412', () => {
  assert.equal(evaluateConditions({ ifMatch: '"nope"' }, v), 'precondition-failed')
  assert.equal(evaluateConditions({ ifMatch: 'W/"abc"' }, v), 'precondition-failed')
  assert.equal(evaluateConditions({ ifMatch: '"abc"' }, v), 'proceed')
  assert.equal(evaluateConditions({ ifUnmodifiedSince: 'Sun, 31 Dec 2023 00:00:00 GMT' }, v), 'precondition-failed')
})

test('If-Range: strong tag or exact date', () => {
  assert.equal(ifRangeAllows(undefined, v), true)
  assert.equal(ifRangeAllows('"abc"', v), true)
  assert.equal(ifRangeAllows('W/"abc"', v), false)
  assert.equal(ifRangeAllows('"old"', v), false)
  assert.equal(ifRangeAllows('Mon, 01 Jan 2024 00:00:00 GMT', v), true)
  assert.equal(ifRangeAllows('Mon, 01 Jan 2024 00:00:01 GMT', v), false)
})
