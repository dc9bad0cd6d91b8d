/**
 * packaging/install.sh and packaging/outpost (the release's bin/outpost), run under dash
 * against a stand-in release (a `node` that prints its arguments): what lands where under
 * --prefix, a second run, a changed config kept, checksums, --uninstall. The real release,
 * offline and with no Node on the machine, is test/e2e/release.test.ts.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join, relative } from 'node:path'
import { tempDir } from '../helpers/server.js'

const shellcheck = (file: string) => {
  const r = spawnSync('shellcheck', ['--shell=sh', '--severity=style', file], { encoding: 'utf8' })
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('shellcheck is not installed (apt-get install shellcheck; CI installs it in .ci/run)')
  }
  assert.equal(r.status, 0, `shellcheck ${file}:\n${r.stdout}${r.stderr}`)
}

test('shellcheck passes on install.sh and bin/outpost', () => {
  shellcheck('packaging/install.sh')
  shellcheck('packaging/outpost')
})

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? [p, ...walk(p)] : [p]
  })

/** An unpacked release with a stand-in Node, laid out as scripts/release.mjs lays it out. */
const fakeRelease = (dir: string, version = '9.8.7'): string => {
  const rel = join(dir, `outpost-${version}-linux-x64`)
  for (const d of ['bin', 'node/bin', 'config', 'dist/cli']) mkdirSync(join(rel, d), { recursive: true })
  copyFileSync('packaging/outpost', join(rel, 'bin/outpost'))
  copyFileSync('packaging/install.sh', join(rel, 'install.sh'))
  for (const f of ['outpost.service', 'config.yaml', 'outpost.example.yaml']) copyFileSync(join('config', f), join(rel, 'config', f))
  // `outpost --version` prints the version; anything else prints the arguments Node was given.
  writeFileSync(
    join(rel, 'node/bin/node'),
    `#!/bin/sh\nfor a in "$@"; do [ "$a" != --version ] || { echo ${version}; exit 0; }; done\nprintf '%s\\n' "$@"\n`,
  )
  writeFileSync(join(rel, 'dist/cli/index.js'), '// stand-in\n')
  writeFileSync(join(rel, 'VERSION'), `${version}\n`)
  for (const f of ['bin/outpost', 'install.sh', 'node/bin/node']) chmodSync(join(rel, f), 0o755)
  const files = walk(rel)
    .filter((p) => !statSync(p).isDirectory())
    .map((p) => relative(rel, p))
    .sort()
  writeFileSync(
    join(rel, 'SHA256SUMS'),
    files
      .map(
        (f) =>
          `${createHash('sha256')
            .update(readFileSync(join(rel, f)))
            .digest('hex')}  ${f}\n`,
      )
      .join(''),
  )
  return rel
}

const dash = (script: string, args: string[]) => {
  const r = spawnSync('dash', [script, ...args], { encoding: 'utf8' })
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('dash is not installed (apt-get install dash)')
  return r
}

/** Every path under `dir`, relative, sorted (folders too). */
const tree = (dir: string): string[] =>
  walk(dir)
    .map((p) => relative(dir, p))
    .sort()

test('install.sh --prefix writes the release, the link, the config and the unit under the prefix, and says so', (t) => {
  const dir = tempDir('outpost-install-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const rel = fakeRelease(dir)
  const prefix = join(dir, 'root')
  const r = dash(join(rel, 'install.sh'), ['--prefix', prefix])
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /checked\s+every file against SHA256SUMS/)
  assert.match(r.stdout, new RegExp(`installed\\s+${prefix}/opt/outpost\\n`))
  assert.match(r.stdout, new RegExp(`linked\\s+${prefix}/usr/local/bin/outpost -> ${prefix}/opt/outpost/bin/outpost`))
  assert.match(r.stdout, new RegExp(`wrote\\s+${prefix}/etc/outpost/config.yaml`))
  assert.match(r.stdout, new RegExp(`wrote\\s+${prefix}/etc/systemd/system/outpost.service`))
  assert.match(r.stdout, /Next:/)
  // Every absolute path it names is the release it reads or under the prefix.
  for (const p of r.stdout.match(/(?<=\s)\/[^\s:;,)]+/g) ?? []) {
    assert.ok(p === prefix || p.startsWith(`${prefix}/`) || p === rel || p.startsWith(`${rel}/`), `${p} is outside the prefix`)
  }

  assert.equal(readFileSync(join(prefix, 'etc/outpost/config.yaml'), 'utf8'), readFileSync('config/config.yaml', 'utf8'))
  assert.equal(readFileSync(join(prefix, 'etc/systemd/system/outpost.service'), 'utf8'), readFileSync('config/outpost.service', 'utf8'))
  assert.equal(readlinkSync(join(prefix, 'usr/local/bin/outpost')), join(prefix, 'opt/outpost/bin/outpost'))
  assert.ok(tree(prefix).every((p) => /^(etc|opt|usr)(\/|$)/.test(p)))

  // bin/outpost, reached through the link, runs the bundled Node on the bundled code with the unit's flags.
  const ran = spawnSync(join(prefix, 'usr/local/bin/outpost'), ['serve', '--config', 'x y.yaml'], { encoding: 'utf8' })
  assert.equal(ran.status, 0, ran.stderr)
  assert.deepEqual(ran.stdout.trim().split('\n'), [
    '--max-semi-space-size=4',
    join(prefix, 'opt/outpost/dist/cli/index.js'),
    'serve',
    '--config',
    'x y.yaml',
  ])
})

test('install.sh a second time replaces the release and keeps a changed config; --uninstall keeps only the config', (t) => {
  const dir = tempDir('outpost-install-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const prefix = join(dir, 'root')
  assert.equal(dash(join(fakeRelease(join(dir, 'a'), '1.0.0'), 'install.sh'), ['--prefix', prefix]).status, 0)
  const config = join(prefix, 'etc/outpost/config.yaml')
  writeFileSync(config, 'bundle: /srv/bundle\n')
  const before = tree(prefix)

  const again = dash(join(fakeRelease(join(dir, 'b'), '1.1.0'), 'install.sh'), [`--prefix=${prefix}`])
  assert.equal(again.status, 0, again.stdout + again.stderr)
  assert.match(again.stdout, new RegExp(`replaced\\s+${prefix}/opt/outpost \\(outpost 1\\.0\\.0, now 1\\.1\\.0\\)`))
  assert.match(again.stdout, new RegExp(`kept\\s+${config} \\(not changed\\)`))
  assert.equal(readFileSync(config, 'utf8'), 'bundle: /srv/bundle\n')
  assert.equal(readFileSync(join(prefix, 'opt/outpost/VERSION'), 'utf8'), '1.1.0\n')
  assert.deepEqual(tree(prefix), before, 'the same files, nothing left over from the swap')

  // The installed copy removes itself.
  const gone = dash(join(prefix, 'opt/outpost/install.sh'), ['--uninstall', '--prefix', prefix])
  assert.equal(gone.status, 0, gone.stdout + gone.stderr)
  assert.match(gone.stdout, new RegExp(`removed\\s+${prefix}/opt/outpost \\(outpost 1\\.1\\.0\\)`))
  assert.match(gone.stdout, new RegExp(`kept\\s+${config}`))
  assert.deepEqual(tree(prefix), ['etc', 'etc/outpost', 'etc/outpost/config.yaml'])
  assert.equal(readFileSync(config, 'utf8'), 'bundle: /srv/bundle\n')

  const twice = dash(join(dir, 'a/outpost-1.0.0-linux-x64/install.sh'), ['--uninstall', '--prefix', prefix])
  assert.equal(twice.status, 0)
  assert.match(twice.stdout, /nothing\s+Outpost is not installed/)
})

test('install.sh refuses a release whose files do not match SHA256SUMS, and writes nothing', (t) => {
  const dir = tempDir('outpost-install-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const rel = fakeRelease(dir)
  writeFileSync(join(rel, 'dist/cli/index.js'), '// changed\n')
  const prefix = join(dir, 'root')
  const r = dash(join(rel, 'install.sh'), ['--prefix', prefix])
  assert.equal(r.status, 1)
  assert.match(r.stderr, /dist\/cli\/index\.js: FAILED/)
  assert.match(r.stderr, /do not match its SHA256SUMS: unpack the release again/)
  assert.deepEqual(tree(prefix), [])
})

test('install.sh leaves alone what is not its own', (t) => {
  const dir = tempDir('outpost-install-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const rel = fakeRelease(dir)
  const prefix = join(dir, 'root')
  mkdirSync(join(prefix, 'opt/outpost'), { recursive: true })
  writeFileSync(join(prefix, 'opt/outpost/notes.txt'), 'mine\n')
  const r = dash(join(rel, 'install.sh'), ['--prefix', prefix])
  assert.equal(r.status, 1)
  assert.match(r.stderr, /opt\/outpost exists and does not hold an Outpost release: move it away first/)
  const u = dash(join(rel, 'install.sh'), ['--uninstall', '--prefix', prefix])
  assert.equal(u.status, 1)
  assert.match(u.stderr, /does not hold an Outpost release: not removing it/)
  assert.ok(existsSync(join(prefix, 'opt/outpost/notes.txt')))

  const bad = dash(join(rel, 'install.sh'), ['--frobnicate'])
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /usage: install\.sh \[--prefix DIR\] \[--uninstall\]/)
  assert.match(bad.stderr, /unknown argument --frobnicate/)
})
