/**
 * An index of a tar archive: where each member's data starts and how long it
 * is, built by reading the 512-byte headers only and skipping the data, so a
 * many-GiB archive is indexed in a few reads per member and any member can
 * later be read as a byte range of the file.
 *
 * Formats (POSIX pax and ustar, GNU): the ustar `prefix` field (only when the
 * magic is `ustar\0`; GNU headers use those bytes for other things), GNU long
 * names and long link names (`L`, `K` members), pax extended headers (`x`:
 * `path`, `linkpath`, `size`), base-256 sizes. Global pax headers (`g`) are
 * read past. Later members of the same name replace earlier ones, as on
 * extraction.
 */
import { createReadStream } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { ImportError, messageOf } from './errors.js'

const BLOCK = 512
/** Pax and GNU long-name members are metadata; anything bigger is not a sane archive. */
const META_MAX = 1024 * 1024

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other'

export interface TarEntry {
  /** Normalised: no leading `./` or `/`, no trailing `/`. */
  name: string
  type: TarEntryType
  /** Byte offset of the first data byte in the archive. */
  offset: number
  /** Data length in bytes (0 for links and directories). */
  size: number
  /** Target of a symbolic or hard link, as written. */
  linkname?: string
}

/** Normalises a member name or link target: `./a//b/` → `a/b`. */
export const normalizeTarName = (name: string): string => {
  const n = posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '')
  return n === '.' ? '' : n
}

const isZeroBlock = (b: Buffer): boolean => {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false
  return true
}

/** Header checksum: the sum of all bytes with the checksum field read as spaces (POSIX; some writers sum signed bytes). */
const checksumOk = (b: Buffer): boolean => {
  const field = b
    .subarray(148, 156)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim()
  if (!/^[0-7]+$/.test(field)) return false
  const stored = parseInt(field, 8)
  let unsigned = 8 * 32
  let signed = 8 * 32
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue
    const v = b[i]!
    unsigned += v
    signed += v > 127 ? v - 256 : v
  }
  return stored === unsigned || stored === signed
}

const cString = (b: Buffer, start: number, length: number): string => {
  const field = b.subarray(start, start + length)
  const nul = field.indexOf(0)
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8')
}

/** A numeric field: octal text, or base-256 when the high bit of the first byte is set (GNU, star). */
const numeric = (b: Buffer, start: number, length: number): number | undefined => {
  const field = b.subarray(start, start + length)
  if (field[0]! & 0x80) {
    if (field[0] === 0xff) return undefined // negative
    let value = field[0]! & 0x7f
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!
    return Number.isSafeInteger(value) ? value : undefined
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim()
  if (text === '') return 0
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined
}

/** Pax extended header records: `<len> <key>=<value>\n`. */
export const parsePax = (data: Buffer): Map<string, string> => {
  const out = new Map<string, string>()
  let pos = 0
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos)
    if (space < 0) break
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10)
    if (!Number.isSafeInteger(len) || len <= 0 || pos + len > data.length) break
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1))
    pos += len
  }
  return out
}

const typeOf = (flag: string): TarEntryType => {
  switch (flag) {
    case '0':
    case '\0':
    case '':
    case '7':
      return 'file'
    case '1':
      return 'hardlink'
    case '2':
      return 'symlink'
    case '5':
      return 'directory'
    default:
      return 'other'
  }
}

/** Types whose size field does not announce data blocks (as Go's archive/tar reads them). */
const NO_DATA = new Set(['1', '2', '3', '4', '5', '6'])

/** An open, indexed tar archive. Close it when done. */
export class TarArchive {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly entries: ReadonlyMap<string, TarEntry>,
    private readonly handle: FileHandle,
  ) {}

  /** Indexes the archive at `path`. Rejects with an ImportError on a bad or truncated archive. */
  static async open(path: string): Promise<TarArchive> {
    const handle = await open(path, 'r')
    try {
      const size = (await handle.stat()).size
      const entries = await indexEntries(path, handle, size)
      return new TarArchive(path, size, entries, handle)
    } catch (err) {
      await handle.close()
      throw err
    }
  }

  /**
   * The regular-file member a name denotes, following symbolic links
   * (relative to the link's folder) and hard links (relative to the archive
   * root). Undefined when there is none.
   */
  file(name: string): TarEntry | undefined {
    let current = normalizeTarName(name)
    for (let hops = 0; hops < 16; hops++) {
      const entry = this.entries.get(current)
      if (!entry) return undefined
      if (entry.type === 'file') return entry
      if (entry.type === 'symlink' && entry.linkname !== undefined) {
        current = entry.linkname.startsWith('/')
          ? normalizeTarName(entry.linkname)
          : normalizeTarName(posix.join(posix.dirname(current), entry.linkname))
      } else if (entry.type === 'hardlink' && entry.linkname !== undefined) {
        current = normalizeTarName(entry.linkname)
      } else {
        return undefined
      }
    }
    return undefined
  }

  /** Reads `length` bytes of a member's data from its start. */
  async read(entry: TarEntry, length = entry.size): Promise<Buffer> {
    const n = Math.min(length, entry.size)
    const buf = Buffer.alloc(n)
    let done = 0
    while (done < n) {
      const { bytesRead } = await this.handle.read(buf, done, n - done, entry.offset + done)
      if (bytesRead === 0) throw new ImportError(this.path, entry.name, `truncated: read ${done} of ${n} bytes`)
      done += bytesRead
    }
    return buf
  }

  /** Streams a member's data (read from the file at the indexed offset). */
  stream(entry: TarEntry): Readable {
    if (entry.size === 0) return Readable.from([])
    // A stream of its own (a FileHandle stream closes the shared handle when destroyed).
    return createReadStream(this.path, { start: entry.offset, end: entry.offset + entry.size - 1, highWaterMark: 1024 * 1024 })
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}

const readAt = async (handle: FileHandle, position: number, length: number): Promise<Buffer> => {
  const buf = Buffer.alloc(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done === length ? buf : buf.subarray(0, done)
}

const indexEntries = async (path: string, handle: FileHandle, fileSize: number): Promise<Map<string, TarEntry>> => {
  const entries = new Map<string, TarEntry>()
  let pos = 0
  let previous: string | undefined
  let pax = new Map<string, string>()
  let longName: string | undefined
  let longLink: string | undefined
  const where = (): string => (previous === undefined ? `header at byte ${pos}` : `header after ${previous} (byte ${pos})`)

  for (;;) {
    if (pos + BLOCK > fileSize) {
      throw new ImportError(
        path,
        previous,
        pos === 0
          ? 'not a tar archive (empty)'
          : `truncated after this entry: the archive ends at byte ${fileSize} without its end-of-archive blocks`,
      )
    }
    let header: Buffer
    try {
      header = await readAt(handle, pos, BLOCK)
    } catch (err) {
      throw new ImportError(path, previous, `cannot read: ${messageOf(err)}`)
    }
    if (isZeroBlock(header)) return entries
    if (!checksumOk(header)) {
      throw new ImportError(
        path,
        pos === 0 ? undefined : where(),
        pos === 0 ? 'not a tar archive' : 'corrupt tar header (checksum mismatch)',
      )
    }
    const flag = String.fromCharCode(header[156]!)
    const headerSize = numeric(header, 124, 12)
    const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0'
    let name = cString(header, 0, 100)
    if (ustar) {
      const prefix = cString(header, 345, 155)
      if (prefix) name = `${prefix}/${name}`
    }
    const shownName = pax.get('path') ?? longName ?? name
    const paxSize = pax.get('size')
    const size = paxSize !== undefined && /^\d+$/.test(paxSize) ? Number(paxSize) : headerSize
    if (size === undefined || !Number.isSafeInteger(size)) throw new ImportError(path, shownName, 'corrupt tar header (bad size field)')
    const offset = pos + BLOCK
    const dataSize = NO_DATA.has(flag) ? 0 : size
    if (offset + dataSize > fileSize) {
      throw new ImportError(path, shownName, `truncated: the entry has ${dataSize} bytes, the archive ends after ${fileSize - offset}`)
    }
    pos = offset + Math.ceil(dataSize / BLOCK) * BLOCK

    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (dataSize > META_MAX) throw new ImportError(path, shownName, `tar metadata member of ${dataSize} bytes`)
      const data = await readAt(handle, offset, dataSize)
      if (flag === 'x') pax = parsePax(data)
      else if (flag === 'L') longName = cString(data, 0, data.length)
      else if (flag === 'K') longLink = cString(data, 0, data.length)
      // 'g': global defaults (mtime, uname …) change nothing an index needs.
      continue
    }

    const type = typeOf(flag)
    const linkname = pax.get('linkpath') ?? longLink ?? cString(header, 157, 100)
    const entry: TarEntry = { name: normalizeTarName(shownName), type, offset, size: dataSize }
    if ((type === 'symlink' || type === 'hardlink') && linkname) entry.linkname = linkname
    if (entry.name !== '') entries.set(entry.name, entry)
    previous = entry.name || shownName
    pax = new Map()
    longName = undefined
    longLink = undefined
  }
}
