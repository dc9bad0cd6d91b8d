import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, parseListen, ConfigError } from '../../src/server/config.js'

const tmp = (t: { after: (fn: () => void) => void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-config-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('listen addresses', () => {
  assert.deepEqual(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 })
  assert.deepEqual(parseListen('[::1]:443'), { host: '::1', port: 443 })
  assert.deepEqual(parseListen(':5000'), { host: '0.0.0.0', port: 5000 })
  assert.equal(parseListen('off'), null)
  assert.equal(typeof parseListen('8080'), 'string')
  assert.equal(typeof parseListen('host:99999'), 'string')
})

test('defaults from DESIGN.md', () => {
  const { config } = loadConfig({ env: {}, noDefaultFile: true })
  assert.deepEqual(config.listen.http, { host: '0.0.0.0', port: 8080 })
  assert.deepEqual(config.listen.https, { host: '0.0.0.0', port: 8443 })
  assert.deepEqual(config.listen.push, { host: '127.0.0.1', port: 5000 })
  assert.deepEqual(config.listen.ntp, { host: '0.0.0.0', port: 123 })
  assert.equal(config.data_dir, '/var/lib/outpost')
  assert.deepEqual(config.registry.domains, ['outpost.registry.local'])
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.listen))
})

test('file, then env, then flags', (t) => {
  const dir = tmp(t)
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'data_dir: data\nlisten:\n  http: 127.0.0.1:1\n  https: 127.0.0.1:2\nregistry:\n  roots: [reg]\n')
  const { config } = loadConfig({
    file,
    env: { OUTPOST_LISTEN_HTTPS: '127.0.0.1:3', OUTPOST_LISTEN_PUSH: 'off', OUTPOST_REGISTRY_DOMAINS: 'a.local, b.local' },
    flags: { listen: { push: '127.0.0.1:4' } },
    cwd: '/somewhere',
  })
  assert.equal(config.data_dir, join(dir, 'data'), 'file paths are relative to the file')
  assert.deepEqual(config.registry.roots, [join(dir, 'reg')])
  assert.equal(config.listen.http?.port, 1)
  assert.equal(config.listen.https?.port, 3)
  assert.equal(config.listen.push?.port, 4)
  assert.deepEqual(config.registry.domains, ['a.local', 'b.local'])
  assert.equal(config.source, file)
})

test('an invalid key or value names the key and why', (t) => {
  const dir = tmp(t)
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'listen:\n  htp: 1\n')
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (e: Error) => e instanceof ConfigError && /listen: unknown key\(s\) "htp"/.test(e.message),
  )
  writeFileSync(file, 'listen:\n  http: nonsense\n')
  assert.throws(() => loadConfig({ file, env: {} }), /listen\.http: "nonsense" is not ADDR:PORT/)
  writeFileSync(file, 'log_level: loud\n')
  assert.throws(() => loadConfig({ file, env: {} }), /log_level:/)
  writeFileSync(file, 'registry:\n  mappings: ["nonsense"]\n')
  assert.throws(() => loadConfig({ file, env: {} }), /registry\.mappings\[0\]/)
  assert.throws(() => loadConfig({ env: { OUTPOST_LISTEN_HTTP: 'x' }, noDefaultFile: true }), /environment: listen\.http/)
  assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /cannot read config file/)
})

test('unknown OUTPOST_ variables are reported', () => {
  const { warnings } = loadConfig({ env: { OUTPOST_HTTP: '1' }, noDefaultFile: true })
  assert.match(warnings.join('\n'), /OUTPOST_HTTP is not a known setting/)
})

test('mappings and layouts accept the short string forms', () => {
  const { config } = loadConfig({
    env: {},
    noDefaultFile: true,
    cwd: '/base',
    flags: {
      registry: { mappings: ['registry.k8s.io/=library/'], oci_layouts: ['calico=layouts/calico', '/abs/x'] },
      files: { roots: ['/extra=more', 'files'] },
    },
  })
  assert.deepEqual(config.registry.mappings, [{ from: 'registry.k8s.io/', to: 'library/' }])
  assert.deepEqual(config.registry.oci_layouts, [{ name: 'calico', path: '/base/layouts/calico' }, { path: '/abs/x' }])
  assert.deepEqual(config.files.roots, [
    { prefix: '/extra', path: '/base/more' },
    { prefix: '/', path: '/base/files' },
  ])
})

test('every path key is resolved against the file, the others are not', (t) => {
  const dir = tmp(t)
  const file = join(dir, 'c.yaml')
  writeFileSync(
    file,
    [
      'bundle: b',
      'data_dir: d',
      'registry:',
      '  roots: [r]',
      '  images_origin: [o.yaml]',
      '  oci_layouts: [n=l, {path: l2}]',
      '  mappings: [a/=b/]',
      'files:',
      '  roots: [/p=f, {path: f2, prefix: /q}]',
      'tls:',
      '  cert: c.pem',
      '  key: k.pem',
      '  ca: ca.pem',
      '',
    ].join('\n'),
  )
  const { config } = loadConfig({ file, env: {}, cwd: '/elsewhere' })
  assert.equal(config.bundle, join(dir, 'b'))
  assert.equal(config.data_dir, join(dir, 'd'))
  assert.deepEqual(config.registry.roots, [join(dir, 'r')])
  assert.deepEqual(config.registry.images_origin, [join(dir, 'o.yaml')])
  assert.deepEqual(config.registry.oci_layouts, [{ name: 'n', path: join(dir, 'l') }, { path: join(dir, 'l2') }])
  assert.deepEqual(config.registry.mappings, [{ from: 'a/', to: 'b/' }])
  assert.deepEqual(config.files.roots, [
    { prefix: '/p', path: join(dir, 'f') },
    { prefix: '/q', path: join(dir, 'f2') },
  ])
  assert.deepEqual([config.tls.cert, config.tls.key, config.tls.ca], [join(dir, 'c.pem'), join(dir, 'k.pem'), join(dir, 'ca.pem')])
  const { config: fromEnv } = loadConfig({
    env: { OUTPOST_DATA_DIR: 'd', OUTPOST_REGISTRY_ROOTS: 'r1,/abs' },
    noDefaultFile: true,
    cwd: '/elsewhere',
  })
  assert.equal(fromEnv.data_dir, '/elsewhere/d')
  assert.deepEqual(fromEnv.registry.roots, ['/elsewhere/r1', '/abs'])
})
