/**
 * Scanning what is on disk into the catalog. Reads go through the same
 * store interface the registry serves from; file roots are walked with
 * async directory reads and lstat, and rows are written in small
 * transactions so a scan of 100,000 files never holds the event loop for
 * long (requests are served between batches).
 */
import { lstat } from 'node:fs/promises'
import { readFolder } from './folder.js'
import { join, relative, sep } from 'node:path'
import { checkImage, type Digest, type ImageProblem, type ImageSource, type ImageStore, type ManifestInfo } from '../images/index.js'

export const BATCH_SIZE = 500
const STAT_PARALLEL = 32
const TAG_PARALLEL = 8

export interface ImageRow {
  store: string
  repository: string
  tag: string
  digest: string
  mediaType: string
  platforms: string[]
  size: number
  /** Blobs the image references, with their sizes. */
  blobs: Array<{ digest: string; size: number }>
  /** What a pull of the tag would need and not find (src/images/check.ts). */
  problems: ImageProblem[]
}

export interface FileRow {
  root: string
  path: string
  size: number
  mtime: number
}

/** Reads a manifest and checks its digest; undefined when missing, unreadable, incomplete or corrupt. */
export const readVerifiedManifest = async (
  store: ImageStore,
  digest: Digest,
): Promise<{ bytes: Buffer; info: ManifestInfo } | undefined> => {
  const result = await store.readManifest(digest).catch(() => undefined)
  return result?.ok ? { bytes: result.manifest.bytes, info: result.manifest.info } : undefined
}

/** A repository of one store as a pull through that store sees it. */
export const storeSource = (store: ImageStore, repository: string): ImageSource => ({
  readManifest: (d) => store.readManifest(d),
  hasManifest: (d) => store.hasManifest(repository, d),
  stat: (d) => store.stat(repository, d),
  readBlob: (d) => store.readBlob(d),
})

/**
 * Describes every tag of a repository, each checked whole (its index, child
 * manifests, configs and layers present, at their sizes; configs parsed).
 * A tag whose own manifest is missing or does not match its digest (still
 * being copied in) is left out of the rows: it is listed once the blob is
 * complete. Its problem is reported with the others.
 */
export const scanRepository = async (
  store: ImageStore,
  repository: string,
): Promise<{ rows: ImageRow[]; incomplete: string[]; problems: ImageProblem[] }> => {
  const rows: ImageRow[] = []
  const incomplete: string[] = []
  const problems: ImageProblem[] = []
  const source = storeSource(store, repository)
  const tags = (await store.tags(repository)) ?? []
  const describe = async (tag: string): Promise<void> => {
    const digest = await store.resolveTag(repository, tag)
    if (!digest) {
      incomplete.push(tag)
      return
    }
    const checked = await checkImage(source, `${repository}:${tag}`, digest)
    problems.push(...checked.problems)
    if (checked.mediaType === null) {
      incomplete.push(tag)
      return
    }
    rows.push({
      store: store.label,
      repository,
      tag,
      digest: digest.value,
      mediaType: checked.mediaType,
      platforms: checked.platforms,
      size: checked.size,
      blobs: checked.blobs,
      problems: checked.problems,
    })
  }
  for (let i = 0; i < tags.length; i += TAG_PARALLEL) await Promise.all(tags.slice(i, i + TAG_PARALLEL).map(describe))
  rows.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
  problems.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))
  return { rows, incomplete, problems }
}

/**
 * Walks a file root, calling `onBatch` with up to BATCH_SIZE rows at a time.
 * Symlinks are recorded as what they are (not followed): the catalog lists
 * the tree, the file server decides what a link may reach.
 */
export const walkFiles = async (
  rootLabel: string,
  rootPath: string,
  onBatch: (rows: FileRow[]) => void,
  under = rootPath,
): Promise<number> => {
  let batch: FileRow[] = []
  let count = 0
  const flush = (): void => {
    if (batch.length) onBatch(batch)
    batch = []
  }
  const walk = async (dir: string): Promise<void> => {
    const folder = await readFolder(dir)
    const subdirs = folder.dirs.map((name) => join(dir, name))
    const names = folder.files
    // lstat a folder's files together: the thread pool works in parallel.
    for (let i = 0; i < names.length; i += STAT_PARALLEL) {
      const slice = names.slice(i, i + STAT_PARALLEL)
      const stats = await Promise.all(slice.map((n) => lstat(join(dir, n)).catch(() => undefined)))
      stats.forEach((st, k) => {
        if (!st || !st.isFile()) return
        batch.push({
          root: rootLabel,
          path: relative(rootPath, join(dir, slice[k]!)).split(sep).join('/'),
          size: st.size,
          mtime: Math.floor(st.mtimeMs),
        })
        count++
      })
      if (batch.length >= BATCH_SIZE) {
        flush()
        // Let requests in between batches.
        await new Promise((r) => setImmediate(r))
      }
    }
    for (const d of subdirs) await walk(d)
  }
  await walk(under)
  flush()
  return count
}
