/**
 * Scanning what is on disk into the catalog. Reads go through the same
 * store interface the registry serves from; file roots are walked with
 * async directory reads and lstat, and rows are written in small
 * transactions so a scan of 100,000 files never holds the event loop for
 * long (requests are served between batches).
 */
import { lstat, realpath } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { readFolder } from './folder.js'
import { isAbsolute, join, relative, sep } from 'node:path'
import { followLink, linkRule, wouldLoop, type LinkRule, type SymlinkPolicy } from './links.js'
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

export interface WalkOptions {
  /** Where to start: the root (default) or a folder in it. */
  under?: string
  /** `files.symlinks`: which symlinks are followed (links.ts); `never` when not given. */
  symlinks?: SymlinkPolicy
}

/**
 * The real paths of the folders from the root down to `under` when the rule
 * lets each be reached (a folder reached through a link the rule refuses
 * has nothing to list); null otherwise.
 */
const chainTo = async (rootPath: string, under: string, rule: LinkRule): Promise<string[] | null> => {
  const chain = [rule.rootReal]
  const rel = relative(rootPath, under)
  if (rel.startsWith('..') || isAbsolute(rel)) return null
  let lexical = rootPath
  let expected = rule.rootReal
  for (const segment of rel.split(sep).filter(Boolean)) {
    lexical = join(lexical, segment)
    expected = join(expected, segment)
    const real = await realpath(lexical).catch(() => null)
    if (!real) return null
    if (real !== expected) {
      // A link on the way: followed only as the rule says.
      const followed = await followLink(rule, lexical)
      if (!followed || !followed.stats.isDirectory() || wouldLoop(followed.real, chain)) return null
    }
    chain.push(real)
    expected = real
  }
  return chain
}

/**
 * Walks a file root, calling `onBatch` with up to BATCH_SIZE rows at a time.
 * Symlinks are followed as the file server follows them (`symlinks`, see
 * links.ts): a link the rule refuses is not listed and a linked folder it
 * refuses is not walked, so the catalog never lists what is not served.
 */
export const walkFiles = async (
  rootLabel: string,
  rootPath: string,
  onBatch: (rows: FileRow[]) => void,
  options: WalkOptions = {},
): Promise<number> => {
  const under = options.under ?? rootPath
  const rule = await linkRule(rootPath, options.symlinks ?? 'never')
  if (!rule) return 0
  const start = await chainTo(rootPath, under, rule)
  if (!start) return 0
  let batch: FileRow[] = []
  let count = 0
  const flush = (): void => {
    if (batch.length) onBatch(batch)
    batch = []
  }
  const add = (path: string, st: Stats): void => {
    batch.push({
      root: rootLabel,
      path: relative(rootPath, path).split(sep).join('/'),
      size: st.size,
      mtime: Math.floor(st.mtimeMs),
    })
    count++
  }
  const walk = async (dir: string, chain: readonly string[]): Promise<void> => {
    const folder = await readFolder(dir)
    const real = chain[chain.length - 1]!
    const subdirs: Array<{ path: string; chain: readonly string[] }> = folder.dirs.map((name) => ({
      path: join(dir, name),
      chain: [...chain, join(real, name)],
    }))
    const names = folder.files
    // lstat a folder's files together: the thread pool works in parallel.
    for (let i = 0; i < names.length; i += STAT_PARALLEL) {
      const slice = names.slice(i, i + STAT_PARALLEL)
      const stats = await Promise.all(slice.map((n) => lstat(join(dir, n)).catch(() => undefined)))
      stats.forEach((st, k) => {
        if (st?.isFile()) add(join(dir, slice[k]!), st)
      })
      if (batch.length >= BATCH_SIZE) {
        flush()
        // Let requests in between batches.
        await new Promise((r) => setImmediate(r))
      }
    }
    if (rule.policy !== 'never') {
      for (const name of folder.links) {
        const path = join(dir, name)
        const followed = await followLink(rule, path)
        if (!followed) continue
        if (followed.stats.isFile()) add(path, followed.stats)
        else if (!wouldLoop(followed.real, chain)) subdirs.push({ path, chain: [...chain, followed.real] })
      }
    }
    for (const d of subdirs) await walk(d.path, d.chain)
  }
  await walk(under, start)
  flush()
  return count
}
