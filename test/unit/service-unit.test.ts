/**
 * config/outpost.service and config/config.yaml (the default /etc/outpost/config.yaml the
 * release installs): ports come from the config file, a configuration error fails once,
 * the unit runs the release's own Node, and `systemd-analyze verify` accepts the unit.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkConfigFile, loadConfig } from '../../src/server/config.js'
import { tempDir } from '../helpers/server.js'
import { which } from '../helpers/tools.js'

const UNIT = 'config/outpost.service'
const EXEC = '/opt/outpost/bin/outpost'
const unitText = readFileSync(UNIT, 'utf8')

/** Every `Key=value` of a section, in order. */
const section = (name: string): [string, string][] => {
  const lines = unitText.split('\n')
  const start = lines.indexOf(`[${name}]`)
  assert.ok(start >= 0, `[${name}] in ${UNIT}`)
  const out: [string, string][] = []
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('[')) break
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m) out.push([m[1], m[2]])
  }
  return out
}
const service = new Map(section('Service'))

test('the unit runs the release with ports from the config file, not from flags', () => {
  assert.equal(service.get('ExecStart'), `${EXEC} serve --config /etc/outpost/config.yaml`)
  assert.doesNotMatch(unitText, /^ExecStart=.*--(http|https|ntp|push)\b/m)
  assert.doesNotMatch(unitText, /^ExecStart=\/usr\/bin\/node/m)
})

test('a configuration error (exit 2) stops the unit instead of restarting it', () => {
  assert.equal(service.get('Restart'), 'on-failure')
  assert.equal(service.get('RestartPreventExitStatus'), '2')
})

test('the unit keeps its sandbox', () => {
  const expected: Record<string, string> = {
    DynamicUser: 'yes',
    StateDirectory: 'outpost',
    ConfigurationDirectory: 'outpost',
    AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
    CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'read-only',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectControlGroups: 'yes',
    RestrictNamespaces: 'yes',
    RestrictSUIDSGID: 'yes',
    SystemCallFilter: '@system-service',
    UMask: '0077',
  }
  for (const [key, value] of Object.entries(expected)) assert.equal(service.get(key), value, key)
  assert.equal(service.get('ExecReload'), '/bin/kill -HUP $MAINPID')
  assert.deepEqual(section('Install'), [['WantedBy', 'multi-user.target']])
})

const analyze = which('systemd-analyze')
test(
  'systemd-analyze verify accepts the unit',
  { skip: analyze ? false : 'systemd-analyze is not installed (Debian package systemd): the unit is not verified' },
  (t) => {
    // verify checks that ExecStart is an executable file: a stand-in takes the place of
    // /opt/outpost/bin/outpost, every other line is the unit as shipped.
    const dir = tempDir('outpost-unit-')
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const stand = join(dir, 'opt/outpost/bin/outpost')
    mkdirSync(join(dir, 'opt/outpost/bin'), { recursive: true })
    writeFileSync(stand, '#!/bin/sh\n')
    chmodSync(stand, 0o755)
    const copy = join(dir, 'outpost.service')
    writeFileSync(copy, unitText.replaceAll(EXEC, stand))
    const r = spawnSync(analyze!, ['verify', copy], { encoding: 'utf8' })
    assert.equal(r.status, 0, `systemd-analyze verify:\n${r.stdout}${r.stderr}`)
    assert.equal(r.stderr.trim(), '', 'systemd-analyze verify printed warnings')
  },
)

test('the default /etc/outpost/config.yaml binds :80, :443 and :123, and validates', () => {
  const file = 'config/config.yaml'
  checkConfigFile(file)
  const { config } = loadConfig({ file, env: {} })
  assert.deepEqual(config.listen.http, { host: '0.0.0.0', port: 80 })
  assert.deepEqual(config.listen.https, { host: '0.0.0.0', port: 443 })
  assert.deepEqual(config.listen.ntp, { host: '0.0.0.0', port: 123 })
  assert.equal(config.data_dir, '/var/lib/outpost')
})

test('a hand run without a config file keeps the unprivileged ports', () => {
  const { config } = loadConfig({ env: {}, noDefaultFile: true })
  assert.equal(config.listen.http?.port, 8080)
  assert.equal(config.listen.https?.port, 8443)
})
