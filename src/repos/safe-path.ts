/**
 * Request paths → path segments that are safe to join under a file root.
 *
 * Pure: no file system. The rule is decode once, normalise, refuse anything
 * that could name a file outside the root or that a later decoder could read
 * differently:
 *
 * - the request-target is split on `/` *before* percent-decoding, and each
 *   segment is decoded exactly once (RFC 3986 §2.4: "implementations must not
 *   percent-encode or decode the same string more than once"), so `%2F` can
 *   never become a separator: a decoded segment holding `/` is refused;
 * - `.` and empty segments are dropped (nginx merges slashes too); `..` in
 *   any spelling (`..`, `%2e%2e`, `.%2E`, and `%252e%252e`, which decodes to
 *   `..` if anything downstream decodes again) is refused rather than
 *   resolved, so there is nothing to get wrong later;
 * - backslashes (raw or encoded: a separator on other systems and in the
 *   WHATWG URL parser), NUL and other control characters, malformed
 *   percent-encoding or UTF-8, over-long paths and segments are refused.
 *
 * A refusal is a 400 (the request is malformed or hostile) or a 404 (it is
 * well-formed but cannot name a file); never a 500.
 */

/** Longest raw request path accepted, in bytes (PATH_MAX on Linux). */
export const MAX_PATH_LENGTH = 4096
/** Longest decoded segment, in UTF-8 bytes (NAME_MAX on Linux). */
export const MAX_SEGMENT_BYTES = 255

export type PathRefusal =
  'not-absolute' | 'too-long' | 'bad-encoding' | 'dot-dot' | 'encoded-slash' | 'backslash' | 'nul' | 'control' | 'segment-too-long'

export type SafePath =
  | {
      ok: true
      /** Decoded, normalised segments; none is empty, `.`, `..` or holds `/`. */
      segments: string[]
      /** The request path ended in `/` (a directory was asked for). */
      trailingSlash: boolean
    }
  | { ok: false; status: 400 | 404; reason: PathRefusal }

const refuse = (reason: PathRefusal, status: 400 | 404 = 400): SafePath => ({ ok: false, status, reason })

// C0 controls and DEL. NUL is reported on its own because it is the classic
// truncation attack (`file.txt%00.html`).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0001-\u001f\u007f]/

const decodeOnce = (segment: string): string | null => {
  if (!segment.includes('%')) return segment
  try {
    // decodeURIComponent rejects malformed escapes and invalid UTF-8.
    return decodeURIComponent(segment)
  } catch {
    return null
  }
}

const isDotDot = (s: string): boolean => s === '..'

/**
 * The path part of a request-target (origin-form `/a/b?q`, or absolute-form
 * `http://host/a/b?q`, RFC 9112 §3.2). The query is dropped; a fragment is
 * not part of a request-target, so a raw `#` is malformed.
 */
export const requestPathOf = (target: string): string | null => {
  let path = target
  if (!path.startsWith('/')) {
    const m = /^https?:\/\/[^/?#]*/i.exec(path)
    if (!m) return null
    path = path.slice(m[0].length)
    if (path === '' || path.startsWith('?')) path = '/' + path
  }
  const q = path.indexOf('?')
  if (q >= 0) path = path.slice(0, q)
  return path
}

/**
 * A path of unreserved and sub-delimiter characters only: no `%`, `\\`,
 * `#` or control character, so no segment changes when decoded and each is
 * as many UTF-8 bytes long as it has characters. Nearly every real request.
 */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/

/** parseRequestPath for a PLAIN_PATH: the same answer, without the decoding and checks that cannot apply. */
const parsePlainPath = (path: string): SafePath => {
  const raw = path.split('/')
  const segments: string[] = []
  for (let i = 1; i < raw.length; i++) {
    const r = raw[i]!
    if (r === '' || r === '.') continue
    if (r === '..') return refuse('dot-dot')
    if (r.length > MAX_SEGMENT_BYTES) return refuse('segment-too-long', 404)
    segments.push(r)
  }
  return { ok: true, segments, trailingSlash: path.endsWith('/') }
}

/** Parses a raw request-target into safe segments (see the module comment). */
export const parseRequestPath = (target: string): SafePath => {
  const path = requestPathOf(target)
  if (path === null || !path.startsWith('/')) return refuse('not-absolute')
  if (path.length > MAX_PATH_LENGTH) return refuse('too-long')
  if (PLAIN_PATH.test(path)) return parsePlainPath(path)
  if (path.includes('#')) return refuse('bad-encoding')
  if (path.includes('\\')) return refuse('backslash')
  const raw = path.split('/')
  const segments: string[] = []
  for (let i = 1; i < raw.length; i++) {
    const r = raw[i]!
    if (r === '') continue
    const d = decodeOnce(r)
    if (d === null) return refuse('bad-encoding')
    if (d.includes('/')) return refuse('encoded-slash')
    if (d.includes('\\')) return refuse('backslash')
    if (d.includes('\u0000')) return refuse('nul')
    if (CONTROL.test(d)) return refuse('control')
    if (d === '.') continue
    if (isDotDot(d)) return refuse('dot-dot')
    // Defence in depth: a segment that is `..` or holds a separator after a
    // second decoding (`%252e%252e`, `%252f`) names a literal file here, but
    // not behind a proxy that decodes again. Real package trees have no such
    // names; a name that merely holds `%` (`100%25.txt`) is served.
    if (d.includes('%')) {
      const again = decodeOnce(d)
      if (again !== null && (isDotDot(again) || again === '.' || again.includes('/') || again.includes('\\'))) {
        return refuse('dot-dot')
      }
    }
    if (Buffer.byteLength(d, 'utf8') > MAX_SEGMENT_BYTES) return refuse('segment-too-long', 404)
    segments.push(d)
  }
  return { ok: true, segments, trailingSlash: path.endsWith('/') }
}

/** Splits a mount prefix (`/`, `/files`, `/a/b/`) into segments. */
export const prefixSegments = (prefix: string): string[] => prefix.split('/').filter((s) => s !== '' && s !== '.')

/** True when `segments` starts with `prefix`. */
export const startsWithSegments = (segments: readonly string[], prefix: readonly string[]): boolean => {
  if (prefix.length > segments.length) return false
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false
  return true
}

/**
 * A path segment as it goes into a URL (a Location header, a listing link):
 * everything but unreserved characters and a few safe sub-delims encoded, so
 * names with spaces, `%`, `#`, `?` and non-ASCII characters survive the round
 * trip.
 */
export const encodeSegment = (segment: string): string =>
  encodeURIComponent(segment).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)

/** Segments back into an absolute URL path. */
export const encodePath = (segments: readonly string[], trailingSlash = false): string => {
  const p = '/' + segments.map(encodeSegment).join('/')
  return trailingSlash && segments.length > 0 ? p + '/' : p
}

/**
 * True when `real` (an absolute, symlink-free path from realpath) is `root`
 * or inside it. Plain string prefixes are not enough: `/srv/root-2` starts
 * with `/srv/root`.
 */
export const isInside = (root: string, real: string): boolean => {
  if (real === root) return true
  const base = root.endsWith('/') ? root : root + '/'
  return real.startsWith(base)
}
