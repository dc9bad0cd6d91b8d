/** Which configuration changes a reload applies, and what it says about those that need a restart. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../src/server/config.js'
import { CONFIG_KEYS } from '../../src/server/config-keys.js'
import { configChanges, restartNeeded, restartReason } from '../../src/server/reload.js'

const config = (flags: Record<string, unknown>) =>
  loadConfig({ env: {}, noDefaultFile: true, flags: { data_dir: '/srv/outpost', ...flags } }).config

test('the changed keys, in schema order, with their values before and after', () => {
  const before = config({ files: { roots: ['/srv/a'] } })
  const after = config({ log_level: 'debug', files: { roots: ['/srv/a', '/b=/srv/b'] }, tls: { extra_sans: ['outpost.lan'] } })
  assert.deepEqual(configChanges(before, before), [])
  assert.deepEqual(configChanges(before, after), [
    { key: 'log_level', from: 'info', to: 'debug' },
    {
      key: 'files.roots',
      from: [{ prefix: '/', path: '/srv/a' }],
      to: [
        { prefix: '/', path: '/srv/a' },
        { prefix: '/b', path: '/srv/b' },
      ],
    },
    { key: 'tls.extra_sans', from: [], to: ['outpost.lan'] },
  ])
})

test('roots, mappings, log level and access, certificates, node thresholds apply; listeners, data_dir and a few more need a restart', () => {
  const live = CONFIG_KEYS.filter((k) => restartReason(k.name) === null).map((k) => k.name)
  assert.deepEqual(live, [
    'bundle',
    'allow_missing_roots',
    'log_level',
    'log.access',
    'registry.roots',
    'registry.oci_layouts',
    'registry.images_origin',
    'registry.mappings',
    'registry.domains',
    'registry.delete',
    'files.roots',
    'files.symlinks',
    'catalog.max_watches',
    'catalog.rescan_interval_s',
    'tls.cert',
    'tls.key',
    'tls.ca',
    'tls.extra_sans',
    'tls.backdate_hours',
    'tls.server_days',
    'tls.ca_days',
    'tls.renew_before_days',
    'nodes.offset_threshold_ms',
    'nodes.stale_after_s',
    'server.advertise',
    'server.sendfile',
    'requirements.images',
    'requirements.files',
    'requirements.packages',
    'requirements.platforms',
  ])
})

test('the refusal names each key, its values and the restart', () => {
  const before = config({ listen: { http: '127.0.0.1:8080', https: '[::1]:8443' } })
  const after = config({ listen: { http: '0.0.0.0:80', https: 'off' }, log_level: 'warn' })
  assert.equal(
    restartNeeded(configChanges(before, after)),
    'listen.http changed from 127.0.0.1:8080 to 0.0.0.0:80: a listener address change needs a restart; ' +
      'listen.https changed from [::1]:8443 to off: a listener address change needs a restart (systemctl restart outpost)',
  )
  assert.equal(
    restartNeeded(configChanges(before, config({ listen: { http: '127.0.0.1:8080', https: '[::1]:8443' }, log_level: 'warn' }))),
    null,
  )
})
