/**
 * bootstrap.sh end to end: fetched from a running Outpost and run with
 * `sh --root DIR` (twice: the same files, nothing changed the second time),
 * the check-in shows in /nodes and the inventory, and containerd pulls
 * upstream names through Outpost with the certs.d the script wrote. A second
 * part runs it against fake os-release files to see it pick the CA store,
 * chrony path and package sources of each OS family.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join, relative } from 'node:path'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { buildRegistry2 } from '../helpers/fixtures.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, run, runOk } from '../helpers/procs.js'
import { startContainerd } from '../helpers/containerd.js'
import { openDb } from '../../src/catalog/db.js'
import { nodesApi, NodeStore, type SetupTree } from '../../src/nodes/index.js'
import { silentLogger } from '../../src/server/index.js'

/** The fields of a /nodes entry these tests read. */
interface CheckedInNode {
  hostname: string
  checkins: number
  groups: string[]
  ansibleHost: string
  os: { id: string }
  clockOffsetMs: number
  clockUncertaintyMs: number
}

/** Every file under a directory: relative path → sha256 and mode. */
const snapshot = (root: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      const st = statSync(p)
      if (st.isDirectory()) walk(p)
      else out[relative(root, p)] = `${createHash('sha256').update(readFileSync(p)).digest('hex')} ${(st.mode & 0o777).toString(8)}`
    }
  }
  if (existsSync(root)) walk(root)
  return out
}

const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env = { ...process.env, ...extra }
  if (!extra.OUTPOST_URL) delete env.OUTPOST_URL
  return env
}

describe('bootstrap.sh --root against a running Outpost', () => {
  let dir: string
  let s: TestServer
  let script: string

  before(async () => {
    requireTool('sh', 'dash')
    requireTool('curl', 'curl')
    dir = tempDir('outpost-e2e-bootstrap-')
    await buildRegistry2(join(dir, 'registry'))
    writeFileSync(join(dir, 'images_origin.yaml'), '- src: k8s.gcr.io/kube-apiserver\n  dest: library/multi\n')
    s = await startTestServer({
      listen: { ntp: '127.0.0.1:0' },
      registry: { roots: [join(dir, 'registry')], images_origin: [join(dir, 'images_origin.yaml')] },
    })
    script = join(dir, 'bootstrap.sh')
    const res = await fetch(`${s.url}/setup/bootstrap.sh`)
    assert.equal(res.status, 200)
    writeFileSync(script, await res.text())
  })
  after(async () => {
    await s?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('run twice: the same files, nothing changed the second time, and the node checked in', async () => {
    const root = join(dir, 'root')
    // --root alone does not check in (the tree is for another machine): --checkin asks for it.
    const first = await runOk(
      'sh',
      [script, '--root', root, '--checkin', '--hostname', 'e2e-node-1', '--role', 'kube_control_plane,etcd'],
      {
        env: cleanEnv(),
      },
    )
    process.stderr.write(first.stdout.replace(/^/gm, '# '))
    assert.match(first.stdout, /^ {2}wrote {6}\/etc\/containerd\/certs\.d\/k8s\.gcr\.io\/hosts\.toml$/m)
    assert.match(first.stdout, /^ {2}checked in: e2e-node-1 checked in \(first time\); clock /m)
    const once = snapshot(root)
    const second = await runOk('sh', [script, '--root', root, '--checkin', '--hostname', 'e2e-node-1'], { env: cleanEnv() })
    assert.match(second.stdout, /outpost: done: 0 file\(s\) written, \d+ unchanged; nothing restarted/)
    assert.doesNotMatch(second.stdout, /wrote/)
    assert.deepEqual(snapshot(root), once)

    const files = Object.keys(once).sort()
    for (const host of ['docker.io', 'registry.k8s.io', 'k8s.gcr.io', 'quay.io', 'gcr.io', 'ghcr.io', 'outpost.registry.local']) {
      assert.ok(files.includes(`etc/containerd/certs.d/${host}/hosts.toml`), `${host}: ${files.join(', ')}`)
    }
    const toml = readFileSync(join(root, 'etc/containerd/certs.d/docker.io/hosts.toml'), 'utf8')
    assert.match(toml, new RegExp(`^server = "${s.url}"$`, 'm'))
    // A root without /etc/hosts gets localhost too.
    assert.equal(
      readFileSync(join(root, 'etc/hosts'), 'utf8'),
      '127.0.0.1 localhost # added by Outpost\n::1 localhost # added by Outpost\n127.0.0.1 outpost.registry.local # added by Outpost\n',
    )
    // This machine is Debian: chrony's Debian path, pointed at the SNTP port.
    const chrony = readFileSync(join(root, 'etc/chrony/chrony.conf'), 'utf8')
    assert.match(chrony, new RegExp(`^server 127\\.0\\.0\\.1 port ${s.running.ntp!.port} iburst$`, 'm'))

    const nodes = (await (await fetch(`${s.url}/nodes?format=json`)).json()) as { nodes: CheckedInNode[] }
    const node = nodes.nodes.find((n) => n.hostname === 'e2e-node-1')!
    assert.ok(node, JSON.stringify(nodes))
    assert.equal(node.checkins, 2)
    // The second run sent no labels: the groups from the first stay.
    assert.deepEqual(node.groups, ['kube_control_plane', 'etcd'])
    assert.equal(node.ansibleHost, '127.0.0.1')
    assert.equal(
      node.os.id,
      JSON.parse(
        JSON.stringify(
          readFileSync('/etc/os-release', 'utf8')
            .match(/^ID=(.*)$/m)![1]!
            .replace(/"/g, ''),
        ),
      ),
    )
    assert.ok(Math.abs(node.clockOffsetMs) < 1000, `clock offset ${node.clockOffsetMs} ms`)
    process.stderr.write(`# check-in clock offset: ${node.clockOffsetMs} ms (±${node.clockUncertaintyMs})\n`)
    const ini = await (await fetch(`${s.url}/nodes/inventory.ini`)).text()
    assert.match(ini, /^e2e-node-1 ansible_host=127\.0\.0\.1 ip=127\.0\.0\.1$/m)
    assert.match(ini, /^\[kube_control_plane\]\ne2e-node-1$/m)
    assert.match(ini, /^\[etcd\]\ne2e-node-1$/m)
  })

  test('--dry-run shows the changes and writes, restarts and sends nothing', async () => {
    const root = join(dir, 'dry')
    const before = ((await (await fetch(`${s.url}/nodes?format=json`)).json()) as { count: number }).count
    const r = await runOk('sh', [script, '--dry-run', '--root', root, '--checkin', '--hostname', 'dry-node'], { env: cleanEnv() })
    assert.match(r.stdout, /^ {2}would write \/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml$/m)
    assert.match(r.stdout, new RegExp(`^ {6}\\+ server = "${s.url}"$`, 'm'))
    assert.match(r.stdout, /^ {2}would check in as dry-node$/m)
    assert.match(r.stdout, /outpost: dry run: \d+ file\(s\) would change, 0 unchanged/)
    assert.deepEqual(snapshot(root), {})
    const after = ((await (await fetch(`${s.url}/nodes?format=json`)).json()) as { count: number }).count
    assert.equal(after, before)
  })

  test('OUTPOST_URL overrides the address the script carries', async () => {
    const root = join(dir, 'override')
    const port = new URL(s.url).port
    await runOk('sh', [script, '--root', root, '--no-checkin'], { env: cleanEnv({ OUTPOST_URL: `http://localhost:${port}/` }) })
    const toml = readFileSync(join(root, 'etc/containerd/certs.d/quay.io/hosts.toml'), 'utf8')
    assert.match(toml, new RegExp(`^server = "http://localhost:${port}"$`, 'm'))
    assert.match(readFileSync(join(root, 'etc/chrony/chrony.conf'), 'utf8'), /^server localhost port \d+ iburst$/m)
  })

  test('a bad option or an unreachable Outpost fails clearly', async () => {
    const bad = await run('sh', [script, '--frobnicate'], { env: cleanEnv() })
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /unknown option: --frobnicate/)
    // A closed port on loopback: connection refused, no traffic leaves the machine.
    const closed = await run('sh', [script, '--root', join(dir, 'closed'), '--no-checkin'], {
      env: cleanEnv({ OUTPOST_URL: 'http://127.0.0.1:9' }),
    })
    assert.equal(closed.status, 1)
    assert.match(closed.stderr, /cannot fetch http:\/\/127\.0\.0\.1:9\/setup\//)
  })

  test('containerd pulls upstream names through Outpost with the certs.d bootstrap.sh wrote', async (t) => {
    const root = join(dir, 'root')
    const hostsDir = join(root, 'etc/containerd/certs.d')
    assert.ok(existsSync(join(hostsDir, 'k8s.gcr.io/hosts.toml')), 'the first test wrote certs.d')
    const ctd = await startContainerd(join(dir, 'containerd'))
    t.after(() => ctd.stop())
    const pull = (ref: string) => ctd.ctr(['images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', 'native', ref])
    await pull('k8s.gcr.io/kube-apiserver:1.0')
    await pull('docker.io/library/pause:3.9')
    const ls = await ctd.ctr(['images', 'ls'])
    assert.match(ls.stdout, /^k8s\.gcr\.io\/kube-apiserver:1\.0\s/m)
    assert.match(ls.stdout, /^docker\.io\/library\/pause:3\.9\s/m)
    const check = await ctd.ctr(['images', 'check'])
    assert.match(check.stdout, /k8s\.gcr\.io\/kube-apiserver:1\.0\s+\S+\s+\S+\s+complete/)
    // An image Outpost lacks fails at Outpost ("server" is Outpost too): nothing goes upstream.
    await assert.rejects(pull('k8s.gcr.io/kube-proxy:1.0'), /not found|404/i)
  })
})

describe('bootstrap.sh picks files by OS family', () => {
  const CA = '-----BEGIN CERTIFICATE-----\nMIIBfakeCAforTests\n-----END CERTIFICATE-----\n'
  const KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake\n-----END PGP PUBLIC KEY BLOCK-----\n'
  const TREES: SetupTree[] = [
    { kind: 'yum', urlPath: '/centos/7/os/x86_64/' },
    { kind: 'yum', urlPath: '/rocky/9/os/' },
    { kind: 'apt', urlPath: '/debian/', suites: [{ name: 'bookworm', components: ['main'] }], keyUrl: '/debian/outpost.asc' },
    { kind: 'apt', urlPath: '/ubuntu/', suites: [{ name: 'jammy' }] },
  ]
  let dir: string
  let url: string
  let script: string
  let close: () => Promise<void>

  before(async () => {
    dir = tempDir('outpost-e2e-bootstrap-os-')
    const db = openDb(':memory:')
    const app = new Hono()
    app.route(
      '/',
      nodesApi({
        logger: silentLogger(),
        store: new NodeStore(db),
        thresholds: { offsetMs: 500, staleAfterS: 86400 },
        ntp: () => ({ port: 123 }),
        // A CA and an HTTPS port (nothing listens there: these runs only write files).
        setup: {
          domains: ['outpost.registry.local'],
          upstreams: ['docker.io'],
          caPem: () => CA,
          trees: () => TREES,
          httpsPort: () => 8443,
        },
      }),
    )
    app.get('/debian/outpost.asc', (c) => c.text(KEY))
    const server = createAdaptorServer({ fetch: app.fetch })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    close = () =>
      new Promise<void>((r) => {
        server.close(() => r())
        db.close()
      })
    script = join(dir, 'bootstrap.sh')
    writeFileSync(script, await (await fetch(`${url}/setup/bootstrap.sh`)).text())
  })
  after(async () => {
    await close?.()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const runFor = async (name: string, osRelease: string) => {
    const root = join(dir, name)
    mkdirSync(join(root, 'etc'), { recursive: true })
    writeFileSync(join(root, 'etc/os-release'), osRelease)
    const r = await runOk('sh', [script, '--root', root, '--no-checkin'], { env: cleanEnv() })
    return { root, out: r.stdout, files: Object.keys(snapshot(root)).sort() }
  }

  test('Debian: apt sources with their key, CA in ca-certificates, HTTPS mirrors with the CA', async () => {
    const { root, out, files } = await runFor(
      'debian',
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
    )
    assert.ok(files.includes('etc/apt/sources.list.d/outpost-debian-bookworm.sources'), files.join('\n'))
    assert.equal(readFileSync(join(root, 'etc/apt/keyrings/outpost-debian.asc'), 'utf8'), KEY)
    assert.ok(!files.some((f) => f.includes('ubuntu') || f.includes('yum.repos.d')), files.join('\n'))
    assert.equal(readFileSync(join(root, 'usr/local/share/ca-certificates/outpost-ca.crt'), 'utf8'), CA)
    assert.equal(readFileSync(join(root, 'etc/containerd/certs.d/docker.io/ca.crt'), 'utf8'), CA)
    assert.match(
      readFileSync(join(root, 'etc/containerd/certs.d/docker.io/hosts.toml'), 'utf8'),
      /^server = "https:\/\/outpost\.registry\.local:8443"\nca = "ca\.crt"$/m,
    )
    assert.ok(files.includes('etc/chrony/chrony.conf') && files.includes('etc/systemd/timesyncd.conf.d/50-outpost.conf'))
    assert.match(out, /^ {2}not run {4}update-ca-certificates \(--root\)$/m)
  })

  test('Rocky 9: the EL trees for its version and arch, CA in ca-trust, /etc/chrony.conf', async () => {
    const { out, files } = await runFor('rocky', 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n')
    assert.ok(files.includes('etc/yum.repos.d/outpost-rocky-9-os.repo'), files.join('\n'))
    assert.ok(!files.includes('etc/yum.repos.d/outpost-centos-7-os-x86_64.repo'))
    assert.ok(!files.some((f) => f.startsWith('etc/apt')))
    assert.ok(files.includes('etc/pki/ca-trust/source/anchors/outpost-ca.crt'))
    assert.ok(files.includes('etc/chrony.conf'))
    assert.match(out, /^ {2}not run {4}update-ca-trust extract \(--root\)$/m)
  })

  test('CentOS 7 on x86_64 takes the centos/7/x86_64 tree (and only on x86_64)', async () => {
    const { files } = await runFor('centos', 'NAME="CentOS Linux"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n')
    const machine = (await runOk('uname', ['-m'])).stdout.trim()
    assert.equal(files.includes('etc/yum.repos.d/outpost-centos-7-os-x86_64.repo'), machine === 'x86_64', files.join('\n'))
    assert.ok(!files.includes('etc/yum.repos.d/outpost-rocky-9-os.repo'))
  })

  test('Ubuntu jammy: its own suite, unsigned and trusted explicitly', async () => {
    const { root, files } = await runFor(
      'ubuntu',
      'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nUBUNTU_CODENAME=jammy\n',
    )
    assert.ok(files.includes('etc/apt/sources.list.d/outpost-ubuntu-jammy.sources'), files.join('\n'))
    assert.ok(!files.some((f) => f.includes('outpost-debian')))
    assert.match(readFileSync(join(root, 'etc/apt/sources.list.d/outpost-ubuntu-jammy.sources'), 'utf8'), /^Trusted: yes$/m)
  })
})
