/**
 * The shape of `/v2/…` paths (distribution-spec endpoints). Pure functions,
 * no I/O; the names, tags and digests inside are checked by the image
 * grammar (src/images/grammar.ts) when a handler uses them.
 */

export type V2Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload'; name: string; rest: string }
  | { kind: 'referrers'; name: string; digest: string }
  | { kind: 'unknown' }

const TAGS_RE = /^(.+)\/tags\/list$/
const UPLOAD_RE = /^(.+)\/blobs\/uploads(?:\/(.*))?$/
const ITEM_RE = /^(.+)\/(manifests|blobs|referrers)\/([^/]+)$/

/**
 * Splits the part of a path after `/v2/`. Names contain slashes, so the
 * route is found from the right: the greedy `(.+)` keeps the last marker.
 */
export const parseV2Path = (rest: string): V2Route => {
  if (rest === '') return { kind: 'base' }
  if (rest === '_catalog') return { kind: 'catalog' }
  let m = TAGS_RE.exec(rest)
  if (m) return { kind: 'tags', name: m[1]! }
  m = UPLOAD_RE.exec(rest)
  if (m) return { kind: 'upload', name: m[1]!, rest: m[2] ?? '' }
  m = ITEM_RE.exec(rest)
  if (m) {
    const [, name, what, ref] = m as unknown as [string, string, string, string]
    if (what === 'manifests') return { kind: 'manifest', name, reference: ref }
    if (what === 'blobs') return { kind: 'blob', name, digest: ref }
    return { kind: 'referrers', name, digest: ref }
  }
  return { kind: 'unknown' }
}
