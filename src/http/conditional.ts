/**
 * Conditional request evaluation (RFC 9110 §13).
 *
 * Only the conditions a read-only server needs: If-None-Match and
 * If-Modified-Since decide 304, If-Range decides whether a Range applies.
 * If-Match / If-Unmodified-Since are evaluated too, because a client that
 * sends them expects 412 rather than a silently different body.
 */

export interface Validators {
  /** Strong entity tag including quotes, e.g. `"sha256:ab…"`. */
  etag: string
  /** Last modification time in ms, when the resource has one. */
  lastModified?: number
}

export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed'

export interface ConditionalHeaders {
  ifMatch?: string | null
  ifNoneMatch?: string | null
  ifModifiedSince?: string | null
  ifUnmodifiedSince?: string | null
}

const stripWeak = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag)

/** Splits an entity-tag list; `*` comes back as a single `*` entry. */
export const parseEtagList = (value: string): string[] => {
  const out: string[] = []
  const re = /\s*(\*|(?:W\/)?"[^"]*")\s*(?:,|$)/gy
  let m: RegExpExecArray | null
  while ((m = re.exec(value)) !== null) {
    out.push(m[1]!)
    if (re.lastIndex >= value.length) break
  }
  return out
}

/** Weak comparison (RFC 9110 §8.8.3.2), used by If-None-Match. */
const weakMatch = (list: string[], etag: string): boolean => list.some((t) => t === '*' || stripWeak(t) === stripWeak(etag))

/** Strong comparison, used by If-Match and If-Range. */
const strongMatch = (list: string[], etag: string): boolean => list.some((t) => t === '*' || (!t.startsWith('W/') && t === etag))

const parseHttpDate = (value: string | null | undefined): number | undefined => {
  if (!value) return undefined
  const t = Date.parse(value)
  return Number.isNaN(t) ? undefined : t
}

/** HTTP dates have one-second resolution: compare on whole seconds. */
const seconds = (ms: number): number => Math.floor(ms / 1000)

/** Evaluates preconditions in the order RFC 9110 §13.2.2 lays down. */
export const evaluateConditions = (h: ConditionalHeaders, v: Validators): ConditionalOutcome => {
  if (h.ifMatch) {
    if (!strongMatch(parseEtagList(h.ifMatch), v.etag)) return 'precondition-failed'
  } else if (h.ifUnmodifiedSince && v.lastModified !== undefined) {
    const since = parseHttpDate(h.ifUnmodifiedSince)
    if (since !== undefined && seconds(v.lastModified) > seconds(since)) return 'precondition-failed'
  }
  if (h.ifNoneMatch) {
    return weakMatch(parseEtagList(h.ifNoneMatch), v.etag) ? 'not-modified' : 'proceed'
  }
  if (h.ifModifiedSince && v.lastModified !== undefined) {
    const since = parseHttpDate(h.ifModifiedSince)
    if (since !== undefined && seconds(v.lastModified) <= seconds(since)) return 'not-modified'
  }
  return 'proceed'
}

/**
 * If-Range (RFC 9110 §13.1.5): the Range applies only when the validator
 * still matches. An entity tag must match strongly; a date must equal the
 * Last-Modified exactly.
 */
export const ifRangeAllows = (ifRange: string | null | undefined, v: Validators): boolean => {
  if (!ifRange) return true
  const value = ifRange.trim()
  if (value.startsWith('"') || value.startsWith('W/')) {
    return !value.startsWith('W/') && value === v.etag
  }
  const date = parseHttpDate(value)
  if (date === undefined || v.lastModified === undefined) return false
  return seconds(date) === seconds(v.lastModified)
}
