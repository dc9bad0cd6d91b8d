import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseImageReference, parseRefName } from '../../src/images/import/names.js'

const ok = (ref: string) => {
  const p = parseImageReference(ref)
  assert.ok(p.ok, `${ref}: ${p.ok ? '' : p.error}`)
  return p.value
}

test('archive names are normalised as Docker names them', () => {
  assert.deepEqual(ok('busybox:1.36'), { name: 'library/busybox', tag: '1.36' })
  assert.deepEqual(ok('busybox'), { name: 'library/busybox' })
  assert.deepEqual(ok('docker.io/library/busybox:latest'), { name: 'library/busybox', tag: 'latest' })
  assert.deepEqual(ok('docker.io/busybox:latest'), { name: 'library/busybox', tag: 'latest' })
  assert.deepEqual(ok('index.docker.io/calico/node:v3.27.0'), { name: 'calico/node', tag: 'v3.27.0' })
  assert.deepEqual(ok('calico/node:v3.27.0'), { name: 'calico/node', tag: 'v3.27.0' })
  assert.deepEqual(ok('registry.k8s.io/pause:3.9'), { name: 'registry.k8s.io/pause', tag: '3.9' })
  assert.deepEqual(ok('Quay.IO/coreos/etcd:v3.5'), { name: 'quay.io/coreos/etcd', tag: 'v3.5' }, 'the host is lower-cased')
  assert.deepEqual(ok('localhost/app:1'), { name: 'localhost/app', tag: '1' })
  assert.deepEqual(
    ok(`registry.k8s.io/pause:3.9@sha256:${'a'.repeat(64)}`),
    { name: 'registry.k8s.io/pause', tag: '3.9' },
    'a digest is dropped',
  )
})

test('names that cannot be a repository here are refused with the reason', () => {
  for (const bad of ['localhost:5000/app:1', 'Library/Busybox:1', 'busybox:bad$tag', 'a//b:1', '']) {
    const p = parseImageReference(bad)
    assert.equal(p.ok, false, bad)
    if (!p.ok) assert.match(p.error, /valid/)
  }
})

test('ref.name annotations: a tag alone, or a full reference', () => {
  assert.deepEqual(parseRefName('1.0'), { ok: true, value: { tag: '1.0' } })
  assert.deepEqual(parseRefName('latest'), { ok: true, value: { tag: 'latest' } })
  assert.deepEqual(parseRefName('example.com/app:2'), { ok: true, value: { name: 'example.com/app', tag: '2' } })
  assert.deepEqual(parseRefName('nginx:1.25'), { ok: true, value: { name: 'library/nginx', tag: '1.25' } })
  assert.equal(parseRefName('-bad').ok, false)
})
