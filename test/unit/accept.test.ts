/** The one Accept parser and the choices made from it. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { acceptedTypes, parseAccept, preferredType, wantsText } from '../../src/http/accept.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'

test('Accept from several lines or one comma list is one list', () => {
  assert.deepEqual(acceptedTypes([`${OCI_MANIFEST}`, `${DOCKER_MANIFEST}; q=0.9`]), [OCI_MANIFEST, DOCKER_MANIFEST])
  assert.deepEqual(acceptedTypes(`${OCI_INDEX}, ${OCI_MANIFEST} ,*/*`), [OCI_INDEX, OCI_MANIFEST, '*/*'])
  assert.deepEqual(acceptedTypes(undefined), [])
})

test('media ranges keep their order, lower-cased, with q', () => {
  assert.deepEqual(parseAccept('Text/HTML;level=1;q=0.5, application/json ,, */*;Q=0.1'), [
    { type: 'text/html', q: 0.5 },
    { type: 'application/json', q: 1 },
    { type: '*/*', q: 0.1 },
  ])
  assert.deepEqual(parseAccept('a/b;q=7, c/d;q=x'), [
    { type: 'a/b', q: 1 },
    { type: 'c/d', q: 1 },
  ])
  assert.deepEqual(parseAccept(''), [])
})

test('the preferred offer: q, then the more specific range, then the tie rule', () => {
  const offers = ['text/html', 'application/json'] as const
  assert.equal(preferredType(undefined, offers), undefined)
  assert.equal(preferredType('image/png', offers), undefined)
  assert.equal(preferredType('*/*', offers), 'text/html')
  assert.equal(preferredType('application/json, text/html', offers), 'text/html')
  assert.equal(preferredType('application/json, text/html', offers, { ties: 'header' }), 'application/json')
  assert.equal(preferredType('text/html;q=0.5, application/json', offers), 'application/json')
  assert.equal(preferredType('application/json, */*', offers), 'application/json')
  assert.equal(preferredType('application/json;q=0, */*', offers), 'text/html')
  assert.equal(preferredType('text/*;q=0.2, application/*;q=0.3', offers), 'application/json')
  assert.equal(preferredType('*/*', offers, { wildcards: false }), undefined)
  assert.equal(preferredType('text/html, */*', offers, { wildcards: false }), 'text/html')
})

test('text for curl, JSON for programs', () => {
  assert.equal(wantsText(undefined, '*/*', 'curl/7.88.1'), true)
  assert.equal(wantsText(undefined, '*/*', 'Go-http-client/1.1'), false)
  assert.equal(wantsText(undefined, 'application/json', 'curl/7.88.1'), false)
  assert.equal(wantsText(undefined, 'text/plain, application/json', undefined), true)
  assert.equal(wantsText('json', 'text/plain', 'curl/8'), false)
  assert.equal(wantsText('text', undefined, undefined), true)
})

test('text or JSON', () => {
  assert.equal(wantsText(undefined, '*/*', 'curl/8.5.0'), true)
  assert.equal(wantsText(undefined, undefined, 'Wget/1.21'), true)
  assert.equal(wantsText(undefined, '*/*', 'node'), false)
  assert.equal(wantsText(undefined, 'application/json', 'curl/8.5.0'), false)
  assert.equal(wantsText(undefined, 'text/plain', undefined), true)
  assert.equal(wantsText(undefined, 'text/plain, application/json', undefined), true)
  assert.equal(wantsText(undefined, 'application/json, text/plain', undefined), false)
  assert.equal(wantsText('json', 'text/plain', 'curl/8'), false)
  assert.equal(wantsText('text', 'application/json', undefined), true)
  assert.equal(wantsText('txt', undefined, undefined), true)
  assert.equal(wantsText(undefined, 'text/plain;q=0.2, application/json', 'curl/8'), false, 'q decides before order')
})
