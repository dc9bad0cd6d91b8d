/**
 * `outpost check` as an operator runs it: kubespray's images.list and
 * files.list, a kubeadm images list and a package list, against a bundle
 * folder and against a running Outpost; every present, missing and
 * incomplete case, the exit codes and the JSON shape. Then a node checking
 * in as arm64 while images hold only amd64: named in the report and in
 * /nodes.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import request from 'supertest'
import { Registry2Writer } from '../../src/images/index.js'
import { makeImage, makeIndex } from '../../src/demo/images.js'
import { buildBrokenBundle, type BrokenBundle } from '../helpers/broken-bundle.js'
import { writeAptTree, writeYumTree } from '../helpers/synthetic-trees.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { run } from '../helpers/procs.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
const env = { ...process.env, OUTPOST_CONFIG: '' }

/** Requirement → status, from the lines of `outpost check` (comments and the summary left out). */
const statuses = (stdout: string): Record<string, string> =>
  Object.fromEntries(
    stdout
      .split('\n')
      .filter((l) => l && !l.startsWith('#') && !l.startsWith(' ') && !/^\d+ present, /.test(l))
      .map((l) => l.split(' ').slice(0, 2) as [string, string]),
  )

const EXPECTED: Record<string, string> = {
  // images.list (kubespray's generate_list.sh)
  'docker.io/library/good:1.0': 'present',
  'docker.io/library/win:1.0': 'present',
  'docker.io/library/multi:1.0': 'incomplete',
  'docker.io/library/badconfig:1.0': 'incomplete',
  'quay.io/calico/node:v3.27.2': 'missing',
  // kubeadm config images list
  'registry.k8s.io/kube-proxy:v1.30.0': 'present',
  'registry.k8s.io/pause:3.3': 'incomplete',
  'registry.k8s.io/kube-apiserver:v1.30.0': 'missing',
  // files.list
  'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm': 'present',
  'https://get.helm.sh/helm-v3.14.2-linux-amd64.tar.gz': 'present',
  'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubelet': 'incomplete',
  'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl': 'missing',
  // packages
  p0: 'present',
  p1: 'incomplete',
  'absent-pkg': 'missing',
}

describe('outpost check', () => {
  let dir: string
  let b: BrokenBundle
  let lists: { images: string; kubeadm: string; files: string; packages: string; good: string }
  const layoutFlags = () => ['--bundle', dir, '--data-dir', join(dir, 'data')]
  const listFlags = () => ['--images', lists.images, '--images', lists.kubeadm, '--files', lists.files, '--packages', lists.packages]

  before(async () => {
    dir = tempDir('outpost-check-')
    b = await buildBrokenBundle(dir)
    // registry.k8s.io/kube-proxy, through the mapping registry.k8s.io/ → library/.
    const amd = await makeImage({ architecture: 'amd64', format: 'oci', files: { p: 'proxy amd64\n' } })
    const arm = await makeImage({ architecture: 'arm64', format: 'oci', files: { p: 'proxy arm64\n' } })
    const w = new Registry2Writer(b.registry)
    w.putImage('library/kube-proxy', amd)
    w.putImage('library/kube-proxy', arm)
    w.putManifest(
      'library/kube-proxy',
      makeIndex([
        { image: amd, platform: { architecture: 'amd64', os: 'linux' } },
        { image: arm, platform: { architecture: 'arm64', os: 'linux' } },
      ]),
      ['v1.30.0'],
    )
    mkdirSync(join(b.nginx, 'get.helm.sh'), { recursive: true })
    writeFileSync(join(b.nginx, 'get.helm.sh/helm-v3.14.2-linux-amd64.tar.gz'), 'helm\n')
    const yum = writeYumTree(join(b.nginx, 'centos/7/os/x86_64'))
    rmSync(join(yum.dir, yum.packages[1]!))
    writeAptTree(join(b.nginx, 'debian'))
    const put = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    lists = {
      images: put(
        'images.list',
        [
          'docker.io/library/good:1.0',
          'docker.io/library/win:1.0',
          'docker.io/library/multi:1.0',
          'docker.io/library/badconfig:1.0',
          'quay.io/calico/node:v3.27.2',
          '',
        ].join('\n'),
      ),
      kubeadm: put(
        'kubeadm-images.list',
        [
          'W1130 12:00:00.123456   4242 version.go:104] could not fetch a Kubernetes version from the internet: unable to get URL',
          'registry.k8s.io/kube-apiserver:v1.30.0',
          'registry.k8s.io/kube-proxy:v1.30.0',
          'registry.k8s.io/pause:3.3',
          '',
        ].join('\n'),
      ),
      files: put(
        'files.list',
        [
          'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm',
          'https://get.helm.sh/helm-v3.14.2-linux-amd64.tar.gz',
          'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubelet',
          'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl',
          '',
        ].join('\n'),
      ),
      packages: put('packages.list', '# what the nodes install\n[yum]\np0 p1\nabsent-pkg\n'),
      good: put('good.list', 'docker.io/library/good:1.0\nregistry.k8s.io/kube-proxy:v1.30.0\n'),
    }
    writeFileSync(join(dir, 'outpost.yaml'), 'registry:\n  mappings:\n    - registry.k8s.io/=library/\n')
  })
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const config = () => ['--config', join(dir, 'outpost.yaml')]

  test('against a bundle folder: every requirement as written, present, missing or incomplete; exit 1', async () => {
    const r = await run(process.execPath, [...CLI, 'check', ...config(), ...layoutFlags(), ...listFlags(), '--platforms', 'linux/amd64'], {
      env,
    })
    assert.equal(r.status, 1, r.stdout + r.stderr)
    assert.deepEqual(statuses(r.stdout), EXPECTED)
    assert.match(r.stdout, /^# platforms needed: linux\/amd64 \(configured\)$/m)
    assert.match(r.stdout, /^# images\.list$/m)
    assert.match(r.stdout, /^# kubeadm-images\.list$/m)
    // An incomplete image's problems follow it, one per line: image, platform, kind, digest.
    assert.ok(r.stdout.includes(`\n    library/multi:1.0 linux/arm64/v8 missing ${b.multiArm.manifest.digest} (manifest)\n`), r.stdout)
    assert.ok(r.stdout.includes(`\n    library/pause:3.3 linux/amd64 missing ${b.pause.layers[0]!.digest} (layer)\n`), r.stdout)
    assert.match(r.stdout, /^registry\.k8s\.io\/pause:3\.3 incomplete {2}\(library\/pause:3\.3; 1 problem\)$/m)
    assert.match(r.stdout, /^quay\.io\/calico\/node:v3\.27\.2 missing {2}\(no repository holds it; tried calico\/node\)$/m)
    assert.match(r.stdout, /^absent-pkg missing /m)
    assert.match(r.stdout, /^p1 incomplete {2}\(\/centos\/7\/os\/x86_64\/Packages\/beta-2\.0-1\.noarch\.rpm; .*listed but not present\)$/m)
    assert.match(r.stdout, /^6 present, 4 missing, 5 incomplete$/m)
  })

  test('--json: {ok, platforms, summary, requirements: [{kind, requirement, source, status, …}]}', async () => {
    const r = await run(
      process.execPath,
      [...CLI, 'check', ...config(), ...layoutFlags(), ...listFlags(), '--platforms', 'amd64', '--json'],
      { env },
    )
    assert.equal(r.status, 1, r.stderr)
    const report = JSON.parse(r.stdout)
    assert.equal(report.ok, false)
    assert.deepEqual(report.summary, { present: 6, missing: 4, incomplete: 5 })
    assert.deepEqual(report.platforms, { needed: ['linux/amd64'], configured: ['linux/amd64'], nodes: [] })
    assert.deepEqual(
      Object.fromEntries(report.requirements.map((x: { requirement: string; status: string }) => [x.requirement, x.status])),
      EXPECTED,
    )
    const multi = report.requirements.find((x: { requirement: string }) => x.requirement === 'docker.io/library/multi:1.0')
    assert.equal(multi.kind, 'image')
    assert.equal(multi.source, 'images.list:3')
    assert.equal(multi.found, 'library/multi:1.0')
    assert.deepEqual(multi.platforms, ['linux/amd64'])
    assert.deepEqual(multi.problems, [
      { image: 'library/multi:1.0', platform: 'linux/arm64/v8', digest: b.multiArm.manifest.digest, kind: 'missing', part: 'manifest' },
    ])
    const kubeadm = report.requirements.find((x: { requirement: string }) => x.requirement.endsWith('/kubeadm'))
    assert.deepEqual(kubeadm, {
      kind: 'file',
      requirement: 'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm',
      source: 'files.list:1',
      status: 'present',
      found: '/files/dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm',
    })
  })

  test('all present: exit 0; a platform an image lacks: incomplete; a list that cannot be read: exit 2', async () => {
    const ok = await run(process.execPath, [...CLI, 'check', ...config(), ...layoutFlags(), '--images', lists.good], { env })
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)
    assert.match(ok.stdout, /^2 present, 0 missing, 0 incomplete$/m)
    const arm = await run(
      process.execPath,
      [...CLI, 'check', ...config(), ...layoutFlags(), '--images', lists.good, '--platforms', 'linux/arm64'],
      { env },
    )
    assert.equal(arm.status, 1)
    assert.deepEqual(statuses(arm.stdout), { 'docker.io/library/good:1.0': 'incomplete', 'registry.k8s.io/kube-proxy:v1.30.0': 'present' })
    assert.match(arm.stdout, /^docker\.io\/library\/good:1\.0 incomplete {2}\(library\/good:1\.0; lacks linux\/arm64\)$/m)
    const gone = await run(process.execPath, [...CLI, 'check', ...layoutFlags(), '--images', join(dir, 'nope.list')], { env })
    assert.equal(gone.status, 2)
    assert.match(gone.stderr, /nope\.list: cannot read the list \(it does not exist\)/)
    writeFileSync(join(dir, 'bad.list'), 'registry.k8s.io/pause:3.9\nkubeadm init\n')
    const bad = await run(process.execPath, [...CLI, 'check', ...layoutFlags(), '--images', join(dir, 'bad.list')], { env })
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /bad\.list:2: "kubeadm init": not an image reference/)
  })

  describe('against a running Outpost with requirements: configured', () => {
    let s: TestServer
    before(async () => {
      s = await startTestServer({
        bundle: dir,
        registry: { mappings: ['registry.k8s.io/=library/'] },
        requirements: { images: [lists.good], files: [lists.files] },
      })
      await s.running.scanned
    })
    after(async () => {
      await s?.close()
    })

    test('outpost check URL: the lists sent, answered by the server; with none, its own requirements', async () => {
      const sent = await run(process.execPath, [...CLI, 'check', ...listFlags(), '--platforms', 'linux/amd64', s.url], { env })
      assert.equal(sent.status, 1, sent.stderr)
      assert.deepEqual(statuses(sent.stdout), EXPECTED)
      const own = await run(process.execPath, [...CLI, 'check', s.url, '--json'], { env })
      assert.equal(own.status, 1, own.stderr)
      const report = JSON.parse(own.stdout)
      assert.deepEqual(
        Object.fromEntries(report.requirements.map((x: { requirement: string; status: string }) => [x.requirement, x.status])),
        {
          'docker.io/library/good:1.0': 'present',
          'registry.k8s.io/kube-proxy:v1.30.0': 'present',
          'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm': 'present',
          'https://get.helm.sh/helm-v3.14.2-linux-amd64.tar.gz': 'present',
          'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubelet': 'incomplete',
          'https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl': 'missing',
        },
      )
    })

    test('/readyz checks the requirements and names what is not present', async () => {
      const res = await request(s.url).get('/readyz')
      assert.equal(res.status, 503)
      const req = res.body.failing.find((c: { name: string }) => c.name === 'requirements')
      assert.ok(req, JSON.stringify(res.body))
      assert.match(req.detail, /^1 missing, 1 incomplete: /)
      assert.ok(
        req.detail.includes('https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubectl missing (no file root serves it)'),
        req.detail,
      )
      assert.ok(req.detail.includes('https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubelet incomplete'), req.detail)
    })

    test('a node checking in as arm64 while an image holds only amd64: named in the report and /nodes', async () => {
      const checkin = await request(s.url).post('/nodes/checkin').send({ hostname: 'arm-node-1', arch: 'arm64' })
      assert.equal(checkin.status, 200, checkin.text)
      await request(s.url).post('/nodes/checkin').send({ hostname: 'amd-node-1', arch: 'amd64' })
      const nodes = (await request(s.url).get('/nodes').set('Accept', 'application/json')).body
      const arm = nodes.nodes.find((n: { hostname: string }) => n.hostname === 'arm-node-1')
      assert.deepEqual(arm.flags, ['arch'])
      assert.deepEqual(arm.archMissing, { platform: 'linux/arm64', images: ['library/good:1.0'], count: 1 })
      const amd = nodes.nodes.find((n: { hostname: string }) => n.hostname === 'amd-node-1')
      assert.deepEqual(amd.flags, [])
      assert.equal(amd.archMissing, undefined)
      const text = (await request(s.url).get('/nodes').set('User-Agent', 'curl/8')).text
      assert.match(text, /^arm-node-1 .* ARCH$/m)
      assert.match(text, /^# ARCH arm-node-1: 1 image\(s\) lack linux\/arm64: library\/good:1\.0$/m)

      const own = await run(process.execPath, [...CLI, 'check', s.url], { env })
      assert.equal(own.status, 1)
      assert.match(own.stdout, /^# platforms needed: linux\/amd64 \(node amd-node-1\), linux\/arm64 \(node arm-node-1\)$/m)
      assert.match(
        own.stdout,
        /^docker\.io\/library\/good:1\.0 incomplete {2}\(library\/good:1\.0; lacks linux\/arm64, needed by arm-node-1\)$/m,
      )
      const json = JSON.parse((await run(process.execPath, [...CLI, 'check', s.url, '--json'], { env })).stdout)
      const good = json.requirements.find((x: { requirement: string }) => x.requirement === 'docker.io/library/good:1.0')
      assert.deepEqual(good.missingPlatforms, ['linux/arm64'])
      assert.deepEqual(good.nodes, ['arm-node-1'])
    })
  })
})
