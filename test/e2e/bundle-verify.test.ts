/**
 * `outpost verify` on a broken bundle names each problem of each image
 * (image, platform, kind, digest) and exits 1; `--write-manifest` on the
 * connected side and `--manifest` on the far side report what went missing,
 * what changed and what was added across the gap.
 */
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildBrokenBundle, type BrokenBundle } from '../helpers/broken-bundle.js'
import { tempDir } from '../helpers/server.js'
import { run } from '../helpers/procs.js'

const CLI = ['--import', 'tsx', 'src/cli/index.ts']
const env = { ...process.env, OUTPOST_CONFIG: '' }

describe('outpost verify: images whole, and the bundle manifest', () => {
  let dir: string
  let b: BrokenBundle
  before(async () => {
    dir = tempDir('outpost-verify-')
    b = await buildBrokenBundle(join(dir, 'bundle'))
  })
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  const verify = (bundle: string, ...more: string[]) =>
    run(process.execPath, [...CLI, 'verify', '--bundle', bundle, '--data-dir', join(dir, 'data'), ...more], { env })

  test('each broken image on one line: image, platform, kind, digest; exit 1', async () => {
    const r = await verify(b.dir)
    assert.equal(r.status, 1, r.stdout + r.stderr)
    const images = r.stdout.split('\n').filter((l) => l.startsWith('IMAGE '))
    assert.deepEqual(images, [
      `IMAGE library/badconfig:1.0 unknown corrupt ${b.badconfig.config.digest} (config: bytes do not match the digest)`,
      `IMAGE library/multi:1.0 linux/arm64/v8 missing ${b.multiArm.manifest.digest} (manifest)`,
      `IMAGE library/pause:3.3 linux/amd64 missing ${b.pause.layers[0]!.digest} (layer)`,
      `IMAGE library/win:1.0 linux/amd64 foreign ${b.foreignLayer.digest} (layer)`,
    ])
    // The config's bytes fail their hash too: one problem, named as a blob and in the image that needs it.
    assert.match(r.stdout, new RegExp(`^BLOB .*/${b.badconfig.config.digest.slice(7)}/data: content is sha256:`, 'm'))
    assert.match(r.stdout, /: 3 problem\(s\); 3 broken image\(s\), 1 foreign layer\(s\) not held/)
    const json = await verify(b.dir, '--json')
    assert.equal(json.status, 1)
    const report = JSON.parse(json.stdout)
    assert.equal(report.ok, false)
    assert.deepEqual(
      report.problems.map((p: { image: string; platform: string; digest: string; kind: string }) => [
        p.image,
        p.platform,
        p.kind,
        p.digest,
      ]),
      [
        ['library/badconfig:1.0', 'unknown', 'corrupt', b.badconfig.config.digest],
        ['library/multi:1.0', 'linux/arm64/v8', 'missing', b.multiArm.manifest.digest],
        ['library/pause:3.3', 'linux/amd64', 'missing', b.pause.layers[0]!.digest],
        ['library/win:1.0', 'linux/amd64', 'foreign', b.foreignLayer.digest],
      ],
    )
  })

  test('--write-manifest, then --manifest across the gap: missing, different, extra', async () => {
    const manifest = join(dir, 'bundle.manifest')
    const wrote = await verify(b.dir, '--write-manifest', manifest)
    assert.equal(wrote.status, 1, 'the problems of the bundle still count')
    assert.match(wrote.stdout, /^wrote .*bundle\.manifest: 21 blobs, 2 files, 6 tags$/m)
    const lines = readFileSync(manifest, 'utf8').trim().split('\n')
    assert.equal(JSON.parse(lines[0]!).outpost, 'bundle-manifest')
    const goodLayer = b.good.layers[0]!
    assert.ok(
      lines.includes(JSON.stringify({ blob: goodLayer.digest, size: goodLayer.size, sha256: goodLayer.digest.slice(7) })),
      'every blob with its size and sha256',
    )
    assert.ok(lines.some((l) => l.startsWith('{"file":"/files/dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm","size":2048,"sha256":"')))
    assert.ok(lines.includes(JSON.stringify({ tag: 'library/good:1.0', digest: b.good.manifest.digest })))

    // The same bundle on the far side: all as recorded.
    const far = join(dir, 'far')
    cpSync(b.dir, far, { recursive: true })
    const same = await verify(far, '--manifest', manifest)
    assert.match(same.stdout, /: 29 as recorded, 0 missing, 0 different, 0 extra$/m)
    assert.equal(same.status, 1, 'the broken images are still broken')

    // Damage in transit.
    const hex = goodLayer.digest.slice(7)
    rmSync(join(far, 'registry/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true })
    writeFileSync(join(far, 'nginx/files/dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm'), Buffer.alloc(2048, 2))
    writeFileSync(join(far, 'nginx/stray.txt'), 'not in the manifest\n')
    const r = await verify(far, '--manifest', manifest)
    assert.equal(r.status, 1)
    assert.match(r.stdout, new RegExp(`^MISSING blob ${goodLayer.digest} \\(${goodLayer.size} bytes, sha256 ${hex.slice(0, 16)}…\\)$`, 'm'))
    assert.match(
      r.stdout,
      /^DIFFERENT file \/files\/dl\.k8s\.io\/release\/v1\.30\.0\/bin\/linux\/amd64\/kubeadm: 2048 bytes, sha256 \S+ here, 2048 bytes, sha256 \S+ in the manifest$/m,
    )
    assert.match(r.stdout, /^EXTRA file \/stray\.txt \(20 bytes, sha256 \S+\)$/m)
    assert.match(r.stdout, /: 27 as recorded, 1 missing, 1 different, 1 extra$/m)
    // The missing layer breaks the images that need it, named as such.
    assert.match(r.stdout, new RegExp(`^IMAGE library/good:1\\.0 linux/amd64 missing ${goodLayer.digest} \\(layer\\)$`, 'm'))

    const bad = await verify(far, '--manifest', join(dir, 'nope'))
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /--manifest: .*nope cannot be read \(ENOENT\)/)
  })
})
