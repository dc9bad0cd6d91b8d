#!/usr/bin/env node
// Writes a registry:2 tree for benchmarks, the layout docker-registry writes:
// bench/library/big (1 GiB layer), bench/library/mid (64 MiB layer), and
// bench/repo-N repositories with small images and several tags each.
//   node bench/make-registry-tree.mjs ROOT [BIG_MIB=1024] [MID_MIB=64] [REPOS=50]
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync, existsSync, renameSync, openSync, writeSync, closeSync } from 'node:fs'
import { join, dirname } from 'node:path'

const [root, bigMiB = '1024', midMiB = '64', repoCount = '50'] = process.argv.slice(2)
if (!root) {
  console.error('usage: make-registry-tree.mjs ROOT [BIG_MIB] [MID_MIB] [REPOS]')
  process.exit(2)
}
const base = join(root, 'docker/registry/v2')
const put = (path, bytes) => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(`${path}.tmp`, bytes)
  renameSync(`${path}.tmp`, path)
}
const blobPath = (hex) => join(base, 'blobs/sha256', hex.slice(0, 2), hex, 'data')
const putBlob = (bytes) => {
  const hex = createHash('sha256').update(bytes).digest('hex')
  if (!existsSync(blobPath(hex))) put(blobPath(hex), bytes)
  return { digest: `sha256:${hex}`, size: bytes.length }
}
/** A large random blob written in 8 MiB chunks, hashed on the way. */
const putBigBlob = (mib) => {
  const tmp = join(base, `big-${mib}.tmp`)
  mkdirSync(base, { recursive: true })
  const fd = openSync(tmp, 'w')
  const hash = createHash('sha256')
  const chunk = randomBytes(8 * 1024 * 1024)
  for (let i = 0; i < mib / 8; i++) {
    chunk.writeUInt32LE(i, 0)
    hash.update(chunk)
    writeSync(fd, chunk)
  }
  closeSync(fd)
  const hex = hash.digest('hex')
  mkdirSync(dirname(blobPath(hex)), { recursive: true })
  renameSync(tmp, blobPath(hex))
  return { digest: `sha256:${hex}`, size: mib * 1024 * 1024 }
}
const link = (path, digest) => put(path, digest)
const image = (repo, layer, tags) => {
  const config = putBlob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, repo })),
  )
  const manifest = putBlob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', ...layer }],
      }),
    ),
  )
  const r = join(base, 'repositories', repo)
  for (const b of [config, layer]) link(join(r, '_layers/sha256', b.digest.slice(7), 'link'), b.digest)
  link(join(r, '_manifests/revisions/sha256', manifest.digest.slice(7), 'link'), manifest.digest)
  for (const tag of tags) {
    link(join(r, '_manifests/tags', tag, 'current/link'), manifest.digest)
    link(join(r, '_manifests/tags', tag, 'index/sha256', manifest.digest.slice(7), 'link'), manifest.digest)
  }
  return manifest
}

const out = {}
out.big = { layer: putBigBlob(Number(bigMiB)) }
out.big.manifest = image('bench/library/big', out.big.layer, ['v1'])
out.mid = { layer: putBigBlob(Number(midMiB)) }
out.mid.manifest = image('bench/library/mid', out.mid.layer, ['v1', 'latest'])
for (let i = 0; i < Number(repoCount); i++) {
  const layer = putBlob(randomBytes(4096))
  image(
    `bench/repo-${String(i).padStart(3, '0')}`,
    layer,
    Array.from({ length: 20 }, (_, t) => `v1.${t}.0`),
  )
}
console.log(JSON.stringify(out))
