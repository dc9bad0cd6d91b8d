/**
 * One folder's entries, as the scan and the watcher read them: its
 * subfolders and its regular files, by name. A folder that cannot be read
 * (gone, no permission, not a folder) has none.
 */
import { opendir } from 'node:fs/promises'

export interface FolderEntries {
  dirs: string[]
  files: string[]
}

export const readFolder = async (dir: string): Promise<FolderEntries> => {
  const out: FolderEntries = { dirs: [], files: [] }
  let handle
  try {
    handle = await opendir(dir)
  } catch {
    return out
  }
  for await (const entry of handle) {
    if (entry.isDirectory()) out.dirs.push(entry.name)
    else if (entry.isFile()) out.files.push(entry.name)
  }
  return out
}
