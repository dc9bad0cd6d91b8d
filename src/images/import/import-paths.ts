/**
 * `outpost import PATH…`: every path is opened and read first (all
 * manifests checked, all blobs found, every image named), so a bad archive
 * or a missing name stops the run before anything is written. Then, source
 * by source, the blobs the sink lacks are streamed in (checked against their
 * digests as they flow), and only once all of a source's blobs are in are
 * its manifests and tags written. A second run finds everything present and
 * writes nothing.
 */
import { Transform, Writable, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { isValidName, isValidTag } from './deps.js'
import { ImportError, messageOf } from './errors.js'
import { openSource } from './open.js'
import type { ImageSink } from './sink.js'
import type { ImageSource, SourceImage } from './source.js'

export interface ImportOptions {
  /** Repository for the images (required when a source carries no name). Taken as given, not normalised. */
  name?: string
  /** Tag for the image; only for a single image. */
  tag?: string
  /** Read and check everything, print the same lines, write nothing. */
  dryRun?: boolean
  onProgress?: (progress: ImportProgress) => void
  /**
   * An index whose child manifests the source does not all carry (what
   * `docker save` writes from the containerd image store for a partly pulled
   * multi-platform image): `refuse` (default) stops with a message; `keep`
   * imports the index with the children that are there.
   */
  partialIndexes?: 'refuse' | 'keep'
}

export interface ImportProgress {
  /** Blob bytes copied (read and checked, in a dry run) so far, and in all. */
  done: number
  total: number
  /** The source and the blob being read. */
  path: string
  digest: string
}

export interface ImportedImage {
  name: string
  tag: string
  digest: string
  mediaType: string
  /** The source path it came from. */
  path: string
  /** `NAME:TAG DIGEST` */
  line: string
  /** Whether this run wrote anything for it (false in a dry run and on a re-run). */
  written: boolean
}

export interface ImportTarget {
  name: string
  tag: string
}

interface Planned {
  source: ImageSource
  image: SourceImage
  targets: ImportTarget[]
}

const unique = <T>(items: T[], key: (t: T) => string): T[] => {
  const seen = new Set<string>()
  return items.filter((t) => (seen.has(key(t)) ? false : (seen.add(key(t)), true)))
}

const describeMissing = (image: SourceImage): string =>
  image.missing
    .map((d) =>
      d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : d.digest,
    )
    .join(', ')

/**
 * The names each image is imported under: the source's names, or the
 * `--name`/`--tag` given. Throws an ImportError naming the source and the
 * image when an image ends up without a repository or a tag, or when two
 * images claim one tag.
 */
export const planTargets = (sources: readonly ImageSource[], options: ImportOptions = {}): Planned[] => {
  const all = sources.flatMap((source) => source.images.map((image) => ({ source, image })))
  const { name, tag } = options
  if (name !== undefined && !isValidName(name)) {
    throw new ImportError(
      sources[0]?.path ?? '',
      undefined,
      `--name ${JSON.stringify(name)} is not a valid repository name (lower-case path components: library/busybox)`,
    )
  }
  if (tag !== undefined && !isValidTag(tag))
    throw new ImportError(sources[0]?.path ?? '', undefined, `--tag ${JSON.stringify(tag)} is not a valid tag`)
  if (tag !== undefined && all.length !== 1) {
    const where = sources.length === 1 ? sources[0]!.path : sources.map((s) => s.path).join(', ')
    throw new ImportError(
      where,
      undefined,
      `--tag names a single image, and there are ${all.length}: import them one source at a time or without --tag`,
    )
  }
  const planned: Planned[] = []
  const claimed = new Map<string, { digest: string; path: string; where: string }>()
  for (const { source, image } of all) {
    const fail = (detail: string) => new ImportError(source.path, image.where, detail)
    if (image.missing.length > 0 && options.partialIndexes !== 'keep') {
      throw fail(
        `the index ${image.manifest.digest} lists ${image.missing.length} manifest(s) the source does not carry (${describeMissing(image)}); ` +
          'save the image with all its platforms, or only the one wanted',
      )
    }
    const names = unique(
      image.refs.flatMap((r) => (r.name === undefined ? [] : [r.name])),
      (n) => n,
    )
    const tags = unique(
      image.refs.flatMap((r) => (r.tag === undefined ? [] : [r.tag])),
      (t) => t,
    )
    let targets: ImportTarget[]
    if (name !== undefined || tag !== undefined) {
      const repos = name !== undefined ? [name] : names
      const wanted = tag !== undefined ? [tag] : tags
      if (repos.length === 0) throw fail('carries no repository name: give --name REPO')
      if (wanted.length === 0) throw fail(`carries no tag: give --tag TAG`)
      targets = repos.flatMap((n) => wanted.map((t) => ({ name: n, tag: t })))
    } else {
      if (image.refs.length === 0) throw fail('carries no name: give --name REPO --tag TAG')
      targets = image.refs.map((r) => {
        if (r.name === undefined) throw fail(`carries a tag (${r.tag}) but no repository name: give --name REPO`)
        if (r.tag === undefined) throw fail(`names ${r.name} without a tag: give --name REPO --tag TAG`)
        return { name: r.name, tag: r.tag }
      })
    }
    targets = unique(targets, (t) => `${t.name}:${t.tag}`)
    for (const t of targets) {
      const key = `${t.name}:${t.tag}`
      const other = claimed.get(key)
      if (other && other.digest !== image.manifest.digest) {
        throw fail(`${key} is also given to ${other.digest} by ${other.path} (${other.where})`)
      }
      claimed.set(key, { digest: image.manifest.digest, path: source.path, where: image.where })
    }
    planned.push({ source, image, targets })
  }
  return planned
}

/** Opens every path; closes what was opened when one fails. */
export const openSources = async (paths: readonly string[]): Promise<ImageSource[]> => {
  const sources: ImageSource[] = []
  try {
    for (const path of paths) sources.push(await openSource(path))
    return sources
  } catch (err) {
    await Promise.allSettled(sources.map((s) => s.close()))
    throw err
  }
}

const discard = (): Writable =>
  new Writable({
    write(_chunk, _enc, done) {
      done()
    },
  })

/** The same bytes, counted as they pass; errors of `source` carry through. */
const counted = (source: Readable, onBytes: (n: number) => void): Readable => {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, next) {
      onBytes(chunk.length)
      next(null, chunk)
    },
  })
  source.on('error', (err) => counter.destroy(err))
  counter.on('close', () => source.destroy())
  return source.pipe(counter)
}

/**
 * Imports images from `paths` into `sink`, yielding one ImportedImage per
 * `NAME:TAG` once its manifest and tag are written (or would be, in a dry
 * run). Throws an ImportError naming the file and entry for a bad source.
 */
export async function* importPaths(paths: readonly string[], sink: ImageSink, options: ImportOptions = {}): AsyncGenerator<ImportedImage> {
  const sources = await openSources(paths)
  try {
    const plan = planTargets(sources, options)

    // What to copy: each blob once, from the first source that carries it, unless the sink has it.
    const present = new Set<string>()
    const assigned = new Map<string, ImageSource>()
    let total = 0
    for (const { source, image } of plan) {
      for (const blob of image.blobs) {
        if (assigned.has(blob.digest) || present.has(blob.digest)) continue
        if (await sink.hasBlob(blob.digest)) {
          present.add(blob.digest)
          continue
        }
        assigned.set(blob.digest, source)
        total += blob.size
      }
    }

    let done = 0
    for (const source of sources) {
      const items = plan.filter((p) => p.source === source)
      const copied = new Set<string>()
      for (const { image } of items) {
        for (const blob of image.blobs) {
          if (assigned.get(blob.digest) !== source || copied.has(blob.digest)) continue
          copied.add(blob.digest)
          const entry = source.entryOf(blob.digest)
          const stream = counted(source.openBlob(blob.digest), (n) => {
            done += n
            options.onProgress?.({ done, total, path: source.path, digest: blob.digest })
          })
          try {
            if (options.dryRun) await pipeline(stream, discard())
            else await sink.putBlob(blob.digest, blob.size, stream)
          } catch (err) {
            stream.destroy()
            throw err instanceof ImportError ? err : new ImportError(source.path, entry, `storing ${blob.digest} failed: ${messageOf(err)}`)
          }
        }
      }
      // Every blob of this source is in: now its manifests and tags.
      for (const { image, targets } of items) {
        const blobsWritten = image.blobs.some((b) => copied.has(b.digest)) && !options.dryRun
        for (const [k, t] of targets.entries()) {
          let written = blobsWritten && k === 0
          if (!options.dryRun) {
            for (const m of [...image.children, image.manifest]) {
              if (await sink.hasManifest(t.name, m.digest)) continue
              await sink.putManifest(t.name, m.digest, m.bytes, m.mediaType)
              written = true
            }
            if ((await sink.tagOf(t.name, t.tag)) !== image.manifest.digest) {
              await sink.tag(t.name, t.tag, image.manifest.digest)
              written = true
            }
          }
          const digest = image.manifest.digest
          yield {
            name: t.name,
            tag: t.tag,
            digest,
            mediaType: image.manifest.mediaType,
            path: source.path,
            line: `${t.name}:${t.tag} ${digest}`,
            written,
          }
        }
      }
    }
  } finally {
    await Promise.allSettled(sources.map((s) => s.close()))
  }
}
