import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { NetworkInterfaceInfo } from 'node:os'
import { canonicalIp, hostAddresses, missingSans, parseSubjectAltName, toSan, wantedSans } from '../../src/tls/names.js'

test('canonical IPs and SAN text', () => {
  assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1')
  assert.equal(canonicalIp('FD00:0:0:0:0:0:0:2'), 'fd00::2')
  assert.equal(canonicalIp('fe80::1%eth0'), 'fe80::1')
  assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3')
  assert.equal(canonicalIp('outpost.local'), null)
  assert.equal(toSan('Outpost.Registry.Local.'), 'DNS:outpost.registry.local')
  assert.equal(toSan('*.apps.local'), 'DNS:*.apps.local')
  assert.equal(toSan('::1'), 'IP:::1')
  assert.equal(toSan('bad name'), null)
  assert.equal(toSan('-x'), null)
})

test("Node's subjectAltName text", () => {
  assert.deepEqual(
    parseSubjectAltName('DNS:a.local, DNS:vm, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:2'),
    ['DNS:a.local', 'DNS:vm', 'IP:127.0.0.1', 'IP:::1', 'IP:fd00::2'],
  )
  assert.deepEqual(parseSubjectAltName('email:a@b.c, DNS:x.local, URI:"https://a,b"'), ['DNS:x.local'])
  assert.deepEqual(parseSubjectAltName(undefined), [])
})

const iface = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, internal, family: address.includes(':') ? 'IPv6' : 'IPv4', netmask: '', mac: '', cidr: null }) as NetworkInterfaceInfo

test('host addresses: not loopback, not link-local', () => {
  const got = hostAddresses({
    lo: [iface('127.0.0.1', true), iface('::1', true)],
    eth0: [iface('192.0.2.2'), iface('fd00::2'), iface('fe80::fc:ff:fe00:1')],
    veth1: [iface('fe80::1')],
    cni0: [iface('10.244.0.1'), iface('169.254.1.1')],
  })
  assert.deepEqual(got, ['192.0.2.2', 'fd00::2', '10.244.0.1'])
})

test('wanted SANs: domains first, host, loopback, addresses, extras; no duplicates', () => {
  const sans = wantedSans({
    domains: ['outpost.registry.local', 'registry.k8s.local'],
    hostname: 'boot1.example.com',
    addresses: ['192.0.2.2', 'fd00::2', '127.0.0.1'],
    extra: ['mirror.local', '10.0.0.9', 'OUTPOST.registry.local'],
  })
  assert.deepEqual(sans, [
    'DNS:outpost.registry.local',
    'DNS:registry.k8s.local',
    'DNS:boot1.example.com',
    'DNS:boot1',
    'DNS:localhost',
    'IP:127.0.0.1',
    'IP:::1',
    'IP:192.0.2.2',
    'IP:fd00::2',
    'DNS:mirror.local',
    'IP:10.0.0.9',
  ])
  assert.deepEqual(missingSans(sans.slice(1), sans), ['DNS:outpost.registry.local'])
  assert.deepEqual(missingSans(sans, sans.slice(2)), [])
})
