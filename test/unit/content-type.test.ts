import { test } from 'node:test'
import assert from 'node:assert/strict'
import { contentTypeFor, DEFAULT_CONTENT_TYPE } from '../../src/http/content-type.js'
import { CONTENT_TYPES } from '../helpers/file-tree.js'

test('content types by extension for package trees and binaries', () => {
  for (const [name, type] of Object.entries(CONTENT_TYPES)) assert.equal(contentTypeFor(name), type, name)
  assert.equal(contentTypeFor('repodata/abc-primary.xml.gz'), 'application/gzip')
  assert.equal(contentTypeFor('dists/bookworm/main/binary-amd64/Packages'), 'text/plain; charset=utf-8')
  assert.equal(contentTypeFor('X.RPM'), 'application/x-rpm', 'extensions are case-insensitive')
  assert.equal(contentTypeFor('.bashrc'), DEFAULT_CONTENT_TYPE, 'a dot-file has no extension')
  assert.equal(contentTypeFor('kubeadm'), DEFAULT_CONTENT_TYPE)
  assert.equal(contentTypeFor('etcd-v3.4.13-linux-amd64.tar.gz'), 'application/gzip')
})
