/** Check-in validation, offset maths, the nodes table, and the kubespray inventory. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse as parseYaml } from 'yaml'
import { openDb } from '../../src/catalog/db.js'
import { checkinOffset, parseCheckin, groupsOf } from '../../src/nodes/checkin.js'
import { NodeStore, toReport, type NodeRecord } from '../../src/nodes/store.js'
import { flagsOf, formatOffset, nodesView, renderInventoryIni, renderInventoryYaml, renderNodesText } from '../../src/nodes/inventory.js'

const EXAMPLE = {
  hostname: 'node-1',
  machineId: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  addresses: ['10.0.0.11'],
  os: { id: 'debian', version: '12' },
  arch: 'amd64',
  kernel: '6.1.0',
  runtime: { name: 'containerd', version: '1.6.20' },
  clockMs: 1763900000000,
  ntpOffsetMs: 3.2,
  labels: { role: 'kube_control_plane' },
}

const T = { offsetMs: 500, staleAfterS: 3600 }
const NOW = Date.UTC(2025, 10, 23, 12, 0, 0)

const parsed = (body: unknown) => {
  const r = parseCheckin(body)
  assert.ok(r.ok, JSON.stringify(r))
  return r.value
}
const issues = (body: unknown) => {
  const r = parseCheckin(body)
  assert.ok(!r.ok, 'expected the check-in to be refused')
  return r.issues
}

test('the example check-in validates; unknown fields are dropped, null is absent', () => {
  const v = parsed({ ...EXAMPLE, futureField: { x: 1 }, os: { ...EXAMPLE.os, codename: 'bookworm' } })
  assert.equal(v.hostname, 'node-1')
  assert.ok(!('futureField' in v))
  assert.deepEqual(v.os, { id: 'debian', version: '12' })
  const minimal = toReport(parsed({ hostname: 'Node-2.Example.COM', arch: null, os: null, labels: null }))
  assert.deepEqual(minimal, { hostname: 'node-2.example.com', addresses: [], labels: {} })
  // `ip -o addr` style prefixes are stripped.
  assert.deepEqual(parsed({ hostname: 'a', addresses: ['10.0.0.11/24', 'fe80::1/64'] }).addresses, ['10.0.0.11', 'fe80::1'])
})

test('refused check-ins name the problem', () => {
  assert.deepEqual(issues({}), [{ path: 'hostname', message: 'hostname is required' }])
  assert.match(issues({ hostname: 'bad_name' })[0]!.message, /hostname must be a DNS host name/)
  assert.match(issues({ hostname: '' })[0]!.message, /hostname must be a DNS host name/)
  assert.match(issues({ hostname: `${'a'.repeat(64)}.b` })[0]!.message, /DNS host name/)
  assert.match(issues({ hostname: 'x'.repeat(254) })[0]!.message, /DNS host name/)
  assert.deepEqual(issues({ hostname: 42 }), [{ path: 'hostname', message: 'hostname must be a string' }])
  assert.deepEqual(issues({ hostname: 'a', clockMs: '1763900000000' }), [{ path: 'clockMs', message: 'clockMs must be a number' }])
  assert.deepEqual(issues({ hostname: 'a', addresses: ['10.0.0.1', 'nope'] }), [{ path: 'addresses[1]', message: 'not an IP address' }])
  assert.equal(issues({ hostname: 'a', addresses: '10.0.0.1' })[0]!.path, 'addresses')
  assert.equal(issues({ hostname: 'a', labels: { role: 'kube-master' } })[0]!.path, 'labels.role')
  assert.equal(issues({ hostname: 'a', labels: { 'bad key!': 'x' } })[0]!.path, 'labels.bad key!')
  assert.equal(issues({ hostname: 'a', kernel: 'x\ny' })[0]!.path, 'kernel')
  assert.match(issues([EXAMPLE])[0]!.message, /must be a JSON object, not an array/)
  assert.match(issues('node-1')[0]!.message, /not string/)
})

test('groups from labels', () => {
  assert.deepEqual(groupsOf({ role: 'kube_control_plane, etcd', groups: 'etcd gpu' }), ['kube_control_plane', 'etcd', 'gpu'])
  assert.deepEqual(groupsOf({ disk: 'ssd' }), [])
})

test('offset from a check-in: node ahead is positive; second-resolution clocks carry ±500 ms', () => {
  assert.deepEqual(checkinOffset(1_000_250, 1_000_000), { offsetMs: 250, uncertaintyMs: 0 })
  assert.deepEqual(checkinOffset(999_000, 1_000_000, 1), { offsetMs: -999.5, uncertaintyMs: 0.5 })
  // `date +%s` read 999 s while the true time was 999.7 s: midpoint estimate.
  assert.deepEqual(checkinOffset(999_000, 999_700, 1000), { offsetMs: -200, uncertaintyMs: 500 })
})

const record = (over: Partial<NodeRecord> & { report: NodeRecord['report'] }): NodeRecord => ({
  remoteAddress: '10.0.0.99',
  firstSeenMs: NOW - 60_000,
  lastSeenMs: NOW - 5_000,
  checkins: 1,
  clockOffsetMs: 3,
  clockUncertaintyMs: 0,
  ntpOffsetMs: null,
  ...over,
})

const NODES: NodeRecord[] = [
  record({ report: toReport(parsed(EXAMPLE)), ntpOffsetMs: 3.2 }),
  record({
    report: toReport(parsed({ hostname: 'node-2', addresses: ['10.0.0.12', '172.17.0.1'], labels: { disk: 'ssd' } })),
    clockOffsetMs: -1200,
  }),
  record({
    report: toReport(parsed({ hostname: 'node-3' })),
    remoteAddress: '::ffff:10.0.0.13',
    lastSeenMs: NOW - 7200_000,
    clockOffsetMs: 700,
    clockUncertaintyMs: 500,
  }),
]

test('flags: skew beyond the threshold (net of uncertainty, or by NTP), stale after the window', () => {
  assert.deepEqual(flagsOf(NODES[0]!, NOW, T), [])
  assert.deepEqual(flagsOf(NODES[1]!, NOW, T), ['clock-skew'])
  // 700 ± 500 might be 200: not flagged for skew, but stale.
  assert.deepEqual(flagsOf(NODES[2]!, NOW, T), ['stale'])
  assert.deepEqual(flagsOf({ ...NODES[0]!, ntpOffsetMs: -501 }, NOW, T), ['clock-skew'])
  assert.deepEqual(flagsOf({ ...NODES[0]!, clockOffsetMs: null }, NOW, T), [])
})

test('GET /nodes view and plain-text table', () => {
  const view = nodesView(NODES, NOW, T)
  assert.equal(view.count, 3)
  assert.equal(view.flagged, 2)
  assert.equal(view.nodes[0]!.ansibleHost, '10.0.0.11')
  assert.deepEqual(view.nodes[0]!.groups, ['kube_control_plane'])
  assert.equal(view.nodes[2]!.ansibleHost, '10.0.0.13')
  assert.equal(view.nodes[1]!.secondsSinceSeen, 5)
  const text = renderNodesText(view)
  const lines = text.trimEnd().split('\n')
  assert.match(lines[0]!, /^# 3 node\(s\), 2 flagged; .* SKEW = clock off by more than 500 ms, STALE = no check-in for 3600 s\.$/)
  assert.match(lines[1]!, /^HOSTNAME\s+ADDRESS\s+OS\s+ARCH\s+RUNTIME\s+LAST SEEN\s+CLOCK\s+NTP\s+GROUPS\s+FLAGS$/)
  assert.match(
    lines[2]!,
    /^node-1\s+10\.0\.0\.11\s+debian 12\s+amd64\s+containerd 1\.6\.20\s+5s ago\s+\+3\.0 ms\s+\+3\.2 ms\s+kube_control_plane$/,
  )
  assert.match(lines[3]!, /^node-2\s+10\.0\.0\.12\s+-\s+-\s+-\s+5s ago\s+-1\.20 s\s+-\s+kube_node\s+SKEW$/)
  assert.match(lines[4]!, /^node-3\s+10\.0\.0\.13\s.*2h ago\s+\+700 ms ±500 ms\s+-\s+kube_node\s+STALE$/)
  assert.match(renderNodesText(nodesView([], NOW, T)), /No node has checked in yet/)
  assert.equal(formatOffset(-12_345), '-12 s')
  assert.equal(formatOffset(0.04), '+0.0 ms')
})

test('inventory.ini for kubespray', () => {
  const ini = renderInventoryIni(NODES, NOW, T)
  const body = ini
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
  assert.equal(
    body,
    [
      '',
      '[all]',
      'node-1 ansible_host=10.0.0.11 ip=10.0.0.11',
      `node-2 ansible_host=10.0.0.12 ip=10.0.0.12 node_labels='{"disk":"ssd"}'`,
      'node-3 ansible_host=10.0.0.13 ip=10.0.0.13',
      '',
      '[kube_control_plane]',
      'node-1',
      '',
      '[etcd:children]',
      'kube_control_plane',
      '',
      '[kube_node]',
      'node-2',
      'node-3',
      '',
      '[calico_rr]',
      '',
      '[k8s_cluster:children]',
      'kube_control_plane',
      'kube_node',
      'calico_rr',
      '',
    ].join('\n'),
  )
  assert.match(ini, /^# node-2: clock-skew$/m)
  assert.match(ini, /^# node-3: stale$/m)
})

test('inventory.ini: explicit etcd and custom groups; no nodes', () => {
  const nodes = [
    record({ report: toReport(parsed({ hostname: 'cp', addresses: ['10.0.0.1'], labels: { role: 'kube_control_plane,kube_node' } })) }),
    record({ report: toReport(parsed({ hostname: 'db', addresses: ['10.0.0.2'], labels: { roles: 'etcd gpu' } })) }),
  ]
  const ini = renderInventoryIni(nodes, NOW, T)
  assert.match(ini, /^\[etcd\]\ndb$/m)
  assert.match(ini, /^\[kube_node\]\ncp$/m)
  assert.match(ini, /^\[gpu\]\ndb$/m)
  assert.ok(!ini.includes('[etcd:children]'))
  const empty = renderInventoryIni([], NOW, T)
  assert.match(empty, /^\[all\]\n\n\[kube_control_plane\]\n\n\[etcd\]\n/m)
})

test('inventory.yaml for kubespray', () => {
  const text = renderInventoryYaml(NODES, NOW, T)
  assert.match(text, /^# Kubespray inventory/)
  const doc = parseYaml(text)
  assert.deepEqual(doc, {
    all: {
      hosts: {
        'node-1': { ansible_host: '10.0.0.11', ip: '10.0.0.11' },
        'node-2': { ansible_host: '10.0.0.12', ip: '10.0.0.12', node_labels: { disk: 'ssd' } },
        'node-3': { ansible_host: '10.0.0.13', ip: '10.0.0.13' },
      },
      children: {
        kube_control_plane: { hosts: { 'node-1': null } },
        etcd: { children: { kube_control_plane: null } },
        kube_node: { hosts: { 'node-2': null, 'node-3': null } },
        calico_rr: { hosts: {} },
        k8s_cluster: { children: { kube_control_plane: null, kube_node: null, calico_rr: null } },
      },
    },
  })
})

test('the nodes table: insert, update, first-seen kept', () => {
  const db = openDb(':memory:')
  try {
    const store = new NodeStore(db)
    const report = toReport(parsed(EXAMPLE))
    const first = store.record(report, { receivedMs: 1000.4, remoteAddress: '10.0.0.11', offset: { offsetMs: 12.5, uncertaintyMs: 0 } })
    assert.equal(first.checkins, 1)
    assert.equal(first.firstSeenMs, 1000)
    assert.equal(first.ntpOffsetMs, 3.2)
    const second = store.record(
      { ...report, ntpOffsetMs: undefined, labels: {} },
      { receivedMs: 5000, remoteAddress: '10.0.0.11', offset: null },
    )
    assert.equal(second.checkins, 2)
    assert.equal(second.firstSeenMs, 1000)
    assert.equal(second.lastSeenMs, 5000)
    assert.equal(second.clockOffsetMs, null)
    assert.equal(second.ntpOffsetMs, null)
    assert.deepEqual(second.report.labels, {})
    store.record(toReport(parsed({ hostname: 'a-node' })), { receivedMs: 6000, remoteAddress: null, offset: null })
    assert.deepEqual(
      store.list().map((n) => n.report.hostname),
      ['a-node', 'node-1'],
    )
    // The schema is applied once; a second store over the same database keeps the rows.
    assert.equal(new NodeStore(db).list().length, 2)
  } finally {
    db.close()
  }
})
