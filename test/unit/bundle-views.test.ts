/** The bundle manifest, the ARCH flag and the status page's HTML, each on its own. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ManifestError, compareManifest, diffLines, parseManifestText, renderManifest } from '../../src/bundle/manifest.js'
import { imagesLacking, withArchFlags } from '../../src/bundle/node-flags.js'
import { esc, redactor } from '../../src/bundle/html.js'
import { renderStatusPage, type StatusData } from '../../src/bundle/status-page.js'
import type { HashedItem } from '../../src/catalog/verify.js'
import type { NodesView } from '../../src/nodes/inventory.js'

const hex = (c: string) => c.repeat(64)

test('a manifest is sorted JSON lines that read back; differences are missing, different, extra', () => {
  const items: HashedItem[] = [
    { kind: 'file', path: '/files/b', size: 2, sha256: hex('b') },
    { kind: 'blob', digest: `sha256:${hex('1')}`, size: 10, sha256: hex('1') },
    { kind: 'tag', image: 'library/pause:3.9', digest: `sha256:${hex('2')}` },
    { kind: 'blob', digest: `sha256:${hex('1')}`, size: 10, sha256: hex('1') },
    { kind: 'file', path: '/files/a', size: 1, sha256: hex('a') },
  ]
  const text = renderManifest(items, 'outpost test', new Date('2026-01-01T00:00:00Z'))
  const lines = text.trim().split('\n')
  assert.deepEqual(JSON.parse(lines[0]!), {
    outpost: 'bundle-manifest',
    version: 1,
    created: '2026-01-01T00:00:00.000Z',
    by: 'outpost test',
  })
  assert.deepEqual(lines.slice(1), [
    `{"tag":"library/pause:3.9","digest":"sha256:${hex('2')}"}`,
    `{"blob":"sha256:${hex('1')}","size":10,"sha256":"${hex('1')}"}`,
    `{"file":"/files/a","size":1,"sha256":"${hex('a')}"}`,
    `{"file":"/files/b","size":2,"sha256":"${hex('b')}"}`,
  ])
  const back = parseManifestText(text, 'm')
  assert.equal(back.length, 4)
  const far: HashedItem[] = [
    { kind: 'tag', image: 'library/pause:3.9', digest: `sha256:${hex('2')}` },
    { kind: 'file', path: '/files/a', size: 1, sha256: hex('c') },
    { kind: 'file', path: '/files/new', size: 3, sha256: hex('d') },
  ]
  const diff = compareManifest(back, far)
  assert.equal(diff.same, 1)
  assert.deepEqual(diffLines(diff), [
    `MISSING blob sha256:${hex('1')} (10 bytes, sha256 ${hex('1').slice(0, 16)}…)`,
    `MISSING file /files/b (2 bytes, sha256 ${hex('b').slice(0, 16)}…)`,
    `DIFFERENT file /files/a: 1 bytes, sha256 ${hex('c').slice(0, 16)}… here, 1 bytes, sha256 ${hex('a').slice(0, 16)}… in the manifest`,
    `EXTRA file /files/new (3 bytes, sha256 ${hex('d').slice(0, 16)}…)`,
  ])
  assert.throws(
    () => parseManifestText('{"some":"json"}\n', 'x.json'),
    (e: Error) => e instanceof ManifestError && /^x\.json:1: not a bundle manifest/.test(e.message),
  )
  assert.throws(
    () => parseManifestText(`${lines[0]}\n{"blob":"sha256:x","size":-1}\n`, 'm'),
    (e: Error) => e instanceof ManifestError && /^m:2: not a blob, file or tag entry/.test(e.message),
  )
})

const view = (nodes: Array<{ hostname: string; arch: string | null; flags?: NodesView['nodes'][number]['flags'] }>): NodesView =>
  ({
    now: '2026-01-01T00:00:00.000Z',
    thresholds: { offsetMs: 500, staleAfterS: 86400 },
    count: nodes.length,
    flagged: 0,
    nodes: nodes.map((n) => ({ hostname: n.hostname, arch: n.arch, flags: n.flags ?? [] })),
  }) as unknown as NodesView

test('ARCH: a node whose architecture an image lacks, with the images concerned; artifacts and broken single images aside', () => {
  const images = [
    { image: 'a:1', platforms: ['linux/amd64'], completePlatforms: ['linux/amd64'], problems: [] },
    { image: 'both:1', platforms: ['linux/amd64', 'linux/arm64/v8'], completePlatforms: ['linux/amd64', 'linux/arm64/v8'], problems: [] },
    { image: 'half:1', platforms: ['linux/amd64', 'linux/arm64'], completePlatforms: ['linux/amd64'], problems: [] },
    { image: 'sbom:1', platforms: [], completePlatforms: [], problems: [] },
    { image: 'broken:1', platforms: ['linux/amd64'], completePlatforms: [], problems: [] },
  ]
  assert.deepEqual(
    imagesLacking(images, 'linux/arm64').map((i) => i.image),
    ['a:1', 'half:1', 'broken:1'],
  )
  assert.deepEqual(imagesLacking(images, 'linux/amd64'), [], 'a broken amd64 image is broken, not a missing architecture')
  const v = withArchFlags(
    view([
      { hostname: 'arm', arch: 'aarch64', flags: ['stale'] },
      { hostname: 'amd', arch: 'amd64' },
      { hostname: 'unknown', arch: null },
    ]),
    images,
  )
  assert.deepEqual(v.nodes[0]!.flags, ['stale', 'arch'])
  assert.deepEqual(v.nodes[0]!.archMissing, { platform: 'linux/arm64', images: ['a:1', 'half:1', 'broken:1'], count: 3 })
  assert.deepEqual(v.nodes[1]!.flags, [])
  assert.equal(v.nodes[2]!.archMissing, undefined)
  assert.equal(v.flagged, 1)
})

test('escaping and redaction', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  const redact = redactor([
    { path: '/srv/bundle', label: '[bundle]' },
    { path: '/srv/bundle/registry', label: '[registry]' },
    { path: '/', label: '[root]' },
  ])
  assert.equal(redact('/srv/bundle/registry/x and /srv/bundle/nginx: ENOENT'), '[registry]/x and [bundle]/nginx: ENOENT')
  assert.equal(redact('/files/a'), '/files/a', 'a bare / is never a path to hide')
})

test('the page: hostile text escaped, server paths only when allowed, refresh and viewport', () => {
  const data: StatusData = {
    now: new Date('2026-01-01T00:00:00Z'),
    readiness: { ready: false, checks: [{ name: 'files /', ok: false, detail: '/srv/secret/nginx: ENOENT' }] },
    about: { version: '9.9.9', listeners: [{ name: 'http', address: '0.0.0.0:8080' }], certificate: null },
    inventory: {
      images: [],
      files: [{ prefix: '/', path: '/srv/secret/nginx', count: 1, bytes: 5 }],
      trees: [],
      totals: { repositories: 0, tags: 0, imageBytes: 0, files: 1, fileBytes: 5, trees: 0, treesFailing: 0 },
      scan: { complete: true, finishedAt: null, ms: 1 },
      problems: [],
    },
    images: [],
    trees: [],
    requirements: { configured: false, report: null, error: null },
    nodes: null,
    misses: [
      {
        kind: 'file',
        ref: '/files/<script>x</script>',
        count: 1,
        firstSeen: '2026-01-01T00:00:00.000Z',
        lastSeen: '2026-01-01T00:00:00.000Z',
        client: '10.0.0.1',
        userAgent: '"><img src=x>',
        detail: null,
      },
    ],
  }
  const hidden = renderStatusPage(data, { showPaths: false, redact: redactor([{ path: '/srv/secret', label: '[bundle]' }]), refreshS: 15 })
  assert.ok(!hidden.includes('/srv/secret'), 'no server path for a client off loopback')
  assert.match(hidden, /\[bundle\]\/nginx: ENOENT/)
  assert.ok(hidden.includes('&lt;script&gt;x&lt;/script&gt;') && hidden.includes('&quot;&gt;&lt;img src=x&gt;'))
  assert.equal((hidden.match(/<script/g) ?? []).length, 1)
  assert.doesNotMatch(hidden, /<img/)
  assert.match(hidden, /<meta http-equiv="refresh" content="15">/)
  assert.match(hidden, /<title>Outpost 9\.9\.9: NOT READY<\/title>/)
  const shown = renderStatusPage(data, { showPaths: true, redact: (t) => t, refreshS: 15 })
  assert.ok(shown.includes('/srv/secret/nginx'))
})
