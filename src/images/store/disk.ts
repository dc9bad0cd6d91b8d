/**
 * File-system reads the on-disk stores share. "Not there" is an answer
 * (false / null), never a throw; other errors (EACCES, EIO) propagate.
 */
import { createReadStream } from 'node:fs'
import { opendir, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { Readable } from 'node:stream'
import { openFile, readRegularFile, type OpenedFile } from '../../http/index.js'
import type { Digest } from '../grammar.js'
import { readManifestFile, type ManifestReadResult } from '../manifests.js'
import type { BlobStat, StoredBlob } from './types.js'
import type { DigestParts } from './registry2-paths.js'

export const isMissing = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

export const exists = async (path: string): Promise<boolean> => {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (isMissing(err)) return false
    throw err
  }
}

/** Size and mtime of a regular file; null when missing or not a file. */
export const statFile = async (path: string): Promise<BlobStat | null> => {
  try {
    const st = await stat(path)
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null
  } catch (err) {
    if (isMissing(err)) return null
    throw err
  }
}

/** A regular file read whole; null when missing or not a regular file (a FIFO never blocks the read). */
export const readWhole = (path: string): Promise<Buffer | null> => readRegularFile(path)

export const streamFile = (path: string): Readable => createReadStream(path, { highWaterMark: 1024 * 1024 })

/** Every regular file below `dir` (none when it is missing), depth first. */
export async function* filesUnder(dir: string): AsyncGenerator<string> {
  let handle
  try {
    handle = await opendir(dir)
  } catch {
    return
  }
  for await (const e of handle) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* filesUnder(p)
    else if (e.isFile()) yield p
  }
}

/** The content-addressed blobs below `blobsDir`, named by `nameOf` (a path relative to `blobsDir`). */
export async function* blobsUnder(blobsDir: string, nameOf: (relPath: string) => DigestParts | undefined): AsyncGenerator<StoredBlob> {
  for await (const path of filesUnder(blobsDir)) {
    const named = nameOf(relative(blobsDir, path))
    if (!named) continue
    const st = await stat(path)
    yield { algorithm: named.algorithm, hex: named.hex, size: st.size, location: path, stream: () => streamFile(path) }
  }
}

/**
 * Reads of content kept one file per digest, as both layouts keep it: a
 * store says where a digest's file is and whether a blob belongs to a
 * repository; the reads are the same.
 */
export abstract class FileContent {
  /** The file holding a digest's bytes. */
  protected abstract contentPath(digest: Digest): string
  /** Whether the blob belongs to the repository, by the layout's rule alone (no content I/O). */
  abstract linksBlob(name: string, digest: Digest): Promise<boolean>

  async stat(name: string, digest: Digest): Promise<BlobStat | null> {
    return (await this.linksBlob(name, digest)) ? statFile(this.contentPath(digest)) : null
  }

  async open(name: string, digest: Digest): Promise<OpenedFile | null> {
    return (await this.linksBlob(name, digest)) ? openFile(this.contentPath(digest)) : null
  }

  openContent(digest: Digest): Promise<OpenedFile | null> {
    return openFile(this.contentPath(digest))
  }

  readManifest(digest: Digest): Promise<ManifestReadResult> {
    return readManifestFile(this.contentPath(digest), digest)
  }

  readBlob(digest: Digest): Promise<Buffer | null> {
    return readWhole(this.contentPath(digest))
  }
}
