/**
 * File-system steps that survive a crash (kill -9, power loss) as a whole or
 * not at all: a file is written under a temporary name, flushed, and renamed
 * over its final name; the folder holding a new name is flushed so that the
 * name itself is on disk before the next step relies on it.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { isMissing } from './disk.js'

/** Flushes a folder's entries (new, renamed or removed names) to disk. */
export const fsyncDir = async (dir: string): Promise<void> => {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch (err) {
    // Some file systems cannot fsync a folder; the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EBADF') throw err
  } finally {
    await fh.close()
  }
}

/**
 * Makes a folder and its missing parents, flushing the parent of each folder
 * made, so the whole path is on disk when this resolves.
 */
export const mkdirDurable = async (dir: string): Promise<void> => {
  const missing: string[] = []
  let at = dir
  for (;;) {
    try {
      if ((await stat(at)).isDirectory()) break
      throw Object.assign(new Error(`${at} is not a folder`), { code: 'ENOTDIR' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    missing.push(at)
    const up = dirname(at)
    if (up === at) break
    at = up
  }
  if (missing.length === 0) return
  await mkdir(dir, { recursive: true })
  for (const made of missing.reverse()) await fsyncDir(dirname(made))
}

/** A temporary name beside `path` (the catalog watcher ignores `.tmp-<hex>` names). */
export const tempNameFor = (path: string): string => `${path}.tmp-${randomBytes(6).toString('hex')}`

/** Writes `bytes` to `path` through a flushed temporary file and a rename; the folder is flushed after. */
export const writeFileDurable = async (path: string, bytes: Uint8Array | string): Promise<void> => {
  const dir = dirname(path)
  await mkdirDurable(dir)
  const tmp = tempNameFor(path)
  const fh = await open(tmp, 'wx')
  try {
    await fh.writeFile(bytes)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await rm(tmp, { force: true })
    throw err
  }
  await fh.close()
  try {
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  await fsyncDir(dir)
}

/** Renames `from` to `to` (its folder made first) and flushes the folder of `to`. */
export const renameDurable = async (from: string, to: string): Promise<void> => {
  await mkdirDurable(dirname(to))
  await rename(from, to)
  await fsyncDir(dirname(to))
}

/**
 * Removes a folder in one step as far as readers can tell: it is renamed
 * into `trashDir` (same file system), the rename flushed, and only then
 * deleted. False when it was not there.
 */
export const removeDurable = async (path: string, trashDir: string): Promise<boolean> => {
  await mkdir(trashDir, { recursive: true })
  const trash = join(trashDir, `trash-${randomBytes(8).toString('hex')}`)
  try {
    await rename(path, trash)
  } catch (err) {
    if (isMissing(err)) return false
    throw err
  }
  await fsyncDir(dirname(path))
  await rm(trash, { recursive: true, force: true })
  return true
}
