/** Ledger entries are single printable tokens; ns values are host names. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { escapeRef } from '../../src/catalog/index.js'
import { isValidHost } from '../../src/images/index.js'

test('refs with whitespace, control or line-separator characters are percent-encoded', () => {
  assert.equal(escapeRef('a\nb\r c\u2028d\u0000'), 'a%0Ab%0D%20c%E2%80%A8d%00')
  assert.equal(escapeRef('quay.io/calico/node:v3.26.1'), 'quay.io/calico/node:v3.26.1')
  assert.equal(escapeRef('/files/a%20b'), '/files/a%20b')
})

test('ns values: host names with an optional port only', () => {
  for (const ok of ['k8s.gcr.io', 'localhost', 'registry.local:5000', '[::1]:5000', '10.0.0.1']) assert.ok(isValidHost(ok), ok)
  for (const bad of ['', 'evil.io\nattacker.example', 'a b', 'host/path', '-bad.io', 'x:port', 'a..b']) assert.ok(!isValidHost(bad), bad)
})
