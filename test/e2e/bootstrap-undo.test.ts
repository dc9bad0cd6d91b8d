/**
 * bootstrap.sh on the files of real distributions (Debian 12, Ubuntu 22.04,
 * RHEL 9, CentOS 7), under --root, against a running Outpost with HTTPS, a
 * time service, package trees for each of them and a CA it used before:
 * chrony keeps the distribution's file (its pools commented out), the
 * distribution's repositories are disabled, copies of the earlier CA leave
 * the trust store whatever their name, localhost stays in /etc/hosts, a dry
 * run shows each file once, nothing checks in; a second run changes nothing,
 * and --undo gives back the tree byte for byte (modes and folders too).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTools, run, runOk } from '../helpers/tools.js'
import { writeAptTree, writeYumTree } from '../helpers/synthetic-trees.js'
import { layoutOf, snapshot, writeLayout, type LayoutName } from '../helpers/node-layouts.js'
import { createCa } from '../../src/tls/index.js'
import { certSha256, setupRouter, type SetupTree } from '../../src/nodes/setup/index.js'

const makeCa = async (name: string): Promise<string> =>
  (await createCa({ commonName: name, days: 30, backdateHours: 1, now: new Date() })).cert

const env = (): NodeJS.ProcessEnv => {
  const e = { ...process.env }
  delete e.OUTPOST_URL
  delete e.OUTPOST_JOIN_TOKEN
  return e
}

/** Lines that are in effect (not comments, not blank). */
const active = (text: string): string[] => text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'))

describe('bootstrap.sh --root on distribution layouts, then --undo', () => {
  let dir: string
  let s: TestServer
  let script: string
  let oldCa: string
  let otherCa: string

  before(async () => {
    requireTools({ dash: 'dash', curl: 'curl', base64: 'coreutils', sha256sum: 'coreutils' })
    dir = tempDir('outpost-e2e-undo-')
    const trees = join(dir, 'trees')
    writeAptTree(join(trees, 'debian'), { suite: 'bookworm' })
    writeAptTree(join(trees, 'ubuntu'), { suite: 'jammy' })
    writeYumTree(join(trees, 'rhel', '9', 'os'))
    writeYumTree(join(trees, 'centos', '7', 'os'))
    s = await startTestServer({
      listen: { https: '127.0.0.1:0', ntp: '127.0.0.1:0' },
      files: { roots: [{ prefix: '/', path: trees }] },
    })
    await s.running.scanned
    await s.running.packageTrees.check()
    // A CA rotated away (outpost certs rotate-ca keeps it under tls/old/), and one that is not Outpost's.
    oldCa = await makeCa('Outpost CA old-host 2024-01-01')
    otherCa = await makeCa('Corp Root CA')
    mkdirSync(join(s.dataDir, 'tls', 'old', '20240101T000000Z'), { recursive: true })
    writeFileSync(join(s.dataDir, 'tls', 'old', '20240101T000000Z', 'ca.crt'), oldCa)
    const manifest = await (await fetch(`${s.url}/setup/manifest.txt`)).text()
    assert.match(manifest, new RegExp(`^# old-ca-sha256: ${certSha256(oldCa)}$`, 'm'))
    script = join(dir, 'bootstrap.sh')
    writeFileSync(script, await (await fetch(`${s.url}/setup/bootstrap.sh`)).text())
  })
  after(async () => {
    await s?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const nodesSeen = async (): Promise<number> => ((await (await fetch(`${s.url}/nodes?format=json`)).json()) as { count: number }).count

  for (const name of ['debian-12', 'ubuntu-22.04', 'rhel-9', 'centos-7'] as LayoutName[]) {
    test(name, async () => {
      const layout = layoutOf(name, oldCa, otherCa)
      const root = join(dir, name)
      writeLayout(root, layout)
      const before = snapshot(root)
      const read = (p: string): string => readFileSync(join(root, p), 'utf8')
      const ntpPort = s.running.ntp!.port

      // A dry run: each file once, the CA's content once (it goes to every registry's certs.d too).
      const dry = await runOk('dash', [script, '--root', root, '--dry-run'], { env: env() })
      const written = [...dry.stdout.matchAll(/^ {2}would write (\S+)/gm)].map((m) => m[1]!)
      assert.ok(written.length > 10, dry.stdout)
      assert.deepEqual(written, [...new Set(written)], `a file shown twice:\n${dry.stdout}`)
      assert.equal(dry.stdout.split('-----BEGIN CERTIFICATE-----').length - 1, 1, dry.stdout)
      assert.match(dry.stdout, /^ {2}would write \S+\/ca\.crt \(the same as /m)
      assert.deepEqual(snapshot(root), before, 'a dry run writes nothing')

      const r = await runOk('dash', [script, '--root', root], { env: env() })
      process.stderr.write(r.stdout.replace(/^/gm, `# ${name}: `))
      // --root is a tree for another machine: nothing checks in.
      assert.match(r.stdout, /^ {2}no check-in for a tree under --root/m)
      assert.equal(await nodesSeen(), 0)

      // chrony: the distribution's file, its sources off, Outpost's server on.
      const chrony = read(layout.chronyConf)
      assert.deepEqual(
        active(chrony).filter((l) => /^(pool|server|peer)\s/.test(l)),
        layout.name.startsWith('debian') || layout.name.startsWith('ubuntu') ? [] : [`server 127.0.0.1 port ${ntpPort} iburst`],
      )
      for (const kept of active(layout.files[layout.chronyConf] as string).filter((l) => !/^(pool|server)\s/.test(l))) {
        assert.ok(active(chrony).includes(kept), `${layout.chronyConf} lost "${kept}"`)
      }
      assert.match(chrony, /^#\(off: Outpost\) (pool|server) /m)
      if (layout.name === 'debian-12' || layout.name === 'ubuntu-22.04') {
        assert.match(chrony, /^confdir \/etc\/chrony\/conf\.d$/m)
        assert.match(chrony, /^sourcedir \/etc\/chrony\/sources\.d$/m)
        assert.deepEqual(active(read('etc/chrony/conf.d/outpost.conf')), [`server 127.0.0.1 port ${ntpPort} iburst`])
      }
      if (name !== 'centos-7') assert.match(chrony, /^leapsectz right\/UTC$/m) // (chrony 3 on CentOS 7 has none)
      if (name !== 'centos-7') assert.match(chrony, /^sourcedir \/run\/chrony-dhcp$/m)

      // Package sources: Outpost's on, the distribution's (on the internet) off, local ones left alone.
      switch (layout.name) {
        case 'debian-12':
          assert.match(read('etc/apt/sources.list.d/outpost-debian-bookworm.sources'), /^URIs: http:\/\/127\.0\.0\.1:\d+\/debian\/$/m)
          assert.deepEqual(active(read('etc/apt/sources.list')), [])
          assert.match(read('etc/apt/sources.list'), /^# \(off: Outpost\) deb http:\/\/deb\.debian\.org\/debian bookworm main/m)
          break
        case 'ubuntu-22.04':
          assert.match(read('etc/apt/sources.list.d/outpost-ubuntu-jammy.sources'), /^Suites: jammy$/m)
          assert.deepEqual(active(read('etc/apt/sources.list')), [])
          assert.equal(read('etc/apt/sources.list.d/local.list'), layout.files['etc/apt/sources.list.d/local.list'])
          assert.equal(
            read('etc/apt/sources.list.d/kubernetes.sources'),
            (layout.files['etc/apt/sources.list.d/kubernetes.sources'] as string).replace(
              'kubernetes-apt-keyring.gpg\n',
              'kubernetes-apt-keyring.gpg\nEnabled: no\n',
            ),
          )
          break
        case 'rhel-9': {
          assert.match(read('etc/yum.repos.d/outpost-rhel-9-os.repo'), /^enabled=1$/m)
          const repo = read('etc/yum.repos.d/redhat.repo')
          assert.equal(repo, (layout.files['etc/yum.repos.d/redhat.repo'] as string).replace(/^enabled = 1$/gm, 'enabled=0'))
          assert.equal(read('etc/yum.repos.d/dvd.repo'), layout.files['etc/yum.repos.d/dvd.repo'])
          break
        }
        case 'centos-7': {
          assert.match(read('etc/yum.repos.d/outpost-centos-7-os.repo'), /^enabled=1$/m)
          const repo = read('etc/yum.repos.d/CentOS-Base.repo')
          assert.match(repo, /^\[base\]\nenabled=0\nname=/m)
          assert.match(repo, /^\[updates\]\nenabled=0\nname=/m)
          assert.match(repo, /^\[centosplus\]\nname=.*\n(.*\n){3}enabled=0\n/m)
          assert.equal((repo.match(/enabled=0/g) ?? []).length, 3)
          assert.equal(read('etc/yum.repos.d/CentOS-Media.repo'), layout.files['etc/yum.repos.d/CentOS-Media.repo'])
          break
        }
      }

      // CAs: Outpost's in the trust store; the earlier one gone, whatever it was called; others kept.
      assert.equal(read(layout.caStore), await (await fetch(`${s.url}/ca.crt`)).text())
      const oldCopy = Object.keys(layout.files).find((p) => layout.files[p] === oldCa)!
      assert.ok(!snapshot(root)[oldCopy], `${oldCopy} is still there`)
      assert.match(
        r.stdout,
        new RegExp(`^ {2}removed {4}/${oldCopy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(an earlier Outpost CA\\)$`, 'm'),
      )
      const otherCopy = Object.keys(layout.files).find((p) => layout.files[p] === otherCa)!
      assert.equal(read(otherCopy), otherCa)

      // /etc/hosts: localhost stays (or comes back), the registry domain is added, the rest kept.
      const hosts = read('etc/hosts')
      assert.match(hosts, /^(127\.0\.0\.1|::1)\s+(\S+\s+)*localhost(\s|$)/m)
      assert.match(hosts, /^127\.0\.0\.1 outpost\.registry\.local # added by Outpost$/m)
      const hostsBefore = layout.files['etc/hosts']
      assert.ok(hosts.includes(typeof hostsBefore === 'string' ? hostsBefore : hostsBefore.content))
      if (name === 'centos-7') assert.equal(statSync(join(root, 'etc/hosts')).mode & 0o777, 0o600, 'the mode of a replaced file is kept')

      // Again: nothing changes.
      const afterFirst = snapshot(root)
      const again = await runOk('dash', [script, '--root', root], { env: env() })
      assert.match(again.stdout, /outpost: done: 0 file\(s\) written, \d+ unchanged; nothing restarted/)
      assert.deepEqual(snapshot(root), afterFirst)

      // --undo --dry-run changes nothing; --undo gives back every byte, mode and folder.
      const undoDry = await runOk('dash', [script, '--root', root, '--undo', '--dry-run'], { env: env() })
      assert.match(undoDry.stdout, /^ {2}would put back \/etc\/hosts$/m)
      assert.deepEqual(snapshot(root), afterFirst)
      const undo = await runOk('dash', [script, '--root', root, '--undo'], { env: env() })
      assert.match(undo.stdout, /^outpost: undone: \d+ file\(s\) put back, \d+ removed; nothing restarted$/m)
      assert.deepEqual(snapshot(root), before)
      assert.equal(await nodesSeen(), 0)
      const nothing = await runOk('dash', [script, '--root', root, '--undo'], { env: env() })
      assert.match(nothing.stdout, /nothing to undo/)
    })
  }

  test('a node an earlier bootstrap.sh set up (originals kept as *.outpost-orig): they become the originals --undo puts back', async () => {
    const layout = layoutOf('debian-12', oldCa, otherCa)
    const root = join(dir, 'earlier')
    writeLayout(root, layout)
    const debian = readFileSync(join(root, 'etc/chrony/chrony.conf'), 'utf8')
    writeFileSync(join(root, 'etc/chrony/chrony.conf.outpost-orig'), debian)
    writeFileSync(
      join(root, 'etc/chrony/chrony.conf'),
      '# chrony.conf, from Outpost (http://10.0.0.1:8080/setup/)\nserver 10.0.0.1 iburst\n',
    )
    const r = await runOk('dash', [script, '--root', root], { env: env() })
    assert.match(r.stdout, /^ {2}moved {6}\/etc\/chrony\/chrony\.conf\.outpost-orig into \/var\/lib\/outpost-node/m)
    const chrony = readFileSync(join(root, 'etc/chrony/chrony.conf'), 'utf8')
    assert.match(chrony, /^#\(off: Outpost\) pool 2\.debian\.pool\.ntp\.org iburst$/m)
    assert.match(chrony, /^confdir \/etc\/chrony\/conf\.d$/m)
    assert.ok(!snapshot(root)['etc/chrony/chrony.conf.outpost-orig'])
    await runOk('dash', [script, '--root', root, '--undo'], { env: env() })
    assert.equal(readFileSync(join(root, 'etc/chrony/chrony.conf'), 'utf8'), debian)
    assert.ok(!snapshot(root)['etc/chrony/chrony.conf.outpost-orig'])
  })

  test('another run without the record: --undo says there is nothing to undo and changes nothing', async () => {
    const root = join(dir, 'empty')
    mkdirSync(join(root, 'etc'), { recursive: true })
    const r = await run('dash', [script, '--root', root, '--undo'], { env: env() })
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /nothing to undo/)
    assert.deepEqual(snapshot(root), { 'etc/': 'dir 755' })
  })
})

describe('bootstrap.sh against a stand-in Outpost: a CA rotated, the node token, a name enrolled elsewhere', () => {
  let dir: string
  let url: string
  let script: string
  let close: () => Promise<void>
  let ca: string
  let trees: SetupTree[] = []
  const checkins: Array<{ headers: Record<string, string>; body: Record<string, unknown> }> = []

  before(async () => {
    requireTools({ dash: 'dash', curl: 'curl' })
    dir = tempDir('outpost-e2e-token-')
    ca = await makeCa('Outpost CA first')
    const app = new Hono()
    app.route(
      '/',
      setupRouter({
        source: {
          domains: ['outpost.registry.local'],
          upstreams: ['docker.io'],
          caPem: () => ca,
          trees: () => trees,
          httpsPort: () => 8443,
        },
        ntp: () => null,
      }),
    )
    // The node identity protocol as bootstrap.sh sees it: a token at enrolment, asked for afterwards.
    app.post('/nodes/checkin', async (c) => {
      const body = (await c.req.json()) as Record<string, unknown>
      checkins.push({ headers: Object.fromEntries(c.req.raw.headers), body })
      if (body.hostname === 'taken') return c.json({ error: 'taken is enrolled by another machine' }, 409)
      const token = c.req.header('outpost-node-token')
      if (!token)
        return c.json({ hostname: body.hostname, message: `${String(body.hostname)} checked in (first time)`, token: 'tok-1.A/b+c=' })
      if (token !== 'tok-1.A/b+c=') return c.json({ error: 'wrong token' }, 409)
      return c.json({ hostname: body.hostname, message: `${String(body.hostname)} checked in (check-in 2)` })
    })
    const server = createAdaptorServer({ fetch: app.fetch })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () => new Promise<void>((r) => server.close(() => r()))
    script = join(dir, 'bootstrap.sh')
    writeFileSync(script, await (await fetch(`${url}/setup/bootstrap.sh`)).text())
  })
  after(async () => {
    await close?.()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('the token is kept and sent, a copy of the CA this node had before leaves, a taken name exits 3, --undo takes it all back', async () => {
    const root = join(dir, 'node')
    writeLayout(root, { name: 'rhel-9', chronyConf: '', caStore: '', files: layoutOf('rhel-9', '', '').files })
    rmSync(join(root, 'etc/pki'), { recursive: true, force: true })
    const before = snapshot(root)
    const anchors = join(root, 'etc/pki/ca-trust/source/anchors')

    // Enrolment: the join token goes along; the node token comes back and is kept 0600 in a 0700 folder.
    const first = await runOk('dash', [script, '--root', root, '--checkin', '--hostname', 'n1'], {
      env: { ...env(), OUTPOST_JOIN_TOKEN: 'join-123' },
    })
    assert.match(first.stdout, /^ {2}checked in: n1 checked in \(first time\)$/m)
    assert.equal(checkins[0]!.headers['outpost-join-token'], 'join-123')
    assert.equal(checkins[0]!.headers['outpost-node-token'], undefined)
    assert.equal(checkins[0]!.body.machine_id, readFileSync(join(root, 'etc/machine-id'), 'utf8').trim())
    assert.equal(readFileSync(join(root, 'etc/outpost/node-token'), 'utf8'), 'tok-1.A/b+c=\n')
    assert.equal(statSync(join(root, 'etc/outpost/node-token')).mode & 0o777, 0o600)
    assert.equal(statSync(join(root, 'etc/outpost')).mode & 0o777, 0o700)
    assert.equal(readFileSync(join(anchors, 'outpost-ca.crt'), 'utf8'), ca)

    // Someone copies the CA under another name; then Outpost's CA changes.
    writeFileSync(join(anchors, 'registry.pem'), ca)
    const planted = snapshot(root)
    ca = await makeCa('Outpost CA second')
    const second = await runOk('dash', [script, '--root', root, '--checkin', '--hostname', 'n1', '--join-token', 'join-456'], {
      env: env(),
    })
    assert.equal(checkins[1]!.headers['outpost-node-token'], 'tok-1.A/b+c=')
    assert.equal(checkins[1]!.headers['outpost-join-token'], 'join-456')
    assert.match(second.stdout, /^ {2}checked in: n1 checked in \(check-in 2\)$/m)
    assert.match(second.stdout, /^ {2}removed {4}\/etc\/pki\/ca-trust\/source\/anchors\/registry\.pem \(an earlier Outpost CA\)$/m)
    assert.equal(readFileSync(join(anchors, 'outpost-ca.crt'), 'utf8'), ca)
    assert.equal(readFileSync(join(root, 'etc/containerd/certs.d/docker.io/ca.crt'), 'utf8'), ca)

    // A name another machine holds: one clear line, exit 3, after the set-up is written.
    const taken = await run('dash', [script, '--root', root, '--checkin', '--hostname', 'taken'], { env: env() })
    assert.equal(taken.code, 3, taken.stdout + taken.stderr)
    assert.deepEqual(taken.stderr.trim().split('\n'), [
      'outpost: taken is enrolled at Outpost by another machine: not checked in (on Outpost, "outpost nodes forget taken" if this machine replaces it; else run again with --hostname)',
    ])
    assert.match(taken.stdout, /^outpost: done: /m)

    // --undo: the token, the CA files, everything added goes; the copy someone made comes back, as it was.
    const undo = await runOk('dash', [script, '--root', root, '--undo'], { env: env() })
    assert.match(undo.stdout, /^ {2}removed {4}\/etc\/outpost\/node-token$/m)
    const expected = { ...before, ...Object.fromEntries(Object.entries(planted).filter(([p]) => p.startsWith('etc/pki/'))) }
    delete expected['etc/pki/ca-trust/source/anchors/outpost-ca.crt']
    assert.deepEqual(snapshot(root), Object.fromEntries(Object.entries(expected).sort(([a], [b]) => (a < b ? -1 : 1))))
  })

  test('sources of a tree Outpost no longer lists go, but not while it lists none (its trees not checked yet)', async () => {
    const root = join(dir, 'prune')
    writeLayout(root, { name: 'rhel-9', chronyConf: '', caStore: '', files: layoutOf('rhel-9', '', '').files })
    rmSync(join(root, 'etc/pki'), { recursive: true, force: true })
    const before = snapshot(root)
    const runWith = async (list: SetupTree[]) => {
      trees = list
      writeFileSync(script, await (await fetch(`${url}/setup/bootstrap.sh`)).text())
      return (await runOk('dash', [script, '--root', root], { env: env() })).stdout
    }
    const repos = () => Object.keys(snapshot(root)).filter((p) => p.startsWith('etc/yum.repos.d/outpost-'))
    await runWith([{ kind: 'yum', urlPath: '/rhel/9/a/' }])
    assert.deepEqual(repos(), ['etc/yum.repos.d/outpost-rhel-9-a.repo'])
    await runWith([])
    assert.deepEqual(repos(), ['etc/yum.repos.d/outpost-rhel-9-a.repo'])
    const out = await runWith([{ kind: 'yum', urlPath: '/rhel/9/b/' }])
    assert.match(out, /^ {2}removed {4}\/etc\/yum\.repos\.d\/outpost-rhel-9-a\.repo \(Outpost no longer hands it out\)$/m)
    assert.deepEqual(repos(), ['etc/yum.repos.d/outpost-rhel-9-b.repo'])
    await runOk('dash', [script, '--root', root, '--undo'], { env: env() })
    assert.deepEqual(snapshot(root), before)
    trees = []
    writeFileSync(script, await (await fetch(`${url}/setup/bootstrap.sh`)).text())
  })

  test('a join token that could break out of a header is refused', async () => {
    const r = await run('dash', [script, '--root', join(dir, 'bad'), '--checkin', '--join-token', 'a\r\nX-Evil: 1'], { env: env() })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /the join token may hold only/)
  })
})

test('without --root, as root on the machine itself (a mount namespace of its own): the same files, and --undo gives back /etc', async (t) => {
  requireTools({ unshare: 'util-linux', mount: 'mount', dash: 'dash', curl: 'curl', chronyd: 'chrony' })
  if (process.getuid && process.getuid() !== 0) throw new Error('a mount namespace needs root')
  const dir = tempDir('outpost-e2e-host-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const s = await startTestServer({ listen: { https: '127.0.0.1:0', ntp: '127.0.0.1:0' } })
  t.after(() => s.close())
  writeFileSync(join(dir, 'bootstrap.sh'), await (await fetch(`${s.url}/setup/bootstrap.sh`)).text())
  // Copies of /etc, /usr/local/share and an empty /var/lib are mounted over the real ones inside;
  // services are stand-ins that only say what they were asked.
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  for (const cmd of ['systemctl', 'service', 'update-ca-certificates', 'update-ca-trust']) {
    writeFileSync(join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >>${join(dir, 'services.log')}\n`, { mode: 0o755 })
  }
  await runOk('cp', ['-a', '/etc', join(dir, 'etc')])
  mkdirSync(join(dir, 'usr-local-share'))
  await runOk('cp', ['-a', '/usr/local/share/.', join(dir, 'usr-local-share')])
  mkdirSync(join(dir, 'var-lib'))
  const inside = `set -e
mount --bind ${dir}/etc /etc
mount --bind ${dir}/var-lib /var/lib
mount --bind ${dir}/usr-local-share /usr/local/share
export PATH=${bin}:$PATH
snap() { cd / && find etc var/lib usr/local/share -xdev -printf '%p %m %y %l\\n' | sort && find etc var/lib usr/local/share -xdev -type f -exec sha256sum {} + | sort -k2; }
snap >${dir}/before
dash ${dir}/bootstrap.sh --no-checkin >${dir}/run.out 2>&1
dash ${dir}/bootstrap.sh --no-checkin >${dir}/again.out 2>&1
test -s /var/lib/outpost-node/ledger
grep -q ' # added by Outpost$' /etc/hosts
dash ${dir}/bootstrap.sh --undo >${dir}/undo.out 2>&1
snap >${dir}/after
`
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', inside], { env: env(), timeoutMs: 120_000 })
  const out = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '')
  assert.equal(r.code, 0, r.stderr + out('run.out') + out('again.out') + out('undo.out'))
  assert.match(out('run.out'), /^ {2}wrote {6}\/etc\/containerd\/certs\.d\/docker\.io\/ca\.crt$/m)
  assert.match(out('run.out'), /^ {2}ran {8}update-ca-certificates$/m)
  assert.match(out('again.out'), /outpost: done: 0 file\(s\) written, \d+ unchanged; nothing restarted/)
  assert.match(out('undo.out'), /^outpost: undone: \d+ file\(s\) put back, \d+ removed; updated the CA trust store/m)
  assert.equal(out('after'), out('before'))
  assert.ok(out('before').length > 1000)
})
