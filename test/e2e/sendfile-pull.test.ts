/**
 * skopeo pulls an image with a large layer from Outpost twice, once with
 * blob bodies by sendfile and once by the JavaScript path
 * (`server.sendfile: off`): both copies are the same files, each named by
 * its digest.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Registry2Writer } from '../../src/images/index.js'
import { makeImage } from '../../src/demo/images.js'
import { sendfileStats } from '../../src/http/index.js'
import { startTestServer, tempDir } from '../helpers/server.js'
import { requireTool, runOk } from '../helpers/procs.js'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('skopeo gets the same image by sendfile and by the JavaScript path', async (t) => {
  const skopeo = requireTool('skopeo', 'skopeo')
  const dir = tempDir('outpost-e2e-sendfile-')
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  // Random bytes do not compress: the layer stays well over the 256 KiB small-body limit.
  const image = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'bin/blob': randomBytes(6 * 1024 * 1024) } })
  assert.ok(image.layers[0]!.size > 6 * 1024 * 1024)
  new Registry2Writer(join(dir, 'registry')).putImage('library/big', image, ['1.0'])

  const copies: Record<string, Record<string, string>> = {}
  for (const sendfile of ['auto', 'off'] as const) {
    const s = await startTestServer({ registry: { roots: [join(dir, 'registry')] }, server: { sendfile } })
    try {
      const before = sendfileStats().transfers
      const out = join(dir, `pulled-${sendfile}`)
      await runOk(skopeo, ['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${s.hostPort}/library/big:1.0`, `dir:${out}`])
      const used = sendfileStats().transfers - before
      if (sendfile === 'auto') assert.ok(used >= 1, 'the layer went by sendfile')
      else assert.equal(used, 0)
      copies[sendfile] = {}
      for (const name of readdirSync(out)) {
        const sum = sha256(readFileSync(join(out, name)))
        if (/^[a-f0-9]{64}$/.test(name)) assert.equal(sum, name, `${sendfile}: ${name}`)
        copies[sendfile]![name] = sum
      }
    } finally {
      await s.close()
    }
  }
  assert.ok(copies.auto![image.layers[0]!.digest.slice('sha256:'.length)], 'the layer was copied')
  assert.deepEqual(copies.auto, copies.off)
})
