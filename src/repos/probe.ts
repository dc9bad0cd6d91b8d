/**
 * What is at a path, asked without throwing: trees are read while they may
 * change, and a path that cannot be read counts as absent.
 */
import { lstat, stat } from 'node:fs/promises'

/** A regular file (symlinks followed). */
export const isFile = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

/** A directory (symlinks followed). */
export const isDir = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** Any directory entry, a dangling symlink included (not followed). */
export const isPresent = async (path: string): Promise<boolean> => {
  try {
    await lstat(path)
    return true
  } catch {
    return false
  }
}
