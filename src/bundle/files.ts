/**
 * Files as the file routes serve them: a URL path under a root, reached
 * under its symlink policy, not hidden by a built-in path or a longer
 * prefix, and a regular file. And where a file URL from a list (kubespray's
 * `files.list`) is found: kubeplay keeps `https://HOST/PATH` as
 * `files/HOST/PATH`, kubespray's offline files as `HOST/PATH`; any root
 * holding `PATH` will do too.
 */
import { realpath, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  encodePath,
  isInside,
  isReserved,
  matchRoot,
  mountRoots,
  prefixSegments,
  type FileRootSpec,
  type MountedRoot,
  type SymlinkPolicy,
} from '../repos/index.js'
import type { FileRef } from './requirements.js'

export interface ServedFile {
  /** The URL path it is served at. */
  url: string
  size: number
}

export class ServedFiles {
  private readonly roots: MountedRoot[]
  private readonly reserved: string[][]
  private readonly reals = new Map<number, string | null>()

  constructor(
    roots: readonly FileRootSpec[],
    private readonly symlinks: SymlinkPolicy,
    reserved: readonly string[] = [],
  ) {
    this.roots = mountRoots(roots)
    this.reserved = reserved.map(prefixSegments)
  }

  private async rootReal(root: MountedRoot): Promise<string | null> {
    if (!this.reals.has(root.id)) this.reals.set(root.id, await realpath(root.path).catch(() => null))
    return this.reals.get(root.id)!
  }

  /** The file served at these URL path segments, or null. */
  async at(segments: readonly string[]): Promise<ServedFile | null> {
    if (isReserved(segments, this.reserved)) return null
    const match = matchRoot(this.roots, segments)
    if (!match || !match.rest.length) return null
    const rootReal = await this.rootReal(match.root)
    if (!rootReal) return null
    const lexical = join(match.root.path, ...match.rest)
    const real = await realpath(lexical).catch(() => null)
    if (!real) return null
    if (this.symlinks === 'never' ? real !== join(rootReal, ...match.rest) : !isInside(rootReal, real)) return null
    const st = await stat(real).catch(() => null)
    if (!st?.isFile()) return null
    return { url: encodePath(segments), size: st.size }
  }

  /** Where a listed file is served: `files/HOST/PATH`, `HOST/PATH`, then `PATH`, under each root in turn. */
  async find(ref: FileRef): Promise<ServedFile | null> {
    if (ref.host === null) return this.at(ref.segments)
    const host = ref.host.replace(/:\d+$/, '')
    const rests = [['files', host, ...ref.segments], [host, ...ref.segments], ref.segments]
    for (const root of [...this.roots].sort((a, b) => a.id - b.id)) {
      for (const rest of rests) {
        const found = await this.at([...root.prefixSegments, ...rest])
        if (found) return found
      }
    }
    return null
  }
}
