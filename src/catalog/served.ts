/**
 * What the catalog says is served, read for `/inventory`: images by
 * repository (a copy shadowed by an earlier store left out), file counts
 * and bytes per root under a prefix, package trees, totals.
 */
import type { ImageProblem } from '../images/index.js'
import type { Db } from './db.js'
import { rootLabel, type FileRootSource, type TreeResult } from './index.js'

export interface ImageSummary {
  repository: string
  store: string
  tags: Array<{ tag: string; digest: string; mediaType: string; platforms: string[]; size: number }>
}

export interface ServedInventory {
  images: ImageSummary[]
  files: Array<{ prefix: string; path: string; count: number; bytes: number }>
  trees: TreeResult[]
  totals: { repositories: number; tags: number; imageBytes: number; files: number; fileBytes: number; trees: number; treesFailing: number }
  scan: { complete: boolean; finishedAt: string | null; ms: number | null }
  /** What a pull of a served tag would need and not find, each naming the image, platform, digest and kind. */
  problems?: ImageProblem[]
}

export interface InventoryFilter {
  repo?: string | undefined
  prefix?: string | undefined
}

export const readInventory = (
  db: Db,
  fileRoots: readonly FileRootSource[],
  trees: TreeResult[],
  scan: ServedInventory['scan'],
  filter: InventoryFilter,
): ServedInventory => {
  const imageRows = db
    .prepare(
      `SELECT store, repository, tag, digest, media_type, platforms, size FROM images
       WHERE (? IS NULL OR repository = ? OR repository LIKE ? ESCAPE '\\') ORDER BY repository, tag`,
    )
    .all(filter.repo ?? null, filter.repo ?? null, filter.repo ? `${filter.repo.replace(/[\\%_]/g, (c) => `\\${c}`)}/%` : null) as Array<
    Record<string, string | number>
  >
  const byRepo = new Map<string, ImageSummary>()
  for (const r of imageRows) {
    const key = r.repository as string
    const summary = byRepo.get(key) ?? { repository: key, store: r.store as string, tags: [] }
    if (summary.store !== r.store) continue // a shadowed copy in a later store is not what is served
    summary.tags.push({
      tag: r.tag as string,
      digest: r.digest as string,
      mediaType: r.media_type as string,
      platforms: JSON.parse(r.platforms as string),
      size: r.size as number,
    })
    byRepo.set(key, summary)
  }
  const images = [...byRepo.values()]
  const files = fileRoots
    .filter((root) => !filter.prefix || root.prefix.startsWith(filter.prefix) || filter.prefix.startsWith(root.prefix))
    .map((root) => {
      const label = rootLabel(root)
      let rel = filter.prefix && filter.prefix.startsWith(root.prefix) ? filter.prefix.slice(root.prefix.length).replace(/^\/+/, '') : ''
      rel = rel.replace(/[\\%_]/g, (c) => `\\${c}`)
      const row = db
        .prepare(
          `SELECT COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM files WHERE root = ? AND (? = '' OR path LIKE ? ESCAPE '\\')`,
        )
        .get(label, rel, `${rel}%`) as { count: number; bytes: number }
      return { prefix: root.prefix, path: root.path, count: row.count, bytes: row.bytes }
    })
  const uniqueBytes = (
    db.prepare('SELECT COALESCE(SUM(size), 0) AS bytes FROM (SELECT DISTINCT digest, size FROM blobs)').get() as { bytes: number }
  ).bytes
  return {
    images,
    files,
    trees,
    totals: {
      repositories: images.length,
      tags: images.reduce((n, i) => n + i.tags.length, 0),
      imageBytes: uniqueBytes,
      files: files.reduce((n, f) => n + f.count, 0),
      fileBytes: files.reduce((n, f) => n + f.bytes, 0),
      trees: trees.length,
      treesFailing: trees.filter((t) => !t.ok).length,
    },
    scan,
  }
}
