/**
 * Directory listings: HTML for people, JSON for scripts.
 *
 * The JSON is nginx's `autoindex_format json` shape (`name`, `type`, `mtime`
 * as an HTTP date, `size` for files), so scripts written against the nginx
 * that Outpost replaces keep working. As nginx's autoindex does, names that
 * start with a dot are left out (they are still served when asked for by
 * name), directories come first, and names sort by code point.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { preferredType } from '../http/accept.js'
import { encodeSegment } from './safe-path.js'

export interface ListingEntry {
  name: string
  type: 'directory' | 'file'
  size: number
  mtimeMs: number
}

/** Directories first, then by name (code point order, as `ls` in the C locale). */
export const sortEntries = (entries: ListingEntry[]): ListingEntry[] =>
  entries.sort((a, b) => (a.type !== b.type ? (a.type === 'directory' ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

/**
 * JSON when the client prefers `application/json` to `text/html`: a higher
 * q, or the same q with JSON named and HTML only reached by a wildcard
 * (`application/json, text/plain, *\/*`, as axios sends). No Accept, `*\/*`
 * or a real tie gets HTML, as browsers expect.
 */
export const prefersJson = (accept: string | undefined | null): boolean =>
  preferredType(accept, ['text/html', 'application/json']) === 'application/json'

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!)

const pad = (n: number): string => String(n).padStart(2, '0')

const formatDate = (ms: number): string => {
  const d = new Date(ms)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** The HTML page; `displayPath` is the decoded URL path of the directory, ending in `/`. */
export const renderHtml = (displayPath: string, entries: readonly ListingEntry[]): string => {
  const title = `Index of ${escapeHtml(displayPath)}`
  const rows = entries.map((e) => {
    const slash = e.type === 'directory' ? '/' : ''
    // `./` keeps a name such as `a:b` from reading as a URL scheme.
    const href = `./${encodeSegment(e.name)}${slash}`
    const size = e.type === 'directory' ? '-' : String(e.size)
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(e.name)}${slash}</a></td><td>${formatDate(e.mtimeMs)}</td><td class="size">${size}</td></tr>`
  })
  const parent = displayPath === '/' ? [] : ['<tr><td><a href="../">../</a></td><td></td><td></td></tr>']
  return [
    '<!DOCTYPE html>',
    '<html>',
    `<head><meta charset="utf-8"><title>${title}</title>`,
    '<style>body{font-family:monospace}td,th{padding:0 1.5em 0 0;text-align:left}td.size{text-align:right}</style></head>',
    '<body>',
    `<h1>${title}</h1>`,
    '<table>',
    '<thead><tr><th>Name</th><th>Last modified (UTC)</th><th>Size (bytes)</th></tr></thead>',
    '<tbody>',
    ...parent,
    ...rows,
    '</tbody>',
    '</table>',
    '<hr><p><a href="/status" rel="related">Outpost status</a></p>',
    '</body>',
    '</html>',
    '',
  ].join('\n')
}

/** nginx's `autoindex_format json`. */
export const renderJson = (entries: readonly ListingEntry[]): string =>
  JSON.stringify(
    entries.map((e) =>
      e.type === 'directory'
        ? { name: e.name, type: 'directory', mtime: new Date(e.mtimeMs).toUTCString() }
        : { name: e.name, type: 'file', mtime: new Date(e.mtimeMs).toUTCString(), size: e.size },
    ),
  )

export interface ReadListingOptions {
  /** Names left out although present (entries another route answers for). */
  hide?: (name: string) => boolean
  /**
   * Decides whether a symlinked entry is listed: returns its real path when
   * the symlink policy allows it, else null (broken links are left out too).
   */
  resolveLink: (name: string) => Promise<string | null>
}

const STAT_BATCH = 64

/** Reads a directory for a listing: regular files and directories only, dot-names left out. */
export const readListing = async (dir: string, options: ReadListingOptions): Promise<ListingEntry[]> => {
  const dirents = await readdir(dir, { withFileTypes: true })
  const out: ListingEntry[] = []
  const wanted = dirents.filter((d) => !d.name.startsWith('.') && !options.hide?.(d.name))
  for (let i = 0; i < wanted.length; i += STAT_BATCH) {
    const batch = wanted.slice(i, i + STAT_BATCH)
    const found = await Promise.all(
      batch.map(async (d): Promise<ListingEntry | null> => {
        let path = join(dir, d.name)
        if (d.isSymbolicLink()) {
          const real = await options.resolveLink(d.name).catch(() => null)
          if (!real) return null
          path = real
        } else if (!d.isFile() && !d.isDirectory()) {
          return null
        }
        const st = await stat(path).catch(() => null)
        if (!st || (!st.isFile() && !st.isDirectory())) return null
        return { name: d.name, type: st.isDirectory() ? 'directory' : 'file', size: st.size, mtimeMs: st.mtimeMs }
      }),
    )
    for (const e of found) if (e) out.push(e)
  }
  return sortEntries(out)
}
