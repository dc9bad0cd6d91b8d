import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { checkConfigFile, configSchema, loadConfig } from '../../src/server/config.js'

const FILE = 'config/outpost.example.yaml'

/** Leaf key paths of a parsed config object. */
const leaves = (obj: Record<string, unknown>, prefix = ''): string[] =>
  Object.entries(obj).flatMap(([k, v]) =>
    // A parsed listen address ({host, port}) is one key.
    v && typeof v === 'object' && !Array.isArray(v) && !('port' in v)
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [`${prefix}${k}`],
  )

test('the example config validates', () => {
  checkConfigFile(FILE)
})

test('the example config names every key, with the defaults', () => {
  const documented = leaves(parse(readFileSync(FILE, 'utf8')))
  const schemaKeys = leaves(configSchema.parse({}) as Record<string, unknown>)
  assert.deepEqual([...documented].sort(), [...schemaKeys].sort())
  const { config: fromFile } = loadConfig({ file: FILE, env: {} })
  const { config: defaults } = loadConfig({ env: {}, noDefaultFile: true })
  assert.deepEqual({ ...fromFile, source: null }, { ...defaults, source: null })
})
