#!/usr/bin/env node
// Writes what bench/push.sh pushes, under DIR:
// - big/blob and mid/blob (BIG_MIB and MID_MIB of random bytes), and the same
//   bytes cut into 8 MiB pieces (big/pieces/0000 …) for the chunked uploads;
// - variants.tsv: `file k suffix digest` — the digest of the blob when its
//   last 16 bytes are `suffix`, for VARIANTS suffixes per blob, so that every
//   upload sends new content (nothing is deduplicated) without writing or
//   hashing the whole blob again: the script writes the suffix into the blob
//   and its last piece, and the digests here come from one hash of the rest;
// - oci/: an OCI layout of SETS × IMAGES small multi-platform images (an
//   index over linux/amd64 and linux/arm64 images of one gzip layer of
//   4–32 KiB each), tagged `sNN-iNNN`, all with distinct content.
//   node bench/make-push-data.mjs DIR [BIG_MIB=1024] [MID_MIB=64] [VARIANTS=12] [SETS=6] [IMAGES=50]
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const [dir, bigMiB = '1024', midMiB = '64', variantCount = '12', setCount = '6', imageCount = '50'] = process.argv.slice(2)
if (!dir) {
  console.error('usage: make-push-data.mjs DIR [BIG_MIB] [MID_MIB] [VARIANTS] [SETS] [IMAGES]')
  process.exit(2)
}
const PIECE = 8 * 1024 * 1024
const SUFFIX = 16
/** The k-th suffix: 16 ASCII bytes, safe to pass through the shell. */
const suffixOf = (k) => `pushbench-v${String(k).padStart(5, '0')}`

const variants = []
/** A blob of `mib` MiB written whole and in pieces, with the digests of its variants. */
const makeBlob = (name, mib) => {
  const size = mib * 1024 * 1024
  const at = join(dir, name)
  mkdirSync(join(at, 'pieces'), { recursive: true })
  const whole = openSync(join(at, 'blob'), 'w')
  const hash = createHash('sha256')
  const chunk = randomBytes(PIECE)
  let pieces = 0
  for (let offset = 0; offset < size; offset += PIECE, pieces++) {
    const piece = chunk.subarray(0, Math.min(PIECE, size - offset))
    const last = offset + piece.length === size
    piece.writeUInt32LE(pieces, 0)
    if (last) piece.fill(0, piece.length - SUFFIX) // where the variant goes
    writeSync(whole, piece)
    writeFileSync(join(at, 'pieces', String(pieces).padStart(4, '0')), piece)
    hash.update(last ? piece.subarray(0, piece.length - SUFFIX) : piece)
  }
  closeSync(whole)
  for (let k = 0; k < Number(variantCount); k++) {
    const suffix = suffixOf(k)
    variants.push([name, k, suffix, `sha256:${hash.copy().update(suffix).digest('hex')}`].join('\t'))
  }
  return pieces
}

// ustar, one regular file: a 512-byte header, the bytes padded to 512, two empty blocks.
const tarOf = (name, body) => {
  const h = Buffer.alloc(512)
  const field = (value, offset, length) => h.write(value, offset, length, 'ascii')
  const octal = (n, length) => n.toString(8).padStart(length - 1, '0') + '\0'
  field(name, 0, 100)
  field(octal(0o644, 8), 100, 8)
  field(octal(0, 8), 108, 8)
  field(octal(0, 8), 116, 8)
  field(octal(body.length, 12), 124, 12)
  field(octal(0, 12), 136, 12)
  h.fill(0x20, 148, 156)
  field('0', 156, 1)
  field('ustar\x0000', 257, 8)
  let sum = 0
  for (const b of h) sum += b
  field(octal(sum, 7), 148, 7)
  return Buffer.concat([h, body, Buffer.alloc((512 - (body.length % 512)) % 512), Buffer.alloc(1024)])
}

const oci = join(dir, 'oci')
mkdirSync(join(oci, 'blobs/sha256'), { recursive: true })
const blob = (bytes, mediaType) => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
  const hex = createHash('sha256').update(b).digest('hex')
  writeFileSync(join(oci, 'blobs/sha256', hex), b)
  return { mediaType, digest: `sha256:${hex}`, size: b.length }
}
const image = (tag, arch) => {
  const tar = tarOf(`etc/bench-${tag}-${arch}`, randomBytes(randomInt(4096, 32768)))
  const layer = blob(gzipSync(tar, { level: 1 }), 'application/vnd.oci.image.layer.v1.tar+gzip')
  const config = blob(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${createHash('sha256').update(tar).digest('hex')}`] },
    }),
    'application/vnd.oci.image.config.v1+json',
  )
  const manifest = blob(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] }),
    'application/vnd.oci.image.manifest.v1+json',
  )
  return { ...manifest, platform: { architecture: arch, os: 'linux' } }
}
const refs = []
for (let s = 0; s < Number(setCount); s++) {
  for (let i = 0; i < Number(imageCount); i++) {
    const tag = `s${String(s).padStart(2, '0')}-i${String(i).padStart(3, '0')}`
    const index = blob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [image(tag, 'amd64'), image(tag, 'arm64')],
      }),
      'application/vnd.oci.image.index.v1+json',
    )
    refs.push({ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } })
  }
}
writeFileSync(join(oci, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
writeFileSync(join(oci, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: refs }))

const bigPieces = makeBlob('big', Number(bigMiB))
const midPieces = makeBlob('mid', Number(midMiB))
writeFileSync(join(dir, 'variants.tsv'), `${variants.join('\n')}\n`)
console.log(JSON.stringify({ big: { pieces: bigPieces }, mid: { pieces: midPieces }, images: refs.length }))
