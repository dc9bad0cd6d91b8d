import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatReports } from '../../src/repos/report.js'
import type { TreeReport } from '../../src/repos/trees.js'

const report = (over: Partial<TreeReport>): TreeReport => ({
  kind: 'yum',
  url: '/el/',
  dir: '/srv/el',
  suite: null,
  components: [],
  signingKey: null,
  signed: false,
  packagesSigned: null,
  packages: 2,
  indexFiles: 3,
  packageBytes: 100,
  full: false,
  ok: true,
  problems: [],
  notes: [],
  checkedAt: '2024-01-01T00:00:00.000Z',
  durationMs: 1,
  ...over,
})

test('one line per tree, problems and notes under it, a summary', () => {
  const text = formatReports(
    [
      report({}),
      report({
        kind: 'apt',
        url: '/debian/',
        suite: 'bookworm',
        ok: false,
        problems: [
          { kind: 'missing', file: '/debian/dists/bookworm/main/binary-amd64/Packages', detail: 'listed in Release but not present' },
        ],
        notes: ['something skipped'],
      }),
    ],
    { full: false, roots: ['/srv'] },
  )
  const lines = text.trimEnd().split('\n')
  assert.match(lines[0]!, /^yum \/el\/\s+2 packages, 3 index files\s+ok$/)
  assert.match(lines[1]!, /^apt \/debian\/ bookworm\s+2 packages, 3 index files\s+1 problem$/)
  assert.match(lines[2]!, /missing\s+\/debian\/dists\/bookworm\/main\/binary-amd64\/Packages {2}\(listed in Release/)
  assert.equal(lines[3], '      note: something skipped')
  assert.match(lines[4]!, /^2 package trees, 4 packages, 1 problem \(package sizes checked/)
  assert.match(formatReports([], { full: true, roots: ['/srv/a'] }), /no yum or apt trees found under \/srv\/a/)
})
