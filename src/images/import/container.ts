/**
 * The files of a source, whether a folder or a tar archive: the readers
 * (OCI layout, docker-archive, skopeo dir) ask for entries by relative name
 * and never care which one they read.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { ImportError, messageOf } from './errors.js'
import { TarArchive, normalizeTarName } from './tar-index.js'

export interface Container {
  /** The path given to import (archive file or folder), named in every error. */
  readonly path: string
  /** Size in bytes of a regular file entry (links followed); undefined when there is none. */
  size(name: string): Promise<number | undefined>
  /** A whole small entry; an ImportError when it is missing or longer than `max`. */
  read(name: string, max: number): Promise<Buffer>
  /** Up to `length` bytes from the start of an entry. */
  head(name: string, length: number): Promise<Buffer>
  /** An entry's bytes as a stream (unchecked: wrap in `verified`). */
  stream(name: string): Readable
  close(): Promise<void>
}

const tooBig = (path: string, name: string, size: number, max: number): ImportError =>
  new ImportError(path, name, `${size} bytes, more than the ${max} a metadata file may have`)

/** Entry names from sources are relative paths; `..` or an absolute path never resolve. */
const safeName = (path: string, name: string): string => {
  const n = normalizeTarName(name)
  if (n === '' || n.split('/').includes('..') || name.startsWith('/')) throw new ImportError(path, name, 'not a path inside the source')
  return n
}

export class TarContainer implements Container {
  private constructor(private readonly archive: TarArchive) {}

  static async open(path: string): Promise<TarContainer> {
    return new TarContainer(await TarArchive.open(path))
  }

  get path(): string {
    return this.archive.path
  }

  /** Every member name (for detection and messages). */
  names(): IterableIterator<string> {
    return this.archive.entries.keys()
  }

  async size(name: string): Promise<number | undefined> {
    return this.archive.file(name)?.size
  }

  private entry(name: string) {
    const entry = this.archive.file(safeName(this.path, name))
    if (!entry) throw new ImportError(this.path, name, 'missing from the archive')
    return entry
  }

  async read(name: string, max: number): Promise<Buffer> {
    const entry = this.entry(name)
    if (entry.size > max) throw tooBig(this.path, name, entry.size, max)
    return this.archive.read(entry)
  }

  async head(name: string, length: number): Promise<Buffer> {
    return this.archive.read(this.entry(name), length)
  }

  stream(name: string): Readable {
    return this.archive.stream(this.entry(name))
  }

  close(): Promise<void> {
    return this.archive.close()
  }
}

export class DirContainer implements Container {
  constructor(readonly path: string) {}

  private file(name: string): string {
    return join(this.path, safeName(this.path, name))
  }

  async size(name: string): Promise<number | undefined> {
    try {
      const s = await stat(this.file(name))
      return s.isFile() ? s.size : undefined
    } catch {
      return undefined
    }
  }

  private async sizeOrThrow(name: string): Promise<number> {
    const size = await this.size(name)
    if (size === undefined) throw new ImportError(this.path, name, 'missing from the folder')
    return size
  }

  async read(name: string, max: number): Promise<Buffer> {
    const size = await this.sizeOrThrow(name)
    if (size > max) throw tooBig(this.path, name, size, max)
    return this.head(name, size)
  }

  async head(name: string, length: number): Promise<Buffer> {
    await this.sizeOrThrow(name)
    let handle
    try {
      handle = await open(this.file(name), 'r')
      const buf = Buffer.alloc(length)
      let done = 0
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, done)
        if (bytesRead === 0) break
        done += bytesRead
      }
      return buf.subarray(0, done)
    } catch (err) {
      throw new ImportError(this.path, name, `cannot read: ${messageOf(err)}`)
    } finally {
      await handle?.close()
    }
  }

  stream(name: string): Readable {
    return createReadStream(this.file(name), { highWaterMark: 1024 * 1024 })
  }

  async close(): Promise<void> {}
}
