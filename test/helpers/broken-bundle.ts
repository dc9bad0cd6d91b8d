/**
 * A kubeplay-shaped bundle (`registry/`, `nginx/`) whose images are broken
 * in the four ways a copy goes wrong, beside whole ones:
 *
 * - `library/pause:3.3` (Docker schema2, linux/amd64): its layer blob and
 *   its `_layers` link removed → `missing` layer;
 * - `library/multi:1.0` (index, linux/amd64 + linux/arm64/v8): the arm64
 *   child manifest removed (blob and revision link) → `missing` manifest;
 * - `library/badconfig:1.0`: its config blob overwritten with bytes that
 *   are not JSON (same size) → `corrupt` config;
 * - `library/win:1.0`: a foreign layer (with `urls`) not held → `foreign`;
 * - `library/good:1.0` (linux/amd64) and `library/both:1.0` (index,
 *   linux/amd64 + linux/arm64) whole.
 *
 * `nginx/files/dl.k8s.io/release/v1.30.0/bin/linux/amd64/` holds `kubeadm`
 * and an empty `kubelet`; `images_origin.yaml` maps registry.k8s.io/pause.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, Registry2Writer } from '../../src/images/index.js'
import { blobOf, makeImage, makeIndex, type Blob, type ImageParts } from '../../src/demo/images.js'

export interface BrokenBundle {
  dir: string
  registry: string
  nginx: string
  pause: ImageParts
  multiArm: ImageParts
  multiAmd: ImageParts
  multiIndex: Blob
  badconfig: ImageParts
  win: ImageParts
  foreignLayer: { digest: string; size: number }
  good: ImageParts
  both: Blob
}

const blobPath = (registry: string, digest: string): string => {
  const hex = digest.slice('sha256:'.length)
  return join(registry, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex)
}

const repoPath = (registry: string, repo: string): string => join(registry, 'docker/registry/v2/repositories', repo)

export const buildBrokenBundle = async (dir: string): Promise<BrokenBundle> => {
  const registry = join(dir, 'registry')
  const nginx = join(dir, 'nginx')
  const w = new Registry2Writer(registry)

  const pause = await makeImage({ architecture: 'amd64', format: 'docker', files: { pause: 'pause 3.3\n' } })
  w.putImage('library/pause', pause, ['3.3'])

  const multiAmd = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'a.txt': 'multi amd64\n' } })
  const multiArm = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'a.txt': 'multi arm64\n' } })
  const multiIndex = makeIndex([
    { image: multiAmd, platform: { architecture: 'amd64', os: 'linux' } },
    { image: multiArm, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
  ])
  w.putImage('library/multi', multiAmd)
  w.putImage('library/multi', multiArm)
  w.putManifest('library/multi', multiIndex, ['1.0'])

  const badconfig = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'b.txt': 'bad config\n' } })
  w.putImage('library/badconfig', badconfig, ['1.0'])

  // An image whose second layer is foreign: the manifest names it with URLs, the registry holds no bytes.
  const base = await makeImage({ architecture: 'amd64', format: 'docker', files: { 'w.txt': 'windows-ish\n' } })
  const foreignBytes = Buffer.from('foreign layer bytes that are never copied\n')
  const foreignLayer = { digest: blobOf(foreignBytes).digest, size: foreignBytes.length }
  const winManifest = blobOf(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: DOCKER_CONFIG, digest: base.config.digest, size: base.config.size },
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
            digest: foreignLayer.digest,
            size: foreignLayer.size,
            urls: ['https://mcr.microsoft.com/v2/windows/nanoserver/blobs/' + foreignLayer.digest],
          },
          { mediaType: DOCKER_LAYER_GZIP, digest: base.layers[0]!.digest, size: base.layers[0]!.size },
        ],
      },
      null,
      2,
    ),
  )
  const win: ImageParts = { config: base.config, layers: base.layers, manifest: winManifest, mediaType: DOCKER_MANIFEST }
  w.putImage('library/win', win, ['1.0'])

  const good = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'g.txt': 'good\n' } })
  w.putImage('library/good', good, ['1.0'])
  const bothArm = await makeImage({ architecture: 'arm64', format: 'oci', files: { 'a.txt': 'both arm64\n' } })
  const both = makeIndex([
    { image: good, platform: { architecture: 'amd64', os: 'linux' } },
    { image: bothArm, platform: { architecture: 'arm64', os: 'linux' } },
  ])
  w.putImage('library/both', good)
  w.putImage('library/both', bothArm)
  w.putManifest('library/both', both, ['1.0'])

  // The damage.
  rmSync(blobPath(registry, pause.layers[0]!.digest), { recursive: true })
  rmSync(join(repoPath(registry, 'library/pause'), '_layers/sha256', pause.layers[0]!.digest.slice(7)), { recursive: true })
  rmSync(blobPath(registry, multiArm.manifest.digest), { recursive: true })
  rmSync(join(repoPath(registry, 'library/multi'), '_manifests/revisions/sha256', multiArm.manifest.digest.slice(7)), { recursive: true })
  writeFileSync(join(blobPath(registry, badconfig.config.digest), 'data'), Buffer.alloc(badconfig.config.size, 0x7e))

  const release = join(nginx, 'files/dl.k8s.io/release/v1.30.0/bin/linux/amd64')
  mkdirSync(release, { recursive: true })
  writeFileSync(join(release, 'kubeadm'), Buffer.alloc(2048, 1))
  writeFileSync(join(release, 'kubelet'), '')
  writeFileSync(join(dir, 'images_origin.yaml'), '- src: registry.k8s.io/pause\n  dest: library/pause\n')
  return { dir, registry, nginx, pause, multiArm, multiAmd, multiIndex, badconfig, win, foreignLayer, good, both }
}
