import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isValidName, isValidTag, parseDigest, parseReference } from '../../src/images/grammar.js'
import { parseV2Path } from '../../src/registry-api/paths.js'

const HEX = 'a'.repeat(64)

test('repository names follow the distribution grammar', () => {
  for (const ok of ['library/nginx', 'a', 'calico/node', 'k8s.gcr.io/kube-apiserver', 'a__b/c-d', 'x--y', 'a.b_c/d']) {
    assert.equal(isValidName(ok), true, ok)
  }
  for (const bad of [
    '',
    'Library/nginx',
    '/a',
    'a/',
    'a//b',
    '..',
    'a/../b',
    '.a',
    'a.',
    'a___b',
    'a/-b',
    'a b',
    'a%2fb',
    'a\\b',
    'x'.repeat(256),
  ]) {
    assert.equal(isValidName(bad), false, bad)
  }
})

test('tags are at most 128 characters of [A-Za-z0-9_.-], not starting with . or -', () => {
  assert.equal(isValidTag('v1.21.3'), true)
  assert.equal(isValidTag('_x'), true)
  assert.equal(isValidTag('a'.repeat(128)), true)
  assert.equal(isValidTag('a'.repeat(129)), false)
  assert.equal(isValidTag('.hidden'), false)
  assert.equal(isValidTag('-x'), false)
  assert.equal(isValidTag('a/b'), false)
  assert.equal(isValidTag(''), false)
})

test('digests of registered algorithms parse; others do not', () => {
  assert.deepEqual(parseDigest(`sha256:${HEX}`), { algorithm: 'sha256', hex: HEX, value: `sha256:${HEX}` })
  assert.ok(parseDigest(`sha512:${'b'.repeat(128)}`))
  assert.equal(parseDigest('sha256:totallywrong'), undefined)
  assert.equal(parseDigest(`sha256:${'A'.repeat(64)}`), undefined)
  assert.equal(parseDigest(`sha256:${HEX}0`), undefined)
  assert.equal(parseDigest(`md5:${'a'.repeat(32)}`), undefined)
  assert.equal(parseDigest(HEX), undefined)
})

test('a reference with a colon is a digest', () => {
  assert.deepEqual(parseReference('latest'), { kind: 'tag', tag: 'latest' })
  assert.equal(parseReference('sha256:totallywrong'), 'DIGEST_INVALID')
  assert.equal(parseReference('bad$tag'), 'TAG_INVALID')
  assert.equal((parseReference(`sha256:${HEX}`) as { kind: string }).kind, 'digest')
})

test('v2 paths split from the right, so names may nest', () => {
  assert.deepEqual(parseV2Path(''), { kind: 'base' })
  assert.deepEqual(parseV2Path('_catalog'), { kind: 'catalog' })
  assert.deepEqual(parseV2Path('a/b/c/tags/list'), { kind: 'tags', name: 'a/b/c' })
  assert.deepEqual(parseV2Path('a/manifests/b/manifests/v1'), { kind: 'manifest', name: 'a/manifests/b', reference: 'v1' })
  assert.deepEqual(parseV2Path(`x/blobs/sha256:${HEX}`), { kind: 'blob', name: 'x', digest: `sha256:${HEX}` })
  assert.deepEqual(parseV2Path('x/blobs/uploads/'), { kind: 'upload', name: 'x', rest: '' })
  assert.deepEqual(parseV2Path('x/blobs/uploads/abc'), { kind: 'upload', name: 'x', rest: 'abc' })
  assert.deepEqual(parseV2Path(`x/referrers/sha256:${HEX}`), { kind: 'referrers', name: 'x', digest: `sha256:${HEX}` })
  assert.deepEqual(parseV2Path('x/manifests/'), { kind: 'unknown' })
  assert.deepEqual(parseV2Path('x'), { kind: 'unknown' })
})
