import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NameResolver, normalizeUpstream } from '../../src/images/resolve.js'

test('upstream references normalise like Docker names', () => {
  assert.equal(normalizeUpstream('nginx'), 'docker.io/library/nginx')
  assert.equal(normalizeUpstream('nginx:1.25'), 'docker.io/library/nginx')
  assert.equal(normalizeUpstream('calico/node:v3'), 'docker.io/calico/node')
  assert.equal(normalizeUpstream('index.docker.io/library/nginx'), 'docker.io/library/nginx')
  assert.equal(normalizeUpstream('K8S.GCR.IO/kube-apiserver:v1.21.3'), 'k8s.gcr.io/kube-apiserver')
  assert.equal(normalizeUpstream('localhost:5000/a/b@sha256:abc'), 'localhost:5000/a/b')
})

const resolver = new NameResolver({
  origins: [
    { src: 'k8s.gcr.io/kube-apiserver', dest: 'library/kube-apiserver' },
    { src: 'docker.io/library/nginx:1.25', dest: 'mirror/nginx:1.25' },
  ],
  rules: [
    { from: 'registry.k8s.io/*', to: 'library/' },
    { from: 'quay.io/', to: 'quay/' },
  ],
})

test('images_origin wins, then prefix rules, then the name as it stands', () => {
  assert.deepEqual(resolver.candidates({ name: 'kube-apiserver', ns: 'k8s.gcr.io' }), ['library/kube-apiserver', 'kube-apiserver'])
  assert.deepEqual(resolver.candidates({ name: 'coredns/coredns', ns: 'registry.k8s.io' }), ['library/coredns/coredns', 'coredns/coredns'])
  assert.deepEqual(resolver.candidates({ name: 'library/nginx', ns: 'docker.io' }), ['mirror/nginx', 'library/nginx'])
  assert.deepEqual(resolver.candidates({ name: 'calico/node', ns: 'quay.io' }), ['quay/calico/node', 'calico/node'])
  assert.deepEqual(resolver.candidates({ name: 'library/pause' }), ['library/pause'])
})

test('the upstream host may lead the path instead of ns', () => {
  assert.deepEqual(resolver.candidates({ name: 'k8s.gcr.io/kube-apiserver' }), [
    'library/kube-apiserver',
    'kube-apiserver',
    'k8s.gcr.io/kube-apiserver',
  ])
  assert.deepEqual(resolver.candidates({ name: 'quay.io/calico/node' }), ['quay/calico/node', 'calico/node', 'quay.io/calico/node'])
})

test('candidates are valid names only', () => {
  const r = new NameResolver({ origins: [{ src: 'x.io/a', dest: 'Bad Name' }] })
  assert.deepEqual(r.candidates({ name: 'a', ns: 'x.io' }), ['a'])
})
