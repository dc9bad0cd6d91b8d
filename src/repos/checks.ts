/**
 * The vocabulary of package tree checks, and the routine that runs them.
 *
 * Checking a tree is two steps. Planning (yum.ts, apt.ts) reads and parses
 * the index files and turns them into a list of FileChecks: "this file, at
 * this path, should have this size and this checksum". Running (here) looks
 * at each file: is it there, is it reachable under the symlink policy, is it
 * the listed size, and, for index files always and for packages when a full
 * check is asked for, does its checksum match. Problems name the file by the
 * URL path a node would fetch it at.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { isInside } from './safe-path.js'

export type HashAlgorithm = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512'

export interface Checksum {
  algorithm: HashAlgorithm
  /** Lower-case hex. */
  value: string
}

const ALGORITHMS: Record<string, HashAlgorithm> = {
  md5: 'md5',
  md5sum: 'md5',
  sha: 'sha1', // createrepo's old name for SHA-1
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
}

const HEX_LENGTH: Record<HashAlgorithm, number> = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 }

/** A checksum from an index, or null when the algorithm is unknown or the value is not hex of the right length. */
export const checksumOf = (algorithm: string | undefined, value: string | undefined): Checksum | null => {
  if (!algorithm || !value) return null
  const a = ALGORITHMS[algorithm.trim().toLowerCase()]
  const v = value.trim().toLowerCase()
  if (!a || v.length !== HEX_LENGTH[a] || !/^[0-9a-f]+$/.test(v)) return null
  return { algorithm: a, value: v }
}

export const digestOf = (algorithm: HashAlgorithm, data: Uint8Array): string => createHash(algorithm).update(data).digest('hex')

export type ProblemKind = 'missing' | 'size' | 'checksum' | 'unreadable' | 'invalid' | 'outside'

export interface TreeProblem {
  kind: ProblemKind
  /** URL path of the file (what a node would fetch). */
  file: string
  detail: string
}

export interface FileCheck {
  /** Absolute path on disk. */
  path: string
  /** URL path, for reports. */
  file: string
  role: 'index' | 'package'
  size: number | null
  checksum: Checksum | null
  /** URL path of the index that names the file. */
  listedIn: string
}

/** Where a tree lives: its root's real path and policy decide what is reachable. */
export interface CheckContext {
  /** The root directory as configured, and its real path. */
  rootPath: string
  rootReal: string
  symlinks: 'inside' | 'never'
  /** Hash packages too, not only index files. */
  full: boolean
  signal?: AbortSignal | undefined
}

/**
 * Joins a path taken from an index (`Packages/x.rpm`, `pool/main/x.deb`)
 * under a tree directory, or returns null when it could leave the tree:
 * absolute, `..`, backslashes or NUL. An index is data, not trusted.
 */
export const joinListed = (base: string, listed: string): string | null => {
  if (!listed || listed.startsWith('/') || listed.includes('\\') || listed.includes('\u0000')) return null
  const segments = listed.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.length === 0 || segments.some((s) => s === '..')) return null
  return join(base, ...segments)
}

const hashFile = (path: string, algorithm: HashAlgorithm, signal?: AbortSignal): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash(algorithm)
    const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) })
    stream.on('data', (chunk) => hash.update(chunk))
    stream.on('error', reject)
    stream.on('end', () => resolve(hash.digest('hex')))
  })

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? ''

export interface CheckOutcome {
  problem: TreeProblem | null
  /** Size on disk when the file was found. */
  bytes: number
}

/** Runs one FileCheck. */
export const runFileCheck = async (check: FileCheck, ctx: CheckContext): Promise<CheckOutcome> => {
  const problem = (kind: ProblemKind, detail: string): CheckOutcome => ({ problem: { kind, file: check.file, detail }, bytes: 0 })
  let real: string
  try {
    real = await realpath(check.path)
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') {
      return problem('missing', `listed in ${check.listedIn}${check.size !== null ? ` (${check.size} bytes)` : ''} but not present`)
    }
    return problem('unreadable', `${(err as Error).message}`)
  }
  if (ctx.symlinks === 'never') {
    // No symlink anywhere below the root: the real path is the lexical one.
    const lexical = check.path.startsWith(ctx.rootPath) ? ctx.rootReal + check.path.slice(ctx.rootPath.length) : null
    if (real !== lexical) return problem('outside', `reached through a symlink (to ${real}); with files.symlinks "never" it is not served`)
  } else if (!isInside(ctx.rootReal, real)) {
    return problem('outside', `a symlink leads outside the file root (to ${real}); it is not served`)
  }
  let size: number
  try {
    const st = await stat(real)
    if (!st.isFile()) return problem('invalid', 'not a regular file')
    size = st.size
  } catch (err) {
    return problem('unreadable', (err as Error).message)
  }
  if (check.size !== null && size !== check.size) {
    return { problem: { kind: 'size', file: check.file, detail: `${size} bytes, ${check.listedIn} lists ${check.size}` }, bytes: size }
  }
  if (check.checksum && (check.role === 'index' || ctx.full)) {
    let actual: string
    try {
      actual = await hashFile(real, check.checksum.algorithm, ctx.signal)
    } catch (err) {
      if (ctx.signal?.aborted) throw err
      return problem('unreadable', (err as Error).message)
    }
    if (actual !== check.checksum.value) {
      return {
        problem: {
          kind: 'checksum',
          file: check.file,
          detail: `${check.checksum.algorithm} ${actual}, ${check.listedIn} lists ${check.checksum.value}`,
        },
        bytes: size,
      }
    }
  }
  return { problem: null, bytes: size }
}

/**
 * Runs checks a few at a time (stat-bound checks gain from overlap; hashing
 * is disk- and CPU-bound, so a handful is plenty), calling `onDone` after
 * each. Results come back in input order.
 */
export const runFileChecks = async (
  checks: readonly FileCheck[],
  ctx: CheckContext,
  onDone?: (check: FileCheck, outcome: CheckOutcome) => void,
  concurrency = 4,
): Promise<CheckOutcome[]> => {
  const results: CheckOutcome[] = new Array(checks.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < checks.length) {
      if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error('aborted')
      const i = next++
      const outcome = await runFileCheck(checks[i]!, ctx)
      results[i] = outcome
      onDone?.(checks[i]!, outcome)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, checks.length) }, worker))
  return results
}

/** An index file that does not parse. */
export class IndexParseError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'IndexParseError'
  }
}

/** What planning a tree produced: the checks to run, and what it found already. */
export interface IndexPlan {
  checks: FileCheck[]
  problems: TreeProblem[]
  notes: string[]
  packages: number
  indexFiles: number
  /** apt: the components the Release names whose Packages indexes are mirrored, in its order. */
  components?: string[]
}

/**
 * Adds the check of one package an index lists (`field`: the index's name
 * for its location): a listed name that leaves the tree is a problem, one listed twice is checked once (`seen`).
 */
export const planPackage = (
  plan: IndexPlan,
  seen: Set<string>,
  base: string,
  listed: string,
  check: Omit<FileCheck, 'path' | 'role'> & { name: string; field: string },
): void => {
  const path = joinListed(base, listed)
  if (!path) {
    plan.problems.push({
      kind: 'invalid',
      file: check.listedIn,
      detail: `package ${check.name}: ${check.field} "${listed}" leaves the tree`,
    })
    return
  }
  if (seen.has(path)) return
  seen.add(path)
  plan.packages++
  plan.checks.push({ path, file: check.file, role: 'package', size: check.size, checksum: check.checksum, listedIn: check.listedIn })
}

/**
 * Decompresses an index by its name: plain and gzip (node:zlib); null for
 * xz, zstd, bzip2 and zchunk, which Node 20 cannot read without a
 * dependency (zstd arrives in node:zlib with Node 22.15).
 */
export const decompressIndex = (name: string, data: Buffer): Buffer | null => {
  if (name.endsWith('.gz')) return gunzipSync(data)
  if (/\.(xz|zst|zck|bz2|lzma)$/.test(name)) return null
  return data
}
