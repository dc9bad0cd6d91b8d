/**
 * Real clients push into Outpost and pull back: skopeo copies a multi-arch
 * OCI index (digests preserved) and a Docker schema2 image (made by skopeo
 * from an OCI image) from an OCI layout into the push listener; skopeo and containerd pull them back through the HTTP and
 * HTTPS listeners with digests compared; then docker-registry, serving the
 * push root in place, serves the same digests. containerd needs root.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { OciLayoutWriter, OCI_INDEX } from '../../src/images/index.js'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, runOk, startDockerRegistry } from '../helpers/procs.js'
import { startContainerd, type Containerd } from '../helpers/containerd.js'
import { checkTree } from '../helpers/push.js'

const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** Every file of a skopeo `dir:` copy named by a digest holds exactly that content. */
const checkDirDigests = (dir: string): number => {
  let checked = 0
  for (const name of readdirSync(dir)) {
    if (/^[a-f0-9]{64}$/.test(name)) {
      assert.equal(sha256Hex(readFileSync(join(dir, name))), name, `${dir}/${name}`)
      checked++
    }
  }
  return checked
}

describe('skopeo pushes into Outpost; skopeo, containerd and docker-registry pull it back', () => {
  let dir: string
  let server: TestServer
  let ctd: Containerd
  let skopeo: string
  let amd64: ImageParts
  let arm64: ImageParts
  let index: Blob
  let pause: ImageParts
  /** The digest of the Docker schema2 manifest skopeo made of `pause` and pushed. */
  let pauseDigest: string
  let caFile: string
  let serverClosed = false
  const policy = ['--insecure-policy']
  const pushRoot = () => join(dir, 'push-root')

  before(async () => {
    skopeo = requireTool('skopeo', 'skopeo')
    const curl = requireTool('curl', 'curl')
    dir = tempDir('outpost-e2e-push-')
    amd64 = await makeImage({
      architecture: 'amd64',
      format: 'oci',
      files: { 'hello.sh': '#!/bin/sh\necho amd64\n', 'bin/tool': Buffer.alloc(400_000, 3) },
    })
    arm64 = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'hello.sh': '#!/bin/sh\necho arm64\n' } })
    index = makeIndex([
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ])
    pause = await makeImage({ architecture: 'amd64', format: 'oci', files: { pause: 'pause\n' } })
    const layout = new OciLayoutWriter(join(dir, 'layout'))
    for (const i of [amd64, arm64, pause]) layout.putImage(i)
    layout.addEntry(index, OCI_INDEX, 'multi')
    layout.addEntry(pause.manifest, pause.mediaType, 'pause')
    server = await startTestServer({
      listen: { https: '127.0.0.1:0', push: '127.0.0.1:0' },
      registry: { push_root: pushRoot(), delete: true },
    })
    mkdirSync(join(dir, 'node'))
    caFile = join(dir, 'node', 'outpost-ca.crt')
    await runOk(curl, ['-fsS', '-o', caFile, `${server.url}/ca.crt`])
    mkdirSync(join(dir, 'certs'))
    await runOk('cp', [caFile, join(dir, 'certs', 'ca.crt')])
  })

  after(async () => {
    await ctd?.stop()
    if (!serverClosed) await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const pushUrl = () => server.running.listeners.find((l) => l.name === 'push')!.url.replace('http://', '')

  test('skopeo copy --all into the push listener, digests preserved', async () => {
    const to = (name: string) => `docker://${pushUrl()}/${name}`
    await runOk(skopeo, [
      ...policy,
      'copy',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${join(dir, 'layout')}:multi`,
      to('library/hello:2.0'),
    ])
    // skopeo reads only OCI manifests from a layout: the Docker image is made on the way (--format v2s2).
    const digestFile = join(dir, 'pause.digest')
    await runOk(skopeo, [
      ...policy,
      'copy',
      '--format',
      'v2s2',
      '--digestfile',
      digestFile,
      '--dest-tls-verify=false',
      `oci:${join(dir, 'layout')}:pause`,
      to('library/pause:3.10'),
    ])
    pauseDigest = readFileSync(digestFile, 'utf8').trim()
    assert.match(pauseDigest, /^sha256:[0-9a-f]{64}$/)
    assert.deepEqual(checkTree(pushRoot()), [])
  })

  test('skopeo reads them back over HTTP and HTTPS, byte for byte', async () => {
    for (const [from, tls] of [
      [`docker://${server.hostPort}`, ['--tls-verify=false']],
      [`docker://${server.httpsHostPort}`, ['--cert-dir', join(dir, 'certs')]],
    ] as const) {
      const raw = await runOk(skopeo, [...policy, 'inspect', '--raw', ...tls, `${from}/library/hello:2.0`])
      assert.equal(sha256Hex(raw.stdout), index.digest.slice(7), from)
      const single = await runOk(skopeo, [...policy, 'inspect', '--raw', ...tls, `${from}/library/pause:3.10`])
      assert.equal(sha256Hex(single.stdout), pauseDigest.slice(7), from)
    }
    const out = join(dir, 'out-all')
    await runOk(skopeo, [
      ...policy,
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${server.hostPort}/library/hello:2.0`,
      `dir:${out}`,
    ])
    assert.ok(checkDirDigests(out) >= 4)
    assert.equal(sha256Hex(readFileSync(join(out, 'manifest.json'))), index.digest.slice(7))
    const tags = await runOk(skopeo, [...policy, 'list-tags', '--tls-verify=false', `docker://${server.hostPort}/library/hello`])
    assert.deepEqual(JSON.parse(tags.stdout).Tags, ['2.0'])
  })

  test('containerd pulls them through the HTTP and the HTTPS listener', async () => {
    ctd = await startContainerd(join(dir, 'containerd'))
    ctd.mirror('docker.io', server.url)
    ctd.mirror('registry.k8s.io', server.httpsUrl!, { ca: caFile })
    await ctd.pull('docker.io/library/hello:2.0')
    await ctd.pull('registry.k8s.io/library/pause:3.10')
    const ls = await ctd.ctr(['images', 'ls'])
    const hello = ls.stdout.split('\n').find((l) => l.startsWith('docker.io/library/hello:2.0'))
    assert.ok(hello, ls.stdout)
    assert.ok(hello.includes(index.digest), hello)
    assert.ok(hello.includes('linux/amd64,linux/arm64'), hello)
    const p = ls.stdout.split('\n').find((l) => l.startsWith('registry.k8s.io/library/pause:3.10'))
    assert.ok(p, ls.stdout)
    assert.ok(p.includes(pauseDigest), p)
    assert.ok(p.includes('application/vnd.docker.distribution.manifest.v2+json'), p)
    const check = await ctd.ctr(['images', 'check'])
    assert.match(check.stdout, /docker\.io\/library\/hello:2\.0\s+\S+\s+\S+\s+complete/)
  })

  test('docker-registry serving the push root in place serves the same digests', async () => {
    await server.close()
    serverClosed = true
    const reference = await startDockerRegistry(dir, pushRoot())
    try {
      const from = (name: string) => `docker://${reference.hostPort}/${name}`
      const raw = await runOk(skopeo, [...policy, 'inspect', '--raw', '--tls-verify=false', from('library/hello:2.0')])
      assert.equal(sha256Hex(raw.stdout), index.digest.slice(7))
      const single = await runOk(skopeo, [...policy, 'inspect', '--raw', '--tls-verify=false', from('library/pause:3.10')])
      assert.equal(sha256Hex(single.stdout), pauseDigest.slice(7))
      const out = join(dir, 'out-reference')
      await runOk(skopeo, [...policy, 'copy', '--all', '--src-tls-verify=false', from('library/hello:2.0'), `dir:${out}`])
      assert.ok(checkDirDigests(out) >= 4)
      const catalog = await runOk('curl', ['-fsS', `http://${reference.hostPort}/v2/_catalog`])
      assert.deepEqual(JSON.parse(catalog.stdout).repositories, ['library/hello', 'library/pause'])
    } finally {
      await reference.stop()
    }
  })
})
