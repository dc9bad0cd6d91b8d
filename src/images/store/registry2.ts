/**
 * A registry:2 tree, read in place (layout: registry2-paths.ts). Blobs
 * belong to a repository through its `_layers` links, manifests through
 * their revision links, as distribution's linkedBlobStore decides.
 */
import { readdir, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseDigest, type Digest } from '../grammar.js'
import { FileContent, blobsUnder, exists, filesUnder, isMissing, readWhole } from './disk.js'
import {
  NON_TAG_FOLDERS,
  blobOfPath,
  isUploadPath,
  pathFor,
  registry2Base,
  relativePosix,
  repositoryOfPath,
  type Registry2PathSpec,
} from './registry2-paths.js'
import type { DiskStore, ReferenceProblem, StoredBlob, WatchSpec } from './types.js'

/** Reads a link file (`sha256:<hex>`); null when missing or malformed. */
const readLink = async (path: string): Promise<Digest | null> => {
  // Opened without blocking and refused unless a regular file: a FIFO named `link` reads as missing.
  const bytes = await readWhole(path)
  if (!bytes) return null
  return parseDigest(bytes.toString('utf8').trim()) ?? null
}

/** A repository is a folder holding one of these (docker-registry's catalog looks for `_layers`). */
const REPOSITORY_MARKERS: ReadonlySet<string> = new Set(['_manifests', '_layers'])

export class Registry2Store extends FileContent implements DiskStore {
  readonly label: string
  /** The docker/registry/v2 folder. */
  readonly rootDir: string

  constructor(readonly root: string) {
    super()
    this.rootDir = registry2Base(root)
    this.label = `registry2:${root}`
  }

  get readFolders(): readonly string[] {
    return [this.rootDir, this.path({ kind: 'repositories' }), this.path({ kind: 'blobs' })]
  }

  private path(spec: Registry2PathSpec): string {
    return pathFor(this.rootDir, spec)
  }

  protected contentPath(digest: Digest): string {
    return this.path({ kind: 'blobData', digest })
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
      if (entries.some((e) => REPOSITORY_MARKERS.has(e.name) && e.isDirectory())) out.push(prefix)
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith('_')) continue
        await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name)
      }
    }
    await walk(this.path({ kind: 'repositories' }), '')
    return out.filter((n) => n !== '').sort()
  }

  async hasRepository(name: string): Promise<boolean> {
    return (await exists(this.path({ kind: 'manifests', name }))) || (await exists(this.path({ kind: 'layers', name })))
  }

  async tags(name: string): Promise<string[] | null> {
    if (!(await this.hasRepository(name))) return null
    try {
      const entries = await readdir(this.path({ kind: 'tags', name }), { withFileTypes: true })
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    } catch (err) {
      if (isMissing(err)) return []
      throw err
    }
  }

  resolveTag(name: string, tag: string): Promise<Digest | null> {
    return readLink(this.path({ kind: 'tagCurrentLink', name, tag }))
  }

  hasManifest(name: string, digest: Digest): Promise<boolean> {
    return exists(this.path({ kind: 'revisionLink', name, digest }))
  }

  async manifestDigests(name: string): Promise<Digest[]> {
    const out: Digest[] = []
    const revisions = this.path({ kind: 'revisions', name })
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
        // docker-registry deletes a manifest by removing its link and leaves the folder.
        const d = parseDigest(`${alg}:${hex}`)
        if (d && (await exists(this.path({ kind: 'revisionLink', name, digest: d })))) out.push(d)
      }
    }
    return out
  }

  /**
   * registry:2 serves a blob for a repository only through its _layers
   * link; manifests are reachable through their revision link too.
   */
  async linksBlob(name: string, digest: Digest): Promise<boolean> {
    return (await exists(this.path({ kind: 'layerLink', name, digest }))) || (await this.hasManifest(name, digest))
  }

  blobs(): AsyncIterable<StoredBlob> {
    return blobsUnder(this.path({ kind: 'blobs' }), blobOfPath)
  }

  async verifyReferences(): Promise<ReferenceProblem[]> {
    const problems: ReferenceProblem[] = []
    const repos = this.path({ kind: 'repositories' })
    for await (const path of filesUnder(repos)) {
      if (basename(path) !== 'link' || isUploadPath(relativePosix(repos, path))) continue
      const bytes = await readWhole(path)
      const digest = bytes ? parseDigest(bytes.toString('utf8').trim()) : undefined
      if (!digest) {
        problems.push({ location: path, problem: 'link does not hold a valid digest' })
        continue
      }
      try {
        await stat(this.contentPath(digest))
      } catch {
        problems.push({ location: path, problem: `points at missing blob ${digest.value}`, digest: digest.value })
      }
    }
    return problems
  }

  /** Only where tags live: not `_layers`, revisions or tag history; changes coalesce per repository. */
  watchSpec(): WatchSpec {
    const repos = this.path({ kind: 'repositories' })
    return {
      kind: 'tree',
      dir: repos,
      skip: (name) => NON_TAG_FOLDERS.has(name),
      changeAt: (path, newFolder) => {
        const rel = relativePosix(repos, path)
        // A new folder outside any repository's own folders may hold new repositories.
        if (newFolder && !rel.includes('/_')) return { kind: 'under', prefix: rel }
        const name = repositoryOfPath(rel)
        return name ? { kind: 'repository', name } : undefined
      },
    }
  }
}
