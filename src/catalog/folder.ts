/**
 * One folder's entries, as the scan and the watcher read them: its
 * subfolders, its regular files and its symlinks, by name. A folder that
 * cannot be read (gone, no permission, not a folder) has none. Whether a
 * symlink is followed is the caller's decision (links.ts).
 */
import { opendir } from 'node:fs/promises'

export interface FolderEntries {
  dirs: string[]
  files: string[]
  links: string[]
}

export const readFolder = async (dir: string): Promise<FolderEntries> => {
  const out: FolderEntries = { dirs: [], files: [], links: [] }
  let handle
  try {
    handle = await opendir(dir)
  } catch {
    return out
  }
  try {
    for await (const entry of handle) {
      if (entry.isDirectory()) out.dirs.push(entry.name)
      else if (entry.isFile()) out.files.push(entry.name)
      else if (entry.isSymbolicLink()) out.links.push(entry.name)
    }
  } catch {
    // A folder removed while it was read: what was read so far.
  }
  return out
}
