/**
 * Package names in the yum and apt trees under the file roots, read from
 * their indexes (yum: the primary metadata that repomd.xml names; apt:
 * every `Packages` index below a suite's folder, or of a flat repository),
 * each with the file it names and whether that file is there at its size.
 * Indexes are parsed once per change of their size and mtime.
 */
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  decompressIndex,
  detectTrees,
  joinListed,
  parsePackages,
  parsePrimary,
  parseRepomd,
  type FileRootSpec,
  type PackageTree,
} from '../repos/index.js'
import type { PackageFamily } from './requirements.js'

export interface PackageEntry {
  name: string
  version: string
  arch: string
  /** URL path of the package file. */
  url: string
  /** Where it is on disk and the size the index gives. */
  path: string | null
  size: number | null
}

export interface TreePackages {
  family: PackageFamily
  /** URL path of the tree (and its suite, for apt). */
  tree: string
  packages: PackageEntry[]
  /** Why the tree's packages could not be read, if they could not. */
  error?: string
}

interface Cached {
  key: string
  packages: PackageEntry[]
}

/** Parsed indexes by path, kept while their size and mtime hold. */
const CACHE = new Map<string, Cached>()
const CACHE_MAX = 64

const remember = (path: string, key: string, packages: PackageEntry[]): PackageEntry[] => {
  CACHE.delete(path)
  CACHE.set(path, { key, packages })
  for (const k of CACHE.keys()) {
    if (CACHE.size <= CACHE_MAX) break
    CACHE.delete(k)
  }
  return packages
}

const cached = async (path: string, parse: () => Promise<PackageEntry[]>): Promise<PackageEntry[]> => {
  const st = await stat(path)
  const key = `${st.size}:${st.mtimeMs}`
  const hit = CACHE.get(path)
  if (hit?.key === key) return hit.packages
  return remember(path, key, await parse())
}

const readIndex = async (path: string, name: string): Promise<string> => {
  const data = decompressIndex(name, await readFile(path))
  if (!data) throw new Error(`${name}: compression not readable by Node 20 (use .gz)`)
  return data.toString('utf8')
}

const yumPackages = async (tree: PackageTree): Promise<PackageEntry[]> => {
  const repomd = join(tree.dir, 'repodata', 'repomd.xml')
  const entries = parseRepomd(await readFile(repomd))
  const primary = entries.find((e) => e.type === 'primary' && !e.base)
  if (!primary) throw new Error('repomd.xml names no primary metadata')
  const path = joinListed(tree.dir, primary.href)
  if (!path) throw new Error(`primary metadata "${primary.href}" leaves the tree`)
  return cached(path, async () =>
    parsePrimary(await readIndex(path, primary.href)).map((p) => ({
      name: p.name,
      version: `${p.epoch !== '0' ? `${p.epoch}:` : ''}${p.version}-${p.release}`,
      arch: p.arch,
      url: tree.url + p.href,
      path: p.base ? null : joinListed(tree.dir, p.href),
      size: p.size,
    })),
  )
}

/** `Packages` indexes below an apt release folder (components, binary-ARCH), plain preferred over .gz. */
const packagesIndexes = async (dir: string, depth = 3): Promise<Array<{ path: string; name: string }>> => {
  const out: Array<{ path: string; name: string }> = []
  const walk = async (d: string, level: number): Promise<void> => {
    let entries
    try {
      entries = await readdir(d, { withFileTypes: true })
    } catch {
      return
    }
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name))
    const pick = ['Packages', 'Packages.gz'].find((n) => names.has(n))
    if (pick) out.push({ path: join(d, pick), name: pick })
    if (level >= depth) return
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'pool') await walk(join(d, e.name), level + 1)
  }
  await walk(dir, 0)
  return out
}

const aptPackages = async (tree: PackageTree): Promise<PackageEntry[]> => {
  const out: PackageEntry[] = []
  // A flat repository keeps its index beside the packages: look no deeper.
  for (const index of await packagesIndexes(tree.releaseDir ?? tree.dir, tree.suite ? 3 : 0)) {
    const listed = await cached(index.path, async () =>
      parsePackages(await readIndex(index.path, index.name)).map((p) => {
        const file = p.filename.replace(/^(\.\/)+/, '')
        return {
          name: p.name,
          version: p.version,
          arch: p.architecture,
          url: tree.url + file,
          path: joinListed(tree.dir, file),
          size: p.size,
        }
      }),
    )
    out.push(...listed)
  }
  return out
}

/** Every tree's packages (a tree whose indexes cannot be read says why). */
export const readTreePackages = async (roots: readonly FileRootSpec[]): Promise<TreePackages[]> => {
  const trees = await detectTrees(roots)
  const out: TreePackages[] = []
  for (const tree of trees) {
    const family: PackageFamily = tree.kind
    const label = `${tree.url}${tree.suite ? ` ${tree.suite}` : ''}`
    try {
      out.push({ family, tree: label, packages: tree.kind === 'yum' ? await yumPackages(tree) : await aptPackages(tree) })
    } catch (err) {
      out.push({ family, tree: label, packages: [], error: (err as Error).message })
    }
  }
  return out
}

export type PackageStatus = 'present' | 'missing' | 'incomplete'

export interface PackageLookup {
  status: PackageStatus
  /** The package files found (URL paths), or those listed but not whole. */
  found: PackageEntry[]
  detail?: string
}

/** Whether a package file is there at the size its index gives. */
const whole = async (p: PackageEntry): Promise<string | null> => {
  if (!p.path) return 'located elsewhere (xml:base)'
  const st = await stat(p.path).catch(() => null)
  if (!st?.isFile()) return 'listed but not present'
  if (p.size !== null && st.size !== p.size) return `${st.size} bytes, the index lists ${p.size}`
  return null
}

/** Looks a name up in the trees of a family (or every tree): present when one tree has its file whole. */
export const findPackage = async (trees: readonly TreePackages[], name: string, family?: PackageFamily): Promise<PackageLookup> => {
  const listed = trees.filter((t) => !family || t.family === family).flatMap((t) => t.packages.filter((p) => p.name === name))
  if (!listed.length) return { status: 'missing', found: [] }
  const problems: string[] = []
  for (const p of listed) {
    const why = await whole(p)
    if (!why) return { status: 'present', found: [p] }
    problems.push(`${p.url}: ${why}`)
  }
  return { status: 'incomplete', found: listed, detail: problems.slice(0, 3).join('; ') }
}
