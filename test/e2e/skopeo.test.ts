/**
 * skopeo against Outpost, on a registry:2 tree written by the real
 * docker-registry: images are pushed into docker-registry with skopeo from
 * OCI layouts the test makes, then pulled back from Outpost serving the same
 * storage, every blob checked against its digest.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { OciLayoutWriter, OCI_INDEX } from '../../src/images/index.js'
import { makeImage, makeIndex, type ImageParts, type Blob } from '../../src/demo/images.js'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { requireTool, runOk, startDockerRegistry } from '../helpers/procs.js'

const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Every file of a skopeo `dir:` copy that is named by a digest holds exactly that content. */
const checkDirDigests = (dir: string): number => {
  let checked = 0
  for (const name of readdirSync(dir)) {
    if (/^[a-f0-9]{64}$/.test(name)) {
      assert.equal(sha256File(join(dir, name)), name, `${dir}/${name}`)
      checked++
    }
  }
  return checked
}

describe('skopeo pulls from Outpost what docker-registry stored', () => {
  let dir: string
  let server: TestServer
  let amd64: ImageParts
  let arm64: ImageParts
  let index: Blob
  let skopeo: string
  const policy = ['--insecure-policy']

  before(async () => {
    skopeo = requireTool('skopeo', 'skopeo')
    dir = tempDir('outpost-e2e-skopeo-')
    amd64 = await makeImage({
      architecture: 'amd64',
      format: 'oci',
      files: { 'etc/arch': 'amd64\n', 'bin/tool': Buffer.alloc(300_000, 7) },
    })
    arm64 = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'etc/arch': 'arm64\n' } })
    index = makeIndex([
      { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
      { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ])
    const layout = new OciLayoutWriter(join(dir, 'layout'))
    layout.putImage(amd64)
    layout.putImage(arm64)
    layout.addEntry(index, OCI_INDEX, 'multi')
    layout.addEntry(amd64.manifest, amd64.mediaType, 'single')

    const storage = join(dir, 'storage')
    const reference = await startDockerRegistry(dir, storage)
    try {
      const to = (name: string) => `docker://${reference.hostPort}/${name}`
      await runOk(skopeo, [
        ...policy,
        'copy',
        '--all',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'layout')}:multi`,
        to('library/multi:1.0'),
      ])
      await runOk(skopeo, [
        ...policy,
        'copy',
        '--format',
        'v2s2',
        '--dest-tls-verify=false',
        `oci:${join(dir, 'layout')}:single`,
        to('library/pause:3.9'),
      ])
    } finally {
      await reference.stop()
    }
    server = await startTestServer({ registry: { roots: [storage] } })
  })

  after(async () => {
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const from = (name: string) => `docker://${server.hostPort}/${name}`

  test('inspect --raw returns the stored index byte for byte', async () => {
    const r = await runOk(skopeo, [...policy, 'inspect', '--raw', '--tls-verify=false', from('library/multi:1.0')])
    assert.equal(createHash('sha256').update(r.stdout).digest('hex'), index.digest.slice(7))
  })

  test('copy --all of the index to dir:, every blob matches its digest', async () => {
    const out = join(dir, 'out-all')
    await runOk(skopeo, [...policy, 'copy', '--all', '--src-tls-verify=false', from('library/multi:1.0'), `dir:${out}`])
    const checked = checkDirDigests(out)
    // index-less dir: holds config + layer of both platforms, and both child manifests
    assert.ok(checked >= 4, `checked ${checked} blobs`)
    assert.equal(sha256File(join(out, 'manifest.json')), index.digest.slice(7))
  })

  test('copy with --override-arch arm64 picks the arm64 image', async () => {
    const out = join(dir, 'out-arm64')
    await runOk(skopeo, [...policy, '--override-arch', 'arm64', 'copy', '--src-tls-verify=false', from('library/multi:1.0'), `dir:${out}`])
    checkDirDigests(out)
    assert.equal(sha256File(join(out, 'manifest.json')), arm64.manifest.digest.slice(7))
    assert.ok(readdirSync(out).includes(arm64.layers[0]!.digest.slice(7)))
  })

  test('copy of the Docker schema2 image, and by digest', async () => {
    const out = join(dir, 'out-pause')
    await runOk(skopeo, [...policy, 'copy', '--src-tls-verify=false', from('library/pause:3.9'), `dir:${out}`])
    checkDirDigests(out)
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'))
    assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
    const digest = `sha256:${sha256File(join(out, 'manifest.json'))}`
    const again = join(dir, 'out-pause-digest')
    await runOk(skopeo, [...policy, 'copy', '--src-tls-verify=false', from(`library/pause@${digest}`), `dir:${again}`])
    checkDirDigests(again)
  })

  test('list-tags and upstream names', async () => {
    const tags = await runOk(skopeo, [...policy, 'list-tags', '--tls-verify=false', from('library/multi')])
    assert.deepEqual(JSON.parse(tags.stdout).Tags, ['1.0'])
    // The upstream host in the path, for clients that cannot send ns=.
    const viaHost = await runOk(skopeo, [...policy, 'inspect', '--tls-verify=false', from('docker.io/library/pause:3.9')])
    assert.equal(JSON.parse(viaHost.stdout).Architecture, 'amd64')
  })
})
