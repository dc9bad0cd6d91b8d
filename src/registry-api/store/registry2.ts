/**
 * The registry:2 filesystem layout, read in place (distribution
 * registry/storage/paths.go). Under `<root>/docker/registry/v2`:
 *
 *   blobs/<alg>/<hex[0:2]>/<hex>/data                       content, manifests included
 *   repositories/<name>/                                    name may nest: library/calico/node
 *     _manifests/tags/<tag>/current/link                    "sha256:<hex>"
 *     _manifests/tags/<tag>/index/<alg>/<hex>/link          tag history (unused here)
 *     _manifests/revisions/<alg>/<hex>/link                 manifests of the repository
 *     _layers/<alg>/<hex>/link                              blobs linked to the repository
 *     _uploads/                                             push state (unused here)
 *
 * A repository is any directory holding `_manifests`. Names, tags and
 * digests are validated by the caller before they reach a path here, so no
 * component can be `..`.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseDigest, type Digest } from '../grammar.js'
import type { ImageStore } from './types.js'

export const REGISTRY2_SUBDIR = join('docker', 'registry', 'v2')

/** Accepts either the registry root (holding docker/registry/v2) or the v2 folder itself. */
export const registry2Base = (root: string): string => {
  const nested = join(root, REGISTRY2_SUBDIR)
  if (existsSync(nested)) return nested
  if (existsSync(join(root, 'repositories')) || existsSync(join(root, 'blobs'))) return root
  return nested
}

const isMissing = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

const exists = async (path: string): Promise<boolean> => {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (isMissing(err)) return false
    throw err
  }
}

/** Reads a link file (`sha256:<hex>`); null when missing or malformed. */
const readLink = async (path: string): Promise<Digest | null> => {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (isMissing(err)) return null
    throw err
  }
  return parseDigest(text.trim()) ?? null
}

export class Registry2Store implements ImageStore {
  readonly label: string
  readonly base: string

  constructor(readonly root: string) {
    this.base = registry2Base(root)
    this.label = `registry2:${root}`
  }

  private repoDir(name: string): string {
    return join(this.base, 'repositories', name)
  }

  async repositories(): Promise<string[]> {
    const out: string[] = []
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch (err) {
        if (isMissing(err)) return
        throw err
      }
      if (entries.some((e) => e.name === '_manifests' && e.isDirectory())) out.push(prefix)
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('_')) continue
        await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name)
      }
    }
    await walk(join(this.base, 'repositories'), '')
    return out.filter((n) => n !== '').sort()
  }

  hasRepository(name: string): Promise<boolean> {
    return exists(join(this.repoDir(name), '_manifests'))
  }

  async tags(name: string): Promise<string[] | null> {
    if (!(await this.hasRepository(name))) return null
    try {
      const entries = await readdir(join(this.repoDir(name), '_manifests', 'tags'), { withFileTypes: true })
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
    } catch (err) {
      if (isMissing(err)) return []
      throw err
    }
  }

  resolveTag(name: string, tag: string): Promise<Digest | null> {
    return readLink(join(this.repoDir(name), '_manifests', 'tags', tag, 'current', 'link'))
  }

  hasManifest(name: string, digest: Digest): Promise<boolean> {
    return exists(join(this.repoDir(name), '_manifests', 'revisions', digest.algorithm, digest.hex, 'link'))
  }

  async manifestDigests(name: string): Promise<Digest[]> {
    const out: Digest[] = []
    const revisions = join(this.repoDir(name), '_manifests', 'revisions')
    let algorithms: string[]
    try {
      algorithms = await readdir(revisions)
    } catch (err) {
      if (isMissing(err)) return out
      throw err
    }
    for (const alg of algorithms) {
      let hexes: string[] = []
      try {
        hexes = await readdir(join(revisions, alg))
      } catch (err) {
        if (!isMissing(err)) throw err
      }
      for (const hex of hexes) {
        const d = parseDigest(`${alg}:${hex}`)
        if (d) out.push(d)
      }
    }
    return out
  }

  async blobPath(name: string, digest: Digest): Promise<string | null> {
    // registry:2 serves a blob for a repository only through its _layers
    // link; manifests are reachable through their revision link too.
    const layer = join(this.repoDir(name), '_layers', digest.algorithm, digest.hex, 'link')
    if ((await exists(layer)) || (await this.hasManifest(name, digest))) return this.contentPath(digest)
    return null
  }

  contentPath(digest: Digest): string {
    return join(this.base, 'blobs', digest.algorithm, digest.hex.slice(0, 2), digest.hex, 'data')
  }
}
