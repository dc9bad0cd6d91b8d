/**
 * Opening a path as an image source: which of the four kinds it is, told by
 * what it holds.
 *   folder with `oci-layout`                       OCI image layout
 *   folder with `manifest.json` and `version`      skopeo dir: copy
 *   tar with `manifest.json` at the top            docker save (with or without an OCI layout inside)
 *   tar with `oci-layout` and `index.json`         oci-archive
 * A compressed archive is refused with what to do: members must be read at
 * their offsets, which a gzip stream cannot give.
 */
import { open, stat } from 'node:fs/promises'
import { DirContainer, TarContainer, type Container } from './container.js'
import { readDockerArchive } from './docker-archive.js'
import { ImportError, messageOf } from './errors.js'
import { readOciLayout } from './oci.js'
import { readSkopeoDir } from './skopeo-dir.js'
import { SourceBuilder, type ImageSource, type SourceKind } from './source.js'

const COMPRESSIONS: Array<[string, Buffer, string]> = [
  ['gzip', Buffer.from([0x1f, 0x8b]), 'gunzip -k'],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd -d'],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz -dk'],
  ['bzip2', Buffer.from('BZh'), 'bunzip2 -k'],
]

const firstBytes = async (path: string): Promise<Buffer> => {
  const handle = await open(path, 'r')
  try {
    const buf = Buffer.alloc(8)
    const { bytesRead } = await handle.read(buf, 0, 8, 0)
    return buf.subarray(0, bytesRead)
  } finally {
    await handle.close()
  }
}

const kindOfFolder = async (dir: DirContainer): Promise<SourceKind> => {
  if ((await dir.size('oci-layout')) !== undefined) return 'oci-layout'
  if ((await dir.size('manifest.json')) !== undefined && (await dir.size('version')) !== undefined) return 'skopeo-dir'
  throw new ImportError(
    dir.path,
    undefined,
    'not an image folder: expected an OCI image layout (oci-layout, index.json, blobs/) or a skopeo dir: copy (manifest.json, version)',
  )
}

const kindOfArchive = async (tar: TarContainer): Promise<SourceKind> => {
  if ((await tar.size('manifest.json')) !== undefined) return 'docker-archive'
  if ((await tar.size('oci-layout')) !== undefined && (await tar.size('index.json')) !== undefined) return 'oci-archive'
  throw new ImportError(
    tar.path,
    undefined,
    'not an image archive: expected manifest.json (docker save) or oci-layout and index.json (oci-archive) at its top',
  )
}

/** Opens and reads a source; every manifest is read and checked, every blob found. Close it when done. */
export const openSource = async (path: string): Promise<ImageSource> => {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new ImportError(path, undefined, `cannot open: ${messageOf(err)}`)
  }
  let container: Container
  let kind: SourceKind
  if (info.isDirectory()) {
    const dir = new DirContainer(path)
    kind = await kindOfFolder(dir)
    container = dir
  } else {
    const head = await firstBytes(path).catch((err: unknown) => {
      throw new ImportError(path, undefined, `cannot read: ${messageOf(err)}`)
    })
    for (const [name, magic, command] of COMPRESSIONS) {
      if (head.subarray(0, magic.length).equals(magic)) {
        throw new ImportError(path, undefined, `${name}-compressed: decompress it first (${command} ${path}) and import the .tar`)
      }
    }
    const tar = await TarContainer.open(path)
    try {
      kind = await kindOfArchive(tar)
    } catch (err) {
      await tar.close()
      throw err
    }
    container = tar
  }
  const builder = new SourceBuilder(container, kind)
  try {
    if (kind === 'oci-layout' || kind === 'oci-archive') await readOciLayout(builder)
    else if (kind === 'skopeo-dir') await readSkopeoDir(builder)
    else await readDockerArchive(builder)
  } catch (err) {
    await container.close()
    throw err
  }
  return builder.build()
}
