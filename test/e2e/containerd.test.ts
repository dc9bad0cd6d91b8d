/**
 * containerd pulls upstream names through Outpost as a hosts.toml mirror:
 * `k8s.gcr.io/…` and `docker.io/library/…` resolve to the stored
 * repositories through images_origin.yaml and the ns parameter, on a
 * registry:2 tree that docker-registry wrote.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { OciLayoutWriter, OCI_INDEX } from '../../src/images/index.js'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, runOk, startDockerRegistry } from '../helpers/procs.js'
import { startContainerd, type Containerd } from '../helpers/containerd.js'

describe('containerd pulls through Outpost with hosts.toml mirrors', () => {
  let dir: string
  let server: TestServer
  let ctd: Containerd
  let apiserver: ImageParts
  let nginxIndex: Blob

  before(async () => {
    const skopeo = requireTool('skopeo', 'skopeo')
    dir = tempDir('outpost-e2e-containerd-')
    apiserver = await makeImage({
      architecture: 'amd64',
      format: 'oci',
      files: { 'usr/local/bin/kube-apiserver': '#!/bin/sh\necho apiserver\n' },
    })
    const ngAmd = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'etc/nginx/arch': 'amd64\n' } })
    const ngArm = await makeImage({ architecture: 'arm64', format: 'oci', files: { 'etc/nginx/arch': 'arm64\n' } })
    nginxIndex = makeIndex([
      { image: ngAmd, platform: { architecture: 'amd64', os: 'linux' } },
      { image: ngArm, platform: { architecture: 'arm64', os: 'linux' } },
    ])
    const layout = new OciLayoutWriter(join(dir, 'layout'))
    for (const i of [apiserver, ngAmd, ngArm]) layout.putImage(i)
    layout.addEntry(apiserver.manifest, apiserver.mediaType, 'apiserver')
    layout.addEntry(nginxIndex, OCI_INDEX, 'nginx')

    const storage = join(dir, 'storage')
    const reference = await startDockerRegistry(dir, storage)
    try {
      const to = (name: string) => `docker://${reference.hostPort}/${name}`
      await runOk(skopeo, [
        '--insecure-policy',
        'copy',
        '--format',
        'v2s2',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'layout')}:apiserver`,
        to('library/kube-apiserver:v1.21.3'),
      ])
      await runOk(skopeo, [
        '--insecure-policy',
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'layout')}:nginx`,
        to('library/nginx:1.25'),
      ])
    } finally {
      await reference.stop()
    }
    writeFileSync(join(dir, 'images_origin.yaml'), '- src: k8s.gcr.io/kube-apiserver\n  dest: library/kube-apiserver\n')
    server = await startTestServer({ registry: { roots: [storage], images_origin: [join(dir, 'images_origin.yaml')] } })
    ctd = await startContainerd(join(dir, 'containerd'))
    ctd.mirror('k8s.gcr.io', server.url)
    ctd.mirror('docker.io', server.url)
  })

  after(async () => {
    await ctd?.stop()
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('k8s.gcr.io/kube-apiserver pulls and unpacks through images_origin.yaml', async () => {
    await ctd.pull('k8s.gcr.io/kube-apiserver:v1.21.3')
    const ls = await ctd.ctr(['images', 'ls'])
    const line = ls.stdout.split('\n').find((l) => l.startsWith('k8s.gcr.io/kube-apiserver:v1.21.3'))
    assert.ok(line, ls.stdout)
    // skopeo stored it as Docker schema2 (--format v2s2): containerd saw that type.
    assert.ok(line.includes('application/vnd.docker.distribution.manifest.v2+json'), line)
    assert.ok(line.includes('linux/amd64'), line)
    const check = await ctd.ctr(['images', 'check'])
    assert.match(check.stdout, /k8s\.gcr\.io\/kube-apiserver:v1\.21\.3\s+\S+\s+\S+\s+complete/)
  })

  test('docker.io/library/nginx pulls the index; containerd picks its platform', async () => {
    await ctd.pull('docker.io/library/nginx:1.25')
    const ls = await ctd.ctr(['images', 'ls'])
    const line = ls.stdout.split('\n').find((l) => l.startsWith('docker.io/library/nginx:1.25'))
    assert.ok(line, ls.stdout)
    assert.ok(line.includes(nginxIndex.digest), line)
    assert.ok(line.includes('linux/amd64,linux/arm64'), line)
  })

  test('a name Outpost does not hold fails the pull', async () => {
    await assert.rejects(ctd.pull('k8s.gcr.io/kube-proxy:v1.21.3'), /not found|404|NAME_UNKNOWN/i)
  })
})
