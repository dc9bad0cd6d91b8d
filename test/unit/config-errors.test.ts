/** Config errors in words: the nearest known key for a typo, the line of a key in the file, values described. */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { editDistance, suggestKeys, suggestionText, yamlLocator } from '../../src/server/config-errors.js'
import { ConfigError, loadConfig } from '../../src/server/config.js'

const tmp = (t: TestContext): string => {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-config-errors-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The message of the ConfigError that loading `yaml` as a file throws. */
const fileError = (t: TestContext, yaml: string): { file: string; message: string } => {
  const file = join(tmp(t), 'outpost.yaml')
  writeFileSync(file, yaml)
  try {
    loadConfig({ file, env: {} })
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err))
    return { file, message: err.message }
  }
  assert.fail('the config was accepted')
}

test('edit distance counts insertions, deletions, substitutions and swaps', () => {
  assert.equal(editDistance('roots', 'roots'), 0)
  assert.equal(editDistance('rots', 'roots'), 1)
  assert.equal(editDistance('htpp', 'http'), 1)
  assert.equal(editDistance('htps', 'https'), 1)
  assert.equal(editDistance('push_rooot', 'push_root'), 1)
  assert.equal(editDistance('', 'abc'), 3)
  assert.equal(editDistance('kitten', 'sitting'), 3)
})

test('the nearest known key: a sibling, the same name elsewhere, a path written in one piece', () => {
  assert.deepEqual(suggestKeys(['registry'], 'rots'), ['registry.roots'])
  assert.deepEqual(suggestKeys(['registry'], 'push_rooot'), ['registry.push_root'])
  assert.deepEqual(suggestKeys(['listen'], 'htp'), ['listen.http'])
  assert.deepEqual(suggestKeys(['tls'], 'server-days'), ['tls.server_days'])
  assert.deepEqual(suggestKeys([], 'data_dri'), ['data_dir'])
  assert.deepEqual(suggestKeys([], 'http'), ['listen.http'])
  assert.deepEqual(suggestKeys([], 'htpasswd'), ['registry.auth.htpasswd'])
  assert.deepEqual(suggestKeys([], 'roots'), ['registry.roots', 'files.roots'])
  assert.deepEqual(suggestKeys([], 'listen_http'), ['listen.http'])
  assert.deepEqual(suggestKeys(['registry'], 'colour'), [])
  assert.equal(suggestionText(['registry'], 'rots'), ' (did you mean registry.roots?)')
  assert.equal(suggestionText([], 'roots'), ' (did you mean registry.roots or files.roots?)')
  assert.equal(suggestionText(['nodes'], 'zzzzzz'), '')
})

test('the line of a key, of a list entry, and of the deepest part present', () => {
  const lineOf = yamlLocator(
    ['# comment', 'registry:', '  roots:', '    - /a', '    - /b', '  rots: []', 'tls:', '  server_days: many', ''].join('\n'),
  )
  assert.equal(lineOf(['registry']), 2)
  assert.equal(lineOf(['registry', 'roots']), 3)
  assert.equal(lineOf(['registry', 'roots', 1]), 5)
  assert.equal(lineOf(['registry', 'rots']), 6)
  assert.equal(lineOf(['tls', 'server_days']), 8)
  assert.equal(lineOf(['tls', 'ca_days']), 7, 'a key the file lacks: its section')
  assert.equal(lineOf(['nodes', 'stale_after_s']), null)
  assert.equal(yamlLocator('')(['a']), null)
})

test('a file error names the file, the line, the key, and says what is expected in words', (t) => {
  const { file, message } = fileError(
    t,
    ['tls:', '  server_days: many', '  ca_days: 1', 'registry:', '  rots: []', '  delete: 3', 'listen:', '  http: 8080', ''].join('\n'),
  )
  assert.deepEqual(message.split('\n'), [
    `${file}:2: tls.server_days: expected a whole number of days, got "many"`,
    `${file}:3: tls.ca_days: expected a whole number of days from 2 to 36500, got 1`,
    `${file}:5: registry: unknown key(s) "rots" (did you mean registry.roots?)`,
    `${file}:6: registry.delete: expected true or false, got 3`,
    `${file}:8: listen.http: expected ADDR:PORT, [IPv6]:PORT, :PORT or off, got 8080 (for port 8080 on every address write ":8080")`,
  ])
})

test('more values in words: choices, lists, empty paths, fields of a list entry, YAML syntax', (t) => {
  assert.match(
    fileError(t, 'log_level: loud\n').message,
    /:1: log_level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"$/,
  )
  assert.match(
    fileError(t, 'registry:\n  roots: /srv/registry\n').message,
    /:2: registry\.roots: expected a list \(in YAML: \[a, b\], or one "- item" per line\), got "\/srv\/registry"$/,
  )
  assert.match(fileError(t, 'files:\n  roots:\n    - ""\n').message, /:3: files\.roots\[0\]: expected a path, got an empty value$/)
  assert.match(
    fileError(t, 'files:\n  roots:\n    - {path: /x, prefx: /a}\n').message,
    /:3: files\.roots\[0\]: unknown key\(s\) "prefx" \(did you mean "prefix"\?\)$/,
  )
  assert.match(fileError(t, 'registry:\n  domains: []\n').message, /:2: registry\.domains: expected at least 1 entry, got none$/)
  assert.match(fileError(t, 'ntp:\n  stratum: 16\n').message, /:2: ntp\.stratum: expected a whole number from 1 to 15, got 16$/)
  assert.match(
    fileError(t, 'tls:\n  extra_sans: ["a b"]\n').message,
    /:2: tls\.extra_sans\[0\]: must be a DNS name or an IP address, got "a b"$/,
  )
  assert.match(fileError(t, 'a: [1,\nb: 2\n').message, /outpost\.yaml:2: not valid YAML: .* \(column 1\)$/)
  assert.match(
    fileError(t, '- a\n- b\n').message,
    /outpost\.yaml:1: the top level must be a mapping of keys \(key: value lines\), not a list$/,
  )
  // A rule between keys points at the line of the key it names, or of its section when the key is absent.
  assert.match(
    fileError(t, 'data_dir: /x\ntls:\n  cert: /a.crt\n').message,
    /outpost\.yaml:2: tls\.key: tls\.cert and tls\.key go together$/,
  )
  assert.match(
    fileError(t, 'tls:\n  server_days: 40\n  renew_before_days: 50\n').message,
    /outpost\.yaml:3: tls\.renew_before_days: must be less/,
  )
})

test('environment and flag errors name the variable or the flag; a misspelt variable gets a suggestion', () => {
  assert.throws(
    () => loadConfig({ env: { OUTPOST_TLS_SERVER_DAYS: 'lots' }, noDefaultFile: true }),
    (e: Error) => e.message === 'environment: tls.server_days: expected a whole number of days, got "lots" (from OUTPOST_TLS_SERVER_DAYS)',
  )
  assert.throws(
    () => loadConfig({ env: {}, noDefaultFile: true, flags: { listen: { http: 'nope' } } }),
    (e: Error) => e.message === 'command line: listen.http: "nope" is not ADDR:PORT, [IPv6]:PORT, :PORT or off (from --http)',
  )
  const { warnings } = loadConfig({ env: { OUTPOST_LISTEN_HTPS: ':1', OUTPOST_HTTP: ':2', OUTPOST_ZZZ: '1' }, noDefaultFile: true })
  assert.deepEqual(warnings, [
    'environment: OUTPOST_LISTEN_HTPS is not a known setting and is ignored (did you mean OUTPOST_LISTEN_HTTPS?)',
    'environment: OUTPOST_HTTP is not a known setting and is ignored (did you mean OUTPOST_LISTEN_HTTP?)',
    'environment: OUTPOST_ZZZ is not a known setting and is ignored',
  ])
})
