/**
 * Which symlinks under a file root the catalog follows: the rule the file
 * server applies (src/repos/roots.ts, `files.symlinks`), so the catalog lists
 * what is served and nothing else. `never`: no symlink is followed (a link
 * is not listed, nor is anything below a linked folder). `inside`: a link is
 * followed when its real path stays inside the root's real path; a link out
 * of the root (`ln -s /usr x`) is neither listed, walked nor watched.
 *
 * A followed folder link could lead back to a folder already on the way
 * down (`ln -s .. up`): such a link is not followed, so every walk ends.
 */
import { realpath, stat } from 'node:fs/promises'
import type { Stats } from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import { isInside } from '../repos/safe-path.js'
import type { SymlinkPolicy } from '../repos/roots.js'

export type { SymlinkPolicy }

/** The rule for one root: its policy and its real path. */
export interface LinkRule {
  policy: SymlinkPolicy
  rootReal: string
}

/** The rule for a root; null while the root cannot be resolved (gone). */
export const linkRule = async (rootPath: string, policy: SymlinkPolicy): Promise<LinkRule | null> => {
  try {
    return { policy, rootReal: await realpath(rootPath) }
  } catch {
    return null
  }
}

export interface Followed {
  /** The real path the link leads to. */
  real: string
  stats: Stats
}

/**
 * What the symlink at `path` leads to when the rule lets it be followed: a
 * regular file or a folder inside the root. Null for a link the rule
 * refuses, a dangling link, or anything else (a FIFO, a device).
 */
export const followLink = async (rule: LinkRule | null, path: string): Promise<Followed | null> => {
  if (!rule || rule.policy === 'never') return null
  let real: string
  try {
    real = await realpath(path)
  } catch {
    return null
  }
  if (!isInside(rule.rootReal, real)) return null
  const stats = await stat(real).catch(() => undefined)
  if (!stats || !(stats.isFile() || stats.isDirectory())) return null
  return { real, stats }
}

/**
 * True when the folder `dir` under the root is reached as the rule allows:
 * by its own path (`never`), or with every link on the way leading inside
 * the root (`inside`).
 */
export const reachable = async (rule: LinkRule, rootPath: string, dir: string): Promise<boolean> => {
  const real = await realpath(dir).catch(() => null)
  if (!real) return false
  const rel = relative(rootPath, dir)
  if (rel.startsWith('..') || isAbsolute(rel)) return false
  return rule.policy === 'never' ? real === join(rule.rootReal, rel) : isInside(rule.rootReal, real)
}

/** True when following a folder link to `target` would enter a folder already on the way down (`chain`: real paths). */
export const wouldLoop = (target: string, chain: readonly string[]): boolean => chain.some((real) => isInside(target, real))
