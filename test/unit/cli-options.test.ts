import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Command } from 'commander'
import { buildProgram } from '../../src/cli/program.js'
import { FLAG_KEYS, flagLayer } from '../../src/cli/options.js'
import { CONFIG_KEYS } from '../../src/server/config-keys.js'
import { loadConfig } from '../../src/server/config.js'

const sub = (program: Command, ...path: string[]): Command =>
  path.reduce((cmd, name) => cmd.commands.find((c) => c.name() === name)!, program)

const longFlags = (cmd: Command): string[] => [...cmd.helpInformation().matchAll(/^ {2}(?:-[a-zA-Z], )?(--[a-z-]+)/gm)].map((m) => m[1]!)

test('each subcommand offers only the flags of the keys it reads', () => {
  const program = buildProgram()
  const all = ['--config', ...CONFIG_KEYS.filter((k) => k.flag).map((k) => `--${k.flag!.name}`), '--help']
  assert.deepEqual(longFlags(sub(program, 'serve')), all)
  assert.deepEqual(longFlags(sub(program, 'demo')), all)
  const layout = ['--config', '--bundle', '--registry-root', '--oci-layout', '--images-origin', '--files-root']
  assert.deepEqual(longFlags(sub(program, 'ls')), [...layout, '--help'])
  assert.deepEqual(
    longFlags(sub(program, 'verify')).sort(),
    [...layout, '--data-dir', '--repos', '--full', '--json', '--write-manifest', '--manifest', '--help'].sort(),
  )
  const certs = ['--config', '--data-dir', '--http', '--domain', '--tls-cert', '--tls-key', '--tls-ca', '--san']
  assert.deepEqual(longFlags(sub(program, 'certs')), ['--ca', ...certs, '--help'])
  assert.deepEqual(longFlags(sub(program, 'certs', 'rotate-ca')), [...certs, '--help'])
  assert.deepEqual(longFlags(sub(program, 'check-config')), ['--help'])
})

test('--push is offered and lands on listen.push', () => {
  const serve = sub(buildProgram(), 'serve')
  assert.match(serve.helpInformation(), /--push <addr:port\|off>/)
  serve.parseOptions(['--push', 'off', '--http', '127.0.0.1:1'])
  assert.deepEqual(flagLayer(serve.opts()), { listen: { push: 'off', http: '127.0.0.1:1' } })
})

test('every flag lands on its key; repeated flags make lists; flags win over env and file', () => {
  const serve = sub(buildProgram(), 'serve')
  const argv = ['--config', 'c.yaml']
  for (const name of FLAG_KEYS) {
    const k = CONFIG_KEYS.find((c) => c.name === name)!
    const value = k.choices ? k.choices[0]! : `v-${k.flag!.name}`
    argv.push(`--${k.flag!.name}`, value, ...(k.list ? [`--${k.flag!.name}`, `${value}-2`] : []))
  }
  serve.parseOptions(argv)
  const flags = serve.opts()
  assert.equal(flags.config, 'c.yaml')
  const tree = flagLayer(flags)
  for (const name of FLAG_KEYS) {
    const k = CONFIG_KEYS.find((c) => c.name === name)!
    const value = k.path.reduce<unknown>((node, p) => (node as Record<string, unknown>)[p], tree)
    const expected = k.choices ? k.choices[0] : `v-${k.flag!.name}`
    assert.deepEqual(value, k.list ? [expected, `${expected}-2`] : expected, name)
  }
  const { config } = loadConfig({
    env: { OUTPOST_LISTEN_HTTP: '127.0.0.1:2', OUTPOST_REGISTRY_DOMAINS: 'env.local' },
    noDefaultFile: true,
    flags: flagLayer({ http: '127.0.0.1:3', domain: ['a.local', 'b.local'] }),
  })
  assert.equal(config.listen.http?.port, 3)
  assert.deepEqual(config.registry.domains, ['a.local', 'b.local'])
})

test('a bad --log-level is refused with its choices', () => {
  const serve = sub(buildProgram(), 'serve')
  let message = ''
  serve.exitOverride().configureOutput({ writeErr: (s) => (message += s) })
  assert.throws(() => serve.parseOptions(['--log-level', 'loud']))
  assert.match(message, /argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\./)
})
