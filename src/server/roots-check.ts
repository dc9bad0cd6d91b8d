/**
 * The configured roots, checked before anything is served: a bundle, a
 * registry root, an OCI layout or a file root that does not exist or cannot
 * be read, or an images_origin file that cannot be read, is named with its
 * key and path. `serve` stops on them unless `allow_missing_roots`;
 * `verify` and `ls` refuse to report on what is not there.
 */
import { accessSync, constants, opendirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { OutpostConfig } from './config.js'
import { ConfigError } from './config.js'

export interface RootProblem {
  /** `bundle`, `registry.roots`, `files.roots`… */
  key: string
  path: string
  /** `does not exist`, `is a file, not a folder`… */
  problem: string
}

const who = (): string => {
  const uid = process.getuid?.()
  return uid === undefined ? '' : ` by uid ${uid}`
}

const codeWords = (err: NodeJS.ErrnoException): string => {
  switch (err.code) {
    case 'ENOENT':
      return 'does not exist'
    case 'ENOTDIR':
      return 'does not exist (a part of the path is a file)'
    case 'EACCES':
    case 'EPERM':
      return `cannot be read${who()} (permission denied)`
    case 'ELOOP':
      return 'is a symlink loop'
    default:
      return `cannot be read (${err.code ?? err.message})`
  }
}

/** Why a folder cannot be served, or null when it can be listed. */
export const folderProblem = (path: string): string | null => {
  try {
    if (!statSync(path).isDirectory()) return 'is a file, not a folder'
    accessSync(path, constants.R_OK | constants.X_OK)
    opendirSync(path).closeSync()
    return null
  } catch (err) {
    return codeWords(err as NodeJS.ErrnoException)
  }
}

/** Why a file cannot be read, or null. */
const fileProblem = (path: string): string | null => {
  try {
    if (statSync(path).isDirectory()) return 'is a folder, not a file'
    accessSync(path, constants.R_OK)
    return null
  } catch (err) {
    return codeWords(err as NodeJS.ErrnoException)
  }
}

/** Why a folder is not a kubeplay bundle (it holds neither registry/ nor nginx/), or null. */
export const bundleProblem = (path: string): string | null =>
  folderProblem(path) ??
  (folderProblem(join(path, 'registry')) && folderProblem(join(path, 'nginx'))
    ? 'holds neither registry/ nor nginx/: not a kubeplay bundle (point bundle at the folder that holds them)'
    : null)

/** Every configured root that cannot be served, in the order of the keys. */
export const checkRoots = (config: OutpostConfig): RootProblem[] => {
  const found: RootProblem[] = []
  const check = (key: string, path: string, problem: (p: string) => string | null): void => {
    const p = problem(path)
    if (p) found.push({ key, path, problem: p })
  }
  if (config.bundle) check('bundle', config.bundle, bundleProblem)
  for (const r of config.registry.roots) check('registry.roots', r, folderProblem)
  for (const l of config.registry.oci_layouts) check('registry.oci_layouts', l.path, folderProblem)
  for (const f of config.registry.images_origin) check('registry.images_origin', f, fileProblem)
  for (const r of config.files.roots) check('files.roots', r.path, folderProblem)
  return found
}

/** One line per problem: `bundle: /opt/kubeplay/resourcez does not exist`. */
export const rootProblemLine = (p: RootProblem): string => `${p.key}: ${p.path} ${p.problem}`

/** Configured roots that are not there: a configuration error (exit 2), with what to do. */
export class RootsError extends ConfigError {
  readonly problems: RootProblem[]
  constructor(problems: RootProblem[], advice?: string) {
    super([...problems.map(rootProblemLine), ...(advice ? [advice] : [])].join('\n'))
    this.name = 'RootsError'
    this.problems = problems
  }
}

export const SERVE_ROOTS_ADVICE =
  'Fix the path, or start with --allow-missing-roots (allow_missing_roots: true) to serve without it until it appears.'
