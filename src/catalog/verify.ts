/**
 * `outpost verify`: checks content against its names. registry:2 and OCI
 * layouts address blobs by digest, so every blob is hashed and compared
 * with its path; every link must point at a blob that exists. Files are
 * hashed too: against a `<name>.sha256` beside them when there is one
 * (kubespray's binaries ship so), and against the sha256 the catalog
 * recorded earlier when size and mtime are unchanged (bit rot). Hashes are
 * written back to the catalog.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { opendir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { Registry2Store } from '../registry-api/store/registry2.js'
import { OciLayoutStore } from '../registry-api/store/oci-layout.js'
import type { ImageStore } from '../registry-api/store/types.js'
import { parseDigest } from '../registry-api/grammar.js'
import type { Db } from './db.js'
import { rootLabel, type FileRootSource } from './index.js'

export interface VerifyProblem {
  kind: 'blob' | 'link' | 'file'
  path: string
  problem: string
}

export interface VerifyReport {
  blobs: number
  files: number
  bytes: number
  problems: VerifyProblem[]
}

export interface VerifyProgress {
  /** Called with bytes hashed so far and the total to hash. */
  (done: number, total: number, current: string): void
}

export const hashFile = (path: string, algorithm = 'sha256'): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash(algorithm)
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')))
  })

const walk = async (dir: string, onFile: (path: string) => void | Promise<void>): Promise<void> => {
  let handle
  try {
    handle = await opendir(dir)
  } catch {
    return
  }
  for await (const e of handle) {
    const p = join(dir, e.name)
    if (e.isDirectory()) await walk(p, onFile)
    else if (e.isFile()) await onFile(p)
  }
}

interface Job {
  kind: 'blob' | 'file'
  path: string
  size: number
  /** Expected hex digest and where the expectation came from. */
  expect?: { algorithm: string; hex: string; source: string }
  root?: FileRootSource
  mtime?: number
}

/** Collects blob jobs and link problems of one image store. */
const storeJobs = async (store: ImageStore, jobs: Job[], problems: VerifyProblem[]): Promise<void> => {
  if (store instanceof Registry2Store) {
    await walk(join(store.base, 'blobs'), async (path) => {
      const rel = relative(join(store.base, 'blobs'), path).split(sep)
      // <alg>/<hex[0:2]>/<hex>/data
      if (rel.length !== 4 || rel[3] !== 'data') return
      const st = await stat(path)
      jobs.push({ kind: 'blob', path, size: st.size, expect: { algorithm: rel[0]!, hex: rel[2]!, source: 'its path' } })
    })
    await walk(join(store.base, 'repositories'), async (path) => {
      if (!path.endsWith(`${sep}link`) || path.includes(`${sep}_uploads${sep}`)) return
      const digest = parseDigest((await readFile(path, 'utf8')).trim())
      if (!digest) problems.push({ kind: 'link', path, problem: 'link does not hold a valid digest' })
      else {
        try {
          await stat(store.contentPath(digest))
        } catch {
          problems.push({ kind: 'link', path, problem: `points at missing blob ${digest.value}` })
        }
      }
    })
  } else if (store instanceof OciLayoutStore) {
    await walk(join(store.root, 'blobs'), async (path) => {
      const rel = relative(join(store.root, 'blobs'), path).split(sep)
      if (rel.length !== 2) return
      const st = await stat(path)
      jobs.push({ kind: 'blob', path, size: st.size, expect: { algorithm: rel[0]!, hex: rel[1]!, source: 'its path' } })
    })
    for (const repo of await store.repositories()) {
      for (const d of await store.manifestDigests(repo)) {
        try {
          await stat(store.contentPath(d))
        } catch {
          problems.push({ kind: 'link', path: join(store.root, 'index.json'), problem: `${repo}: refers to missing blob ${d.value}` })
        }
      }
    }
  }
}

const SIDE_CAR = /^([0-9a-f]{64})\b/

export const verifyContent = async (
  stores: readonly ImageStore[],
  fileRoots: readonly FileRootSource[],
  db: Db | undefined,
  progress?: VerifyProgress,
): Promise<VerifyReport> => {
  const jobs: Job[] = []
  const problems: VerifyProblem[] = []
  for (const store of stores) await storeJobs(store, jobs, problems)
  const recorded = db?.prepare('SELECT size, mtime, sha256 FROM files WHERE root = ? AND path = ?')
  for (const root of fileRoots) {
    await walk(root.path, async (path) => {
      if (path.endsWith('.sha256')) return
      const st = await stat(path)
      const job: Job = { kind: 'file', path, size: st.size, root, mtime: Math.floor(st.mtimeMs) }
      const sidecar = await readFile(`${path}.sha256`, 'utf8').catch(() => undefined)
      const m = sidecar && SIDE_CAR.exec(sidecar.trim())
      if (m) job.expect = { algorithm: 'sha256', hex: m[1]!, source: `${relative(root.path, path)}.sha256` }
      else if (recorded) {
        const row = recorded.get(rootLabel(root), relative(root.path, path).split(sep).join('/')) as { size: number; mtime: number; sha256: string | null } | undefined
        if (row?.sha256 && row.size === st.size && row.mtime === job.mtime) job.expect = { algorithm: 'sha256', hex: row.sha256, source: 'the catalog (size and mtime unchanged)' }
      }
      jobs.push(job)
    })
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
      hex = await hashFile(job.path, job.expect?.algorithm ?? 'sha256')
    } catch (err) {
      problems.push({ kind: job.kind, path: job.path, problem: `unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` })
      continue
    }
    done += job.size
    if (job.expect && job.expect.hex !== hex) {
      problems.push({ kind: job.kind, path: job.path, problem: `content is ${job.expect.algorithm}:${hex}, ${job.expect.source} says ${job.expect.algorithm}:${job.expect.hex}` })
    } else if (job.kind === 'file' && job.root && save) {
      save.run(rootLabel(job.root), relative(job.root.path, job.path).split(sep).join('/'), job.size, job.mtime, hex)
    }
  }
  progress?.(total, total, '')
  return { blobs: jobs.filter((j) => j.kind === 'blob').length, files: jobs.filter((j) => j.kind === 'file').length, bytes: total, problems }
}
