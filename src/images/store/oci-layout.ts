/**
 * OCI image layouts (image-spec image-layout.md), read in place (layout:
 * oci-layout-paths.ts).
 *
 * Tags come from the `org.opencontainers.image.ref.name` annotation of the
 * entries of index.json. A plain tag (`v1.2`) belongs to the layout's
 * repository name (configured, else the folder's name). A full reference
 * (`docker.io/library/nginx:1.25`, `calico/node:v3.26`) names its own
 * repository, the host dropped as Docker names are stored
 * (`docker.io/library/nginx` → `library/nginx`). Every blob of the layout
 * belongs to every repository it holds: the layout has no per-repository
 * links.
 */
import { stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { isValidName, isValidTag, parseDigest, type Digest } from '../grammar.js'
import { normalizeUpstream } from '../resolve.js'
import { isListType, parseManifest, type Descriptor } from '../media-types.js'
import { FileContent, blobsUnder, readWhole } from './disk.js'
import { REF_NAME, ociBlobOfPath, ociPathFor } from './oci-layout-paths.js'
import type { DiskStore, ReferenceProblem, StoredBlob, WatchSpec } from './types.js'

interface LayoutIndex {
  /** repository → tag → digest */
  tags: Map<string, Map<string, Digest>>
  /** repository → manifest digests listed in index.json for it */
  entries: Map<string, Digest[]>
}

/** Splits a ref.name into repository and tag; undefined when it is neither a tag nor `name:tag`. */
export const splitRefName = (refName: string, defaultRepo: string): { repo: string; tag: string } | undefined => {
  if (isValidTag(refName)) return { repo: defaultRepo, tag: refName }
  const slash = refName.lastIndexOf('/')
  const colon = refName.lastIndexOf(':')
  if (colon <= slash) return undefined
  const tag = refName.slice(colon + 1)
  if (!isValidTag(tag)) return undefined
  const upstream = normalizeUpstream(refName)
  const repo = upstream.slice(upstream.indexOf('/') + 1)
  return isValidName(repo) ? { repo, tag } : undefined
}

export class OciLayoutStore extends FileContent implements DiskStore {
  readonly label: string
  /** The layout's folder. */
  readonly rootDir: string
  /** The repository of plain tags. */
  readonly name: string
  private cache: { key: string; index: LayoutIndex } | undefined

  constructor(root: string, name?: string) {
    super()
    this.rootDir = resolve(root)
    this.name = name ?? basename(this.rootDir).toLowerCase()
    this.label = `oci-layout:${this.rootDir}`
  }

  get readFolders(): readonly string[] {
    return [this.rootDir, ociPathFor(this.rootDir, { kind: 'blobs' })]
  }

  protected contentPath(digest: Digest): string {
    return ociPathFor(this.rootDir, { kind: 'blob', digest })
  }

  /** Parses index.json, once per change of its size or mtime. */
  private async index(): Promise<LayoutIndex> {
    const path = ociPathFor(this.rootDir, { kind: 'index' })
    let key: string
    try {
      const st = await stat(path)
      key = `${st.size}:${st.mtimeMs}`
    } catch {
      return { tags: new Map(), entries: new Map() }
    }
    if (this.cache?.key === key) return this.cache.index
    const index: LayoutIndex = { tags: new Map(), entries: new Map() }
    let doc: { manifests?: Descriptor[] }
    try {
      const bytes = await readWhole(path)
      if (!bytes) return index
      doc = JSON.parse(bytes.toString('utf8'))
    } catch {
      return index
    }
    for (const d of Array.isArray(doc.manifests) ? doc.manifests : []) {
      const digest = typeof d?.digest === 'string' ? parseDigest(d.digest) : undefined
      if (!digest) continue
      const refName = d.annotations?.[REF_NAME]
      const split = refName ? splitRefName(refName, this.name) : undefined
      const repo = split?.repo ?? this.name
      if (!isValidName(repo)) continue
      const list = index.entries.get(repo) ?? []
      list.push(digest)
      index.entries.set(repo, list)
      if (split) {
        const tags = index.tags.get(repo) ?? new Map<string, Digest>()
        tags.set(split.tag, digest)
        index.tags.set(repo, tags)
      }
    }
    this.cache = { key, index }
    return index
  }

  async repositories(): Promise<string[]> {
    return [...(await this.index()).entries.keys()].sort()
  }

  async hasRepository(name: string): Promise<boolean> {
    return (await this.index()).entries.has(name)
  }

  async tags(name: string): Promise<string[] | null> {
    const index = await this.index()
    if (!index.entries.has(name)) return null
    return [...(index.tags.get(name)?.keys() ?? [])].sort()
  }

  async resolveTag(name: string, tag: string): Promise<Digest | null> {
    return (await this.index()).tags.get(name)?.get(tag) ?? null
  }

  async hasManifest(name: string, digest: Digest): Promise<boolean> {
    if (!(await this.hasRepository(name))) return false
    return existsSync(this.contentPath(digest))
  }

  /** Entries of index.json for the repository and, one level down, the children of indexes. */
  async manifestDigests(name: string): Promise<Digest[]> {
    const entries = (await this.index()).entries.get(name) ?? []
    const out = new Map<string, Digest>()
    for (const d of entries) {
      out.set(d.value, d)
      let bytes: Buffer | null
      try {
        bytes = await readWhole(this.contentPath(d))
      } catch {
        continue
      }
      if (!bytes) continue
      const info = parseManifest(bytes)
      if (!info || !isListType(info.mediaType)) continue
      for (const child of info.manifests ?? []) {
        const cd = parseDigest(child.digest)
        if (cd) out.set(cd.value, cd)
      }
    }
    return [...out.values()]
  }

  /** Every blob of the layout belongs to every repository it holds. */
  linksBlob(name: string, _digest: Digest): Promise<boolean> {
    return this.hasRepository(name)
  }

  blobs(): AsyncIterable<StoredBlob> {
    return blobsUnder(ociPathFor(this.rootDir, { kind: 'blobs' }), ociBlobOfPath)
  }

  /** Entries of index.json (and the children of indexes among them) whose blobs are missing. */
  async verifyReferences(): Promise<ReferenceProblem[]> {
    const problems: ReferenceProblem[] = []
    const location = ociPathFor(this.rootDir, { kind: 'index' })
    for (const repo of await this.repositories()) {
      for (const d of await this.manifestDigests(repo)) {
        try {
          await stat(this.contentPath(d))
        } catch {
          problems.push({ location, problem: `${repo}: refers to missing blob ${d.value}`, digest: d.value })
        }
      }
    }
    return problems
  }

  /** index.json lists everything the layout holds: any change to it means reading it all again. */
  watchSpec(): WatchSpec {
    return { kind: 'file', path: ociPathFor(this.rootDir, { kind: 'index' }) }
  }
}
