/**
 * containerd pulls over HTTPS with full verification: hosts.toml names
 * Outpost's HTTPS listener and `ca = "<path>"` points at the /ca.crt a node
 * fetched. Without the CA the same pull is refused. Needs root (containerd).
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js'
import { buildRegistry2, type Fixture } from '../helpers/fixtures.js'
import { requireTool, runOk } from '../helpers/procs.js'
import { startContainerd, type Containerd } from '../helpers/containerd.js'

describe('containerd pulls through Outpost over HTTPS, trusting /ca.crt', () => {
  let dir: string
  let server: TestServer
  let ctd: Containerd
  let fx: Fixture
  let caFile: string

  before(async () => {
    const curl = requireTool('curl', 'curl')
    dir = tempDir('outpost-e2e-containerd-tls-')
    fx = await buildRegistry2(join(dir, 'registry'))
    server = await startTestServer({ registry: { roots: [join(dir, 'registry')] }, listen: { https: '127.0.0.1:0' } })
    mkdirSync(join(dir, 'node'))
    caFile = join(dir, 'node', 'outpost-ca.crt')
    await runOk(curl, ['-fsS', '-o', caFile, `${server.url}/ca.crt`])
    ctd = await startContainerd(join(dir, 'containerd'))
  })

  after(async () => {
    await ctd?.stop()
    await server?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('docker.io/library/pause:3.9 through an HTTPS mirror with ca = /ca.crt', async () => {
    ctd.mirror('docker.io', server.httpsUrl!, { ca: caFile })
    await ctd.pull('docker.io/library/pause:3.9')
    const ls = await ctd.ctr(['images', 'ls'])
    const line = ls.stdout.split('\n').find((l) => l.startsWith('docker.io/library/pause:3.9'))
    assert.ok(line, ls.stdout)
    assert.ok(line.includes(fx.docker.manifest.digest), line)
  })

  test('the multi-arch index by the registry host itself, over HTTPS', async () => {
    const host = server.httpsHostPort!
    ctd.mirror(host, server.httpsUrl!, { ca: caFile })
    await ctd.pull(`${host}/library/multi:latest`)
    const ls = await ctd.ctr(['images', 'ls'])
    const line = ls.stdout.split('\n').find((l) => l.startsWith(`${host}/library/multi:latest`))
    assert.ok(line?.includes(fx.index.digest), ls.stdout)
  })

  test('without the CA the pull is refused (verification is on)', async () => {
    ctd.mirror('registry.k8s.io', server.httpsUrl!)
    await assert.rejects(ctd.pull('registry.k8s.io/library/pause:3.9'), /x509|certificate/i)
  })
})
