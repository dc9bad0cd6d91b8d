import { test } from 'node:test'
import assert from 'node:assert/strict'
import { renderInventoryText } from '../../src/nodes/served-inventory.js'
import { humanBytes, table } from '../../src/nodes/text.js'
import { repositoryOfPath } from '../../src/images/store/registry2-paths.js'
import { openDb, Misses, applySchema } from '../../src/catalog/index.js'
import { MISSES_SCHEMA } from '../../src/catalog/schema.js'
import { requestedReference } from '../../src/images/resolve.js'

test('sizes and tables for people', () => {
  assert.equal(humanBytes(512), '512 B')
  assert.equal(humanBytes(1536), '1.5 KiB')
  assert.equal(humanBytes(3 * 1024 ** 3), '3.0 GiB')
  assert.equal(
    table(
      ['A', 'BB'],
      [
        ['xxx', 'y'],
        ['z', 'long'],
      ],
    ),
    'A    BB\nxxx  y\nz    long',
  )
})

test('inventory text lists images, files and trees', () => {
  const text = renderInventoryText({
    images: [
      {
        repository: 'library/pause',
        store: 's',
        tags: [{ tag: '3.9', digest: `sha256:${'ab'.repeat(32)}`, mediaType: 'x', platforms: ['linux/amd64'], size: 2048 }],
      },
    ],
    files: [{ prefix: '/', path: '/srv/nginx', count: 3, bytes: 10 }],
    trees: [{ root: '/', path: 'centos/7', kind: 'yum', packages: 12, ok: false, problems: ['missing a.rpm'] }],
    totals: { repositories: 1, tags: 1, imageBytes: 2048, files: 3, fileBytes: 10, trees: 1, treesFailing: 1 },
    scan: { complete: true, finishedAt: null, ms: 1 },
  })
  assert.match(text, /library\/pause\s+3\.9\s+abababababab\s+linux\/amd64\s+2\.0 KiB/)
  assert.match(text, /Files: 3 files, 10 B/)
  assert.match(text, /yum\s+centos\/7\s+12\s+FAILED: missing a\.rpm/)
})

test('registry paths map to their repository', () => {
  assert.equal(repositoryOfPath('library/calico/node/_manifests/tags/v1/current/link'), 'library/calico/node')
  assert.equal(repositoryOfPath('library/pause/_layers/sha256/ab/link'), 'library/pause')
  assert.equal(repositoryOfPath('library/pause'), 'library/pause')
  assert.equal(repositoryOfPath('_manifests'), undefined)
})

test('requested references name the upstream image', () => {
  assert.equal(requestedReference('kube-apiserver', 'v1.21.3', 'k8s.gcr.io'), 'k8s.gcr.io/kube-apiserver:v1.21.3')
  assert.equal(
    requestedReference('library/nginx', `sha256:${'a'.repeat(64)}`, 'docker.io'),
    `docker.io/library/nginx@sha256:${'a'.repeat(64)}`,
  )
  assert.equal(requestedReference('quay.io/calico/node', 'v3', undefined), 'quay.io/calico/node:v3')
  assert.equal(requestedReference('library/pause', '3.9', undefined), 'library/pause:3.9')
})

test('the ledger counts distinct misses and stays bounded', () => {
  const db = openDb(':memory:')
  applySchema(db, MISSES_SCHEMA)
  const m = new Misses(db)
  m.record('image', 'k8s.gcr.io/a:1', { client: '10.0.0.1', userAgent: 'containerd' })
  m.record('image', 'k8s.gcr.io/a:1', { client: '10.0.0.2' })
  m.record('file', '/files/x')
  const rows = m.list()
  assert.equal(rows.length, 2)
  assert.equal(rows[0]!.ref, 'k8s.gcr.io/a:1')
  assert.equal(rows[0]!.count, 2)
  assert.equal(rows[0]!.client, '10.0.0.2')
  for (let i = 0; i < 50; i++) m.record('file', `/f/${i}`)
  m.prune(10)
  assert.equal(m.list().length, 10)
  assert.ok(
    m.list().every((r) => r.ref.startsWith('/f/')),
    'the least recently seen go first',
  )
  db.close()
})
