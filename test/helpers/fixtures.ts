/**
 * Image fixtures written with the project's own layout writers: a registry:2
 * tree and an OCI layout holding a multi-arch index, a Docker schema2 image,
 * a large blob, and a referrer artifact.
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Registry2Writer, OciLayoutWriter, OCI_INDEX, OCI_MANIFEST, DOCKER_LIST } from '../../src/images/index.js'
import { makeImage, makeIndex, blobOf, type Blob, type ImageParts } from '../../src/demo/images.js'

export interface Fixture {
  root: string
  amd64: ImageParts
  arm64: ImageParts
  index: Blob
  docker: ImageParts
  dockerList: Blob
  big: Blob
  /** An artifact whose subject is the amd64 manifest. */
  sbom: ImageParts
  /** A blob written to the store but linked to no repository. */
  unlinked: Blob
}

export const buildImages = async () => {
  const amd64 = await makeImage({ architecture: 'amd64', format: 'oci', files: { 'a.txt': 'amd64\n' } })
  const arm64 = await makeImage({ architecture: 'arm64', variant: 'v8', format: 'oci', files: { 'a.txt': 'arm64\n' } })
  const index = makeIndex([
    { image: amd64, platform: { architecture: 'amd64', os: 'linux' } },
    { image: arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
  ])
  const docker = await makeImage({ architecture: 'amd64', format: 'docker', files: { pause: 'pause\n' } })
  const dockerList = makeIndex([{ image: docker, platform: { architecture: 'amd64', os: 'linux' } }], DOCKER_LIST)
  const sbom = await makeImage({
    architecture: 'amd64',
    format: 'oci',
    files: { 'sbom.json': '{}' },
    artifactType: 'application/spdx+json',
    subject: { mediaType: OCI_MANIFEST, digest: amd64.manifest.digest, size: amd64.manifest.size },
    annotations: { 'org.example.kind': 'sbom' },
  })
  const big = blobOf(randomBytes(3 * 1024 * 1024 + 17))
  const unlinked = blobOf(randomBytes(1000))
  return { amd64, arm64, index, docker, dockerList, sbom, big, unlinked }
}

/** registry:2 tree: library/multi (index, tags 1.0 + latest), library/pause (schema2 + list), nested/deep/name. */
export const buildRegistry2 = async (root: string): Promise<Fixture> => {
  const images = await buildImages()
  const w = new Registry2Writer(root)
  w.putImage('library/multi', images.amd64)
  w.putImage('library/multi', images.arm64)
  w.putManifest('library/multi', images.index, ['1.0', 'latest'])
  w.putImage('library/multi', images.sbom)
  w.linkLayer('library/multi', images.big)
  w.putImage('library/pause', images.docker, ['3.9'])
  w.putManifest('library/pause', images.dockerList, ['list'])
  w.putImage('nested/deep/name', images.docker, ['v1'])
  w.putBlob(images.unlinked)
  return { root, ...images }
}

/** OCI layout: the same images; tags `1.0` and `latest` for the layout's name, plus a full reference. */
export const buildOciLayout = async (root: string): Promise<Fixture> => {
  const images = await buildImages()
  const w = new OciLayoutWriter(root)
  for (const img of [images.amd64, images.arm64, images.docker, images.sbom]) w.putImage(img)
  w.putBlob(images.big)
  w.addEntry(images.index, OCI_INDEX, '1.0')
  w.addEntry(images.index, OCI_INDEX, 'latest')
  w.addEntry(images.sbom.manifest, OCI_MANIFEST)
  w.addEntry(images.docker.manifest, images.docker.mediaType, 'docker.io/library/pause:3.9')
  return { root, ...images }
}

export const fixtureDir = (base: string, name: string): string => join(base, name)
