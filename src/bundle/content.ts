/**
 * What the bundle holds, asked the way nodes would ask: an image reference
 * resolved through the registry's upstream-name rules (`ns=` host,
 * images_origin.yaml, mappings) to the first repository a store holds,
 * then checked whole; a file found where the file routes serve it; package
 * names in the yum and apt trees' indexes.
 */
import {
  checkImage,
  type ImageCheck,
  type ImageProblem,
  type ImageSource,
  type ImageStores,
  type NameResolver,
  type RepositoryView,
} from '../images/index.js'
import type { FileRootSpec, SymlinkPolicy } from '../repos/index.js'
import { ServedFiles, type ServedFile } from './files.js'
import { readTreePackages, type TreePackages } from './packages.js'
import type { FileRef, ImageRef } from './requirements.js'
import { parseDigest } from '../images/index.js'

/** An image as the status page and coverage see it. */
export interface ImageSummary {
  /** `repository:tag` as stored. */
  image: string
  /** Platforms the image is for. */
  platforms: string[]
  /** Those whose images are whole. */
  completePlatforms: string[]
  problems: ImageProblem[]
}

export interface ImageLookup {
  /** The stored `repository:tag` (or `repository@digest`) it resolved to, when a repository holds it. */
  found: string | null
  /** The stored names tried, in order. */
  tried: string[]
  /** The repository that holds the name, when one does (the tag may still be missing). */
  repository: string | null
  check: ImageCheck | null
}

export interface ContentLookup {
  image(ref: ImageRef): Promise<ImageLookup>
  /** Every tag served, checked whole. */
  everyImage(): Promise<ImageSummary[]>
  file(ref: FileRef): Promise<ServedFile | null>
  trees(): Promise<TreePackages[]>
}

export interface ContentOptions {
  stores: ImageStores
  resolver: NameResolver
  filesRoots: readonly FileRootSpec[]
  symlinks: SymlinkPolicy
  /** URL paths the file routes never serve (the built-in endpoints). */
  reserved?: readonly string[]
  /** Every image, when something keeps them already (the catalog); else the stores are walked. */
  everyImage?: () => Promise<ImageSummary[]>
}

/** A repository across its stores, as a pull sees it. */
export const viewSource = (view: RepositoryView): ImageSource => ({
  readManifest: (d) => view.readManifest(d),
  hasManifest: (d) => view.hasManifest(d),
  stat: (d) => view.stat(d),
  readBlob: (d) => view.readBlob(d),
})

const summaryOf = (image: string, c: ImageCheck): ImageSummary => ({
  image,
  platforms: c.platforms,
  completePlatforms: c.completePlatforms,
  problems: c.problems,
})

const PARALLEL = 8

/** Runs `fn` over `items`, a few at a time, keeping their order. */
export const mapLimited = async <T, R>(items: readonly T[], fn: (t: T) => Promise<R>, limit = PARALLEL): Promise<R[]> => {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

export const bundleContent = (options: ContentOptions): ContentLookup => {
  const { stores, resolver } = options
  const files = new ServedFiles(options.filesRoots, options.symlinks, options.reserved ?? [])
  let trees: Promise<TreePackages[]> | null = null
  return {
    async image(ref) {
      const tried = resolver.candidates({ name: ref.path, ns: ref.host })
      for (const name of tried) {
        const view = await stores.locate(name)
        if (!view) continue
        const digest = ref.digest ? parseDigest(ref.digest) : await view.resolveTag(ref.tag ?? 'latest')
        const held = digest && (!ref.digest || (await view.hasManifest(digest)))
        if (!digest || !held) return { found: null, tried, repository: name, check: null }
        const found = ref.digest ? `${name}@${ref.digest}` : `${name}:${ref.tag}`
        return { found, tried, repository: name, check: await checkImage(viewSource(view), found, digest) }
      }
      return { found: null, tried, repository: null, check: null }
    },
    async everyImage() {
      if (options.everyImage) return options.everyImage()
      const out: ImageSummary[] = []
      for (const name of await stores.repositories()) {
        const view = await stores.view(name)
        const tags = await view.tags()
        out.push(
          ...(
            await mapLimited(tags, async (tag) => {
              const digest = await view.resolveTag(tag)
              return digest ? summaryOf(`${name}:${tag}`, await checkImage(viewSource(view), `${name}:${tag}`, digest)) : null
            })
          ).filter((s): s is ImageSummary => s !== null),
        )
      }
      return out
    },
    file: (ref) => files.find(ref),
    trees: () => (trees ??= readTreePackages(options.filesRoots)),
  }
}
