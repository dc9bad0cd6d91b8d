import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pickDefaultPlatform, wantsPlatformChild } from '../../src/registry-api/negotiate.js'
import { DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, parseManifest } from '../../src/images/media-types.js'

test('an index goes to its amd64 child only for clients that accept manifests but no list', () => {
  assert.equal(wantsPlatformChild(OCI_INDEX, [DOCKER_MANIFEST, OCI_MANIFEST]), true)
  assert.equal(wantsPlatformChild(DOCKER_LIST, [DOCKER_MANIFEST]), true)
  assert.equal(wantsPlatformChild(OCI_INDEX, [OCI_MANIFEST, OCI_INDEX]), false)
  assert.equal(wantsPlatformChild(OCI_INDEX, [DOCKER_MANIFEST, DOCKER_LIST]), false)
  assert.equal(wantsPlatformChild(OCI_INDEX, []), false)
  assert.equal(wantsPlatformChild(OCI_INDEX, ['*/*']), false)
  assert.equal(wantsPlatformChild(OCI_INDEX, ['application/json']), false)
  assert.equal(wantsPlatformChild(OCI_MANIFEST, [DOCKER_MANIFEST]), false)
})

test('the default platform is linux/amd64', () => {
  const d = (architecture: string, os = 'linux') => ({
    mediaType: OCI_MANIFEST,
    digest: architecture,
    size: 1,
    platform: { architecture, os },
  })
  assert.equal(pickDefaultPlatform([d('arm64'), d('amd64', 'windows'), d('amd64')])?.digest, 'amd64')
  assert.equal(pickDefaultPlatform([d('arm64')]), undefined)
})

test('manifest media type comes from the field, else the shape', () => {
  const b = (o: unknown) => Buffer.from(JSON.stringify(o))
  assert.equal(parseManifest(b({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { digest: 'x' } }))?.mediaType, DOCKER_MANIFEST)
  assert.equal(parseManifest(b({ schemaVersion: 2, config: { digest: 'x' }, layers: [] }))?.mediaType, OCI_MANIFEST)
  assert.equal(parseManifest(b({ schemaVersion: 2, manifests: [] }))?.mediaType, OCI_INDEX)
  assert.equal(parseManifest(b({ hello: 1 })), undefined)
  assert.equal(parseManifest(Buffer.from('not json')), undefined)
})
