/** The keys of writing: listen.push, registry.auth.htpasswd, push_root, delete, upload_ttl_s. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, isLoopbackHost, checkConfigFile, ConfigError } from '../../src/server/config.js'

const tmp = (t: { after: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-config-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const load = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => loadConfig({ env, noDefaultFile: true, flags }).config

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])
    assert.equal(isLoopbackHost(h), true, h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::2', '1::1', '::ffff:10.0.0.1', 'outpost.local', 'localhost.example'])
    assert.equal(isLoopbackHost(h), false, h)
})

test('defaults: push on 127.0.0.1:5000, no htpasswd, no delete, push_root under data_dir, uploads kept a day', () => {
  const config = load({ data_dir: '/srv/outpost' })
  assert.deepEqual(config.listen.push, { host: '127.0.0.1', port: 5000 })
  assert.equal(config.registry.auth.htpasswd, null)
  assert.equal(config.registry.delete, false)
  assert.equal(config.registry.push_root, '/srv/outpost/registry')
  assert.equal(config.registry.upload_ttl_s, 86_400)
})

test('listen.push on a non-loopback address needs registry.auth.htpasswd', () => {
  for (const push of ['0.0.0.0:5000', ':5000', '10.1.2.3:5000', '[::]:5000', 'outpost.local:5000']) {
    assert.throws(
      () => load({ listen: { push } }),
      (e: Error) =>
        e instanceof ConfigError &&
        /listen\.push: .* is not a loopback address/.test(e.message) &&
        /registry\.auth\.htpasswd/.test(e.message),
      push,
    )
  }
  assert.equal(
    load({ listen: { push: '0.0.0.0:5000' }, registry: { auth: { htpasswd: '/etc/outpost/htpasswd' } } }).listen.push?.host,
    '0.0.0.0',
  )
  for (const push of ['127.0.0.1:5000', '[::1]:5000', 'localhost:5000', 'off']) load({ listen: { push } })
  assert.throws(() => loadConfig({ env: { OUTPOST_LISTEN_PUSH: ':5000' }, noDefaultFile: true }), /listen\.push/)
})

test('paths are relative to the config file; env values are parsed', (t) => {
  const dir = tmp(t)
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'data_dir: data\nregistry:\n  push_root: pushed\n  auth:\n    htpasswd: htpasswd\n')
  const { config } = loadConfig({ file, env: {}, cwd: '/elsewhere' })
  assert.equal(config.registry.push_root, join(dir, 'pushed'))
  assert.equal(config.registry.auth.htpasswd, join(dir, 'htpasswd'))
})

test('push_root follows data_dir when unset; env sets every new key', (t) => {
  const dir = tmp(t)
  const file = join(dir, 'd.yaml')
  writeFileSync(file, 'data_dir: data\n')
  assert.equal(loadConfig({ file, env: {} }).config.registry.push_root, join(dir, 'data', 'registry'))
  const { config } = loadConfig({
    env: {
      OUTPOST_REGISTRY_DELETE: 'true',
      OUTPOST_REGISTRY_PUSH_ROOT: 'p',
      OUTPOST_REGISTRY_UPLOAD_TTL_S: '3600',
      OUTPOST_REGISTRY_AUTH_HTPASSWD: 'h',
    },
    noDefaultFile: true,
    cwd: '/work',
  })
  assert.equal(config.registry.delete, true)
  assert.equal(config.registry.push_root, '/work/p')
  assert.equal(config.registry.upload_ttl_s, 3600)
  assert.equal(config.registry.auth.htpasswd, '/work/h')
})

test('registry.delete takes true/false words; bad values name the key', () => {
  for (const [v, want] of [
    ['yes', true],
    ['1', true],
    ['On', true],
    ['false', false],
    ['no', false],
    ['0', false],
  ] as const) {
    assert.equal(loadConfig({ env: { OUTPOST_REGISTRY_DELETE: v }, noDefaultFile: true }).config.registry.delete, want, v)
  }
  assert.throws(
    () => loadConfig({ env: { OUTPOST_REGISTRY_DELETE: 'maybe' }, noDefaultFile: true }),
    /registry\.delete: "maybe" is not true or false/,
  )
  assert.throws(() => load({ registry: { upload_ttl_s: 5 } }), /registry\.upload_ttl_s/)
  assert.throws(() => load({ registry: { auth: { htpasswd: '' } } }), /registry\.auth\.htpasswd/)
  assert.throws(() => load({ registry: { auth: { user: 'x' } } }), /registry\.auth: unknown key\(s\) "user"/)
})

test('check-config reads the htpasswd file the config names (relative to the config file)', (t) => {
  const dir = tmp(t)
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'registry:\n  auth:\n    htpasswd: users\n')
  assert.throws(
    () => checkConfigFile(file),
    (e: Error) => e instanceof ConfigError && e.message.includes(`registry.auth.htpasswd: ${join(dir, 'users')}: cannot read`),
  )
  writeFileSync(join(dir, 'users'), 'alice:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=\n')
  assert.throws(
    () => checkConfigFile(file),
    (e: Error) => e instanceof ConfigError && e.message.includes(`${join(dir, 'users')}:1: user "alice": a SHA-1`),
  )
  writeFileSync(join(dir, 'users'), 'alice:$2y$05$OMbfTqK/sRUeiZF29KOtyO1.QugGuAeFv0m3xofvoQPAsWqo/DGUC\n')
  checkConfigFile(file)
})
