/**
 * `outpost verify`: checks content against its names. registry:2 and OCI
 * layouts address blobs by digest, so every blob a store holds is hashed
 * and compared with the digest its place names; every link must point at a
 * blob that exists (the stores enumerate both). Files are
 * hashed too: against a `<name>.sha256` beside them when there is one
 * (kubespray's binaries ship so), and against the sha256 the catalog
 * recorded earlier when size and mtime are unchanged (bit rot). Hashes are
 * written back to the catalog. Then every tag of every store is followed
 * whole (src/images/check.ts): index, child manifests, configs and layers
 * present at their sizes, and none among the blobs whose hash failed.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, posix, relative, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { checkImage, type ImageProblem, type ImageStore } from '../images/index.js'
import type { Db } from './db.js'
import { rootLabel, type FileRootSource } from './index.js'
import { storeSource, walkFiles, type FileRow } from './scan.js'

export interface VerifyProblem {
  kind: 'blob' | 'link' | 'file'
  path: string
  problem: string
  /** The digest of the blob concerned (a blob that does not hash to its name, a link to a missing blob). */
  digest?: string
}

/** What was hashed, for a bundle manifest (`outpost verify --write-manifest`). */
export type HashedItem =
  | { kind: 'blob'; digest: string; size: number; sha256: string | null }
  | { kind: 'file'; path: string; size: number; sha256: string }
  | { kind: 'tag'; image: string; digest: string }

export interface VerifyReport {
  blobs: number
  files: number
  /** Tags followed whole. */
  images: number
  bytes: number
  problems: VerifyProblem[]
  /** Problems of images, by tag (a corrupt blob shows here too, for each image that needs it). */
  imageProblems: ImageProblem[]
  /** Every blob, file and tag with what was found (with `collect`). */
  hashed?: HashedItem[]
}

export interface VerifyOptions {
  /** Keep what was hashed (`report.hashed`); `.sha256` side files are hashed as files too. */
  collect?: boolean
}

export interface VerifyProgress {
  /** Called with bytes hashed so far and the total to hash. */
  (done: number, total: number, current: string): void
}

const hashStream = (stream: () => Readable, algorithm: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash(algorithm)
    stream()
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')))
  })

const fileStream = (path: string) => (): Readable => createReadStream(path, { highWaterMark: 1024 * 1024 })

interface Job {
  kind: 'blob' | 'file'
  /** Where the content is, for reports. */
  path: string
  /** A blob's digest as its place names it; a file's URL path. */
  name: string
  /** Its bytes, from the start. */
  stream: () => Readable
  size: number
  /** Expected hex digest and where the expectation came from. */
  expect?: { algorithm: string; hex: string; source: string }
  root?: FileRootSource
  mtime?: number
}

/** Collects blob jobs and link problems of one image store. */
const storeJobs = async (store: ImageStore, jobs: Job[], problems: VerifyProblem[]): Promise<void> => {
  for await (const blob of store.blobs()) {
    jobs.push({
      kind: 'blob',
      path: blob.location,
      name: `${blob.algorithm}:${blob.hex}`,
      stream: blob.stream,
      size: blob.size,
      expect: { algorithm: blob.algorithm, hex: blob.hex, source: 'its path' },
    })
  }
  for (const p of await store.verifyReferences())
    problems.push({ kind: 'link', path: p.location, problem: p.problem, ...(p.digest ? { digest: p.digest } : {}) })
}

/** Every tag of every store followed whole; blobs in `corrupt` failed their hash. */
const checkImages = async (
  stores: readonly ImageStore[],
  corrupt: ReadonlySet<string>,
  hashed: HashedItem[] | undefined,
): Promise<{ images: number; problems: ImageProblem[] }> => {
  let images = 0
  const problems: ImageProblem[] = []
  for (const store of stores) {
    for (const repository of await store.repositories()) {
      const source = storeSource(store, repository)
      for (const tag of (await store.tags(repository)) ?? []) {
        const digest = await store.resolveTag(repository, tag)
        if (!digest) continue
        images++
        hashed?.push({ kind: 'tag', image: `${repository}:${tag}`, digest: digest.value })
        const checked = await checkImage(source, `${repository}:${tag}`, digest, { corrupt: (d) => corrupt.has(d) })
        problems.push(...checked.problems)
      }
    }
  }
  return { images, problems }
}

const SIDE_CAR = /^([0-9a-f]{64})\b/

export const verifyContent = async (
  stores: readonly ImageStore[],
  fileRoots: readonly FileRootSource[],
  db: Db | undefined,
  progress?: VerifyProgress,
  options: VerifyOptions = {},
): Promise<VerifyReport> => {
  const jobs: Job[] = []
  const problems: VerifyProblem[] = []
  const hashed: HashedItem[] | undefined = options.collect ? [] : undefined
  for (const store of stores) await storeJobs(store, jobs, problems)
  const recorded = db?.prepare('SELECT size, mtime, sha256 FROM files WHERE root = ? AND path = ?')
  for (const root of fileRoots) {
    const files: FileRow[] = []
    await walkFiles(rootLabel(root), root.path, (rows) => files.push(...rows))
    for (const file of files) {
      if (file.path.endsWith('.sha256') && !options.collect) continue
      const path = join(root.path, file.path)
      const name = posix.join(root.prefix === '' ? '/' : root.prefix, file.path)
      const job: Job = { kind: 'file', path, name, stream: fileStream(path), size: file.size, root, mtime: file.mtime }
      const sidecar = await readFile(`${path}.sha256`, 'utf8').catch(() => undefined)
      const m = sidecar && SIDE_CAR.exec(sidecar.trim())
      if (m) job.expect = { algorithm: 'sha256', hex: m[1]!, source: `${relative(root.path, path)}.sha256` }
      else if (recorded) {
        const row = recorded.get(file.root, file.path) as { size: number; mtime: number; sha256: string | null } | undefined
        if (row?.sha256 && row.size === file.size && row.mtime === file.mtime)
          job.expect = { algorithm: 'sha256', hex: row.sha256, source: 'the catalog (size and mtime unchanged)' }
      }
      jobs.push(job)
    }
  }
  const total = jobs.reduce((n, j) => n + j.size, 0)
  let done = 0
  const save = db?.prepare(
    'INSERT INTO files (root, path, size, mtime, sha256) VALUES (?, ?, ?, ?, ?) ON CONFLICT(root, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime, sha256 = excluded.sha256',
  )
  for (const job of jobs) {
    progress?.(done, total, job.path)
    let hex: string
    try {
      hex = await hashStream(job.stream, job.expect?.algorithm ?? 'sha256')
    } catch (err) {
      problems.push({
        kind: job.kind,
        path: job.path,
        problem: `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        ...(job.kind === 'blob' ? { digest: job.name } : {}),
      })
      continue
    }
    done += job.size
    if (hashed) {
      const sha256 = (job.expect?.algorithm ?? 'sha256') === 'sha256' ? hex : null
      hashed.push(
        job.kind === 'blob'
          ? { kind: 'blob', digest: job.name, size: job.size, sha256 }
          : { kind: 'file', path: job.name, size: job.size, sha256: hex },
      )
    }
    if (job.expect && job.expect.hex !== hex) {
      problems.push({
        kind: job.kind,
        path: job.path,
        problem: `content is ${job.expect.algorithm}:${hex}, ${job.expect.source} says ${job.expect.algorithm}:${job.expect.hex}`,
        ...(job.kind === 'blob' ? { digest: job.name } : {}),
      })
    } else if (job.kind === 'file' && job.root && save) {
      save.run(rootLabel(job.root), relative(job.root.path, job.path).split(sep).join('/'), job.size, job.mtime, hex)
    }
  }
  progress?.(total, total, '')
  const corrupt = new Set(problems.flatMap((p) => (p.kind === 'blob' && p.digest ? [p.digest] : [])))
  const images = await checkImages(stores, corrupt, hashed)
  return {
    blobs: jobs.filter((j) => j.kind === 'blob').length,
    files: jobs.filter((j) => j.kind === 'file').length,
    images: images.images,
    bytes: total,
    problems,
    imageProblems: images.problems,
    ...(hashed ? { hashed } : {}),
  }
}
