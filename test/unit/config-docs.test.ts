import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { README_TABLE_END, README_TABLE_START, renderExampleConfig, renderReadmeTable } from '../../src/server/config-docs.js'
import { CONFIG_KEYS } from '../../src/server/config-keys.js'
import { envLayer } from '../../src/server/config.js'

test("the README's config table is the one generated from the schema (npm run docs:config)", () => {
  const readme = readFileSync('README.md', 'utf8')
  const start = readme.indexOf(README_TABLE_START)
  const end = readme.indexOf(README_TABLE_END)
  assert.ok(start >= 0 && end > start, 'README.md has the config-table markers')
  assert.equal(readme.slice(start + README_TABLE_START.length + 1, end), renderReadmeTable())
})

test('the example config is the one generated from the schema (npm run docs:config)', () => {
  assert.equal(readFileSync('config/outpost.example.yaml', 'utf8'), renderExampleConfig())
})

test('every key has an environment variable, lists comma-separated', () => {
  const env = Object.fromEntries(CONFIG_KEYS.map((k) => [k.env, k.list ? 'a, b' : 'x']))
  const { tree, unknown } = envLayer(env)
  assert.deepEqual(unknown, [])
  for (const k of CONFIG_KEYS) {
    const value = k.path.reduce<unknown>((node, p) => (node as Record<string, unknown>)[p], tree)
    assert.deepEqual(value, k.list ? ['a', 'b'] : 'x', k.name)
  }
  assert.deepEqual(
    CONFIG_KEYS.filter((k) => k.list).map((k) => k.name),
    [
      'registry.roots',
      'registry.oci_layouts',
      'registry.images_origin',
      'registry.mappings',
      'registry.domains',
      'files.roots',
      'tls.extra_sans',
      'server.advertise',
      'requirements.images',
      'requirements.files',
      'requirements.packages',
      'requirements.platforms',
    ],
  )
})
