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
import { isListType, parseDigest, type Digest, type ImageStore, type ManifestInfo, type Platform } from '../images/index.js'

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
}

export interface FileRow {
  root: string
  path: string
  size: number
  mtime: number
}

const platformName = (p: Platform | undefined): string | undefined =>
  p ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : undefined

/** Reads a manifest and checks its digest; undefined when missing, unreadable, incomplete or corrupt. */
export const readVerifiedManifest = async (
  store: ImageStore,
  digest: Digest,
): Promise<{ bytes: Buffer; info: ManifestInfo } | undefined> => {
  const result = await store.readManifest(digest).catch(() => undefined)
  return result?.ok ? { bytes: result.manifest.bytes, info: result.manifest.info } : undefined
}

const imageSize = (bytes: Buffer, info: ManifestInfo, blobs: Array<{ digest: string; size: number }>): number => {
  let size = bytes.length
  for (const d of [info.config, ...(info.layers ?? [])]) {
    if (d && typeof d.size === 'number') {
      size += d.size
      blobs.push({ digest: d.digest, size: d.size })
    }
  }
  return size
}

/**
 * Describes every tag of a repository. A tag whose manifest blob is missing
 * or does not match its digest (still being copied in) is left out: it is
 * listed once the blob is complete.
 */
export const scanRepository = async (store: ImageStore, repository: string): Promise<{ rows: ImageRow[]; incomplete: string[] }> => {
  const rows: ImageRow[] = []
  const incomplete: string[] = []
  const tags = (await store.tags(repository)) ?? []
  const describe = async (tag: string): Promise<void> => {
    const digest = await store.resolveTag(repository, tag)
    const manifest = digest && (await readVerifiedManifest(store, digest))
    if (!digest || !manifest) {
      incomplete.push(tag)
      return
    }
    const blobs: Array<{ digest: string; size: number }> = [{ digest: digest.value, size: manifest.bytes.length }]
    let size: number
    const platforms: string[] = []
    if (isListType(manifest.info.mediaType)) {
      size = manifest.bytes.length
      for (const child of manifest.info.manifests ?? []) {
        const name = platformName(child.platform)
        if (name) platforms.push(name)
        const cd = parseDigest(child.digest)
        const cm = cd && (await readVerifiedManifest(store, cd))
        if (cm) {
          blobs.push({ digest: child.digest, size: cm.bytes.length })
          size += imageSize(cm.bytes, cm.info, blobs)
        } else size += child.size ?? 0
      }
    } else {
      size = imageSize(manifest.bytes, manifest.info, blobs)
      const config = manifest.info.config && parseDigest(manifest.info.config.digest)
      const cfg = config && (await store.readBlob(config).catch(() => undefined))
      if (cfg) {
        try {
          const doc = JSON.parse(cfg.toString('utf8')) as Platform
          const name = platformName(doc)
          if (name) platforms.push(name)
        } catch {
          // An unreadable config leaves the platform unknown.
        }
      }
    }
    rows.push({ store: store.label, repository, tag, digest: digest.value, mediaType: manifest.info.mediaType, platforms, size, blobs })
  }
  for (let i = 0; i < tags.length; i += TAG_PARALLEL) await Promise.all(tags.slice(i, i + TAG_PARALLEL).map(describe))
  rows.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0))
  return { rows, incomplete }
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
