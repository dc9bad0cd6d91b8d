/**
 * A bundle manifest: what a bundle held when it was written, carried across
 * the air gap beside it. `outpost verify --write-manifest FILE` records every
 * blob (digest, size, sha256), every file (its URL path, size, sha256) and
 * every tag (the manifest digest it names); `outpost verify --manifest FILE`
 * on the far side reports what is missing, extra or different.
 *
 * The format is JSON lines, sorted, so that two manifests compare with diff:
 *
 *   {"outpost":"bundle-manifest","version":1,"created":"…","by":"outpost 0.1.0"}
 *   {"tag":"library/pause:3.9","digest":"sha256:…"}
 *   {"blob":"sha256:…","size":1234,"sha256":"…"}
 *   {"file":"/files/dl.k8s.io/…/kubeadm","size":5678,"sha256":"…"}
 */
import type { HashedItem } from '../catalog/verify.js'

export type { HashedItem }

export const MANIFEST_KIND = 'bundle-manifest'
export const MANIFEST_VERSION = 1

export class ManifestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ManifestError'
  }
}

const keyOf = (e: HashedItem): string => (e.kind === 'blob' ? `b ${e.digest}` : e.kind === 'file' ? `f ${e.path}` : `t ${e.image}`)
const ORDER = { tag: 0, blob: 1, file: 2 } as const

const lineOf = (e: HashedItem): string =>
  JSON.stringify(
    e.kind === 'blob'
      ? { blob: e.digest, size: e.size, sha256: e.sha256 }
      : e.kind === 'file'
        ? { file: e.path, size: e.size, sha256: e.sha256 }
        : { tag: e.image, digest: e.digest },
  )

/** The same item once (a blob held by several stores is one blob), in the manifest's order. */
export const uniqueItems = (items: readonly HashedItem[]): HashedItem[] => {
  const seen = new Map<string, HashedItem>()
  for (const e of items) if (!seen.has(keyOf(e))) seen.set(keyOf(e), e)
  return [...seen.values()].sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
}

export const renderManifest = (items: readonly HashedItem[], by: string, now = new Date()): string =>
  [
    JSON.stringify({ outpost: MANIFEST_KIND, version: MANIFEST_VERSION, created: now.toISOString(), by }),
    ...uniqueItems(items).map(lineOf),
  ].join('\n') + '\n'

const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0
const isHex = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)

/** Reads a manifest; a line that is not one of its entries is a ManifestError naming the line. */
export const parseManifestText = (text: string, name: string): HashedItem[] => {
  const lines = text.split('\n')
  const bad = (n: number, why: string): never => {
    throw new ManifestError(`${name}:${n}: ${why}`)
  }
  let head: Record<string, unknown> | undefined
  try {
    head = JSON.parse(lines[0] ?? '') as Record<string, unknown>
  } catch {
    // said below
  }
  if (head?.outpost !== MANIFEST_KIND) bad(1, 'not a bundle manifest (written by outpost verify --write-manifest)')
  if (head!.version !== MANIFEST_VERSION)
    bad(1, `manifest version ${String(head!.version)}; this Outpost reads version ${MANIFEST_VERSION}`)
  const out: HashedItem[] = []
  lines.slice(1).forEach((line, i) => {
    const n = i + 2
    if (!line.trim()) return
    let e: Record<string, unknown>
    try {
      e = JSON.parse(line) as Record<string, unknown>
    } catch {
      return bad(n, 'not JSON')
    }
    if (typeof e.blob === 'string' && isSize(e.size) && (e.sha256 === null || isHex(e.sha256)))
      out.push({ kind: 'blob', digest: e.blob, size: e.size, sha256: e.sha256 })
    else if (typeof e.file === 'string' && isSize(e.size) && isHex(e.sha256))
      out.push({ kind: 'file', path: e.file, size: e.size, sha256: e.sha256 })
    else if (typeof e.tag === 'string' && typeof e.digest === 'string') out.push({ kind: 'tag', image: e.tag, digest: e.digest })
    else bad(n, 'not a blob, file or tag entry')
  })
  return out
}

export interface ManifestDiff {
  /** In the manifest, not here. */
  missing: HashedItem[]
  /** Here, not in the manifest. */
  extra: HashedItem[]
  /** In both, not the same. */
  different: Array<{ expected: HashedItem; found: HashedItem }>
  /** Entries of the manifest found as recorded. */
  same: number
}

const sameItem = (a: HashedItem, b: HashedItem): boolean => lineOf(a) === lineOf(b)

export const compareManifest = (expected: readonly HashedItem[], found: readonly HashedItem[]): ManifestDiff => {
  const here = new Map(uniqueItems(found).map((e) => [keyOf(e), e]))
  const diff: ManifestDiff = { missing: [], extra: [], different: [], same: 0 }
  const wanted = uniqueItems(expected)
  for (const e of wanted) {
    const f = here.get(keyOf(e))
    if (!f) diff.missing.push(e)
    else if (!sameItem(e, f)) diff.different.push({ expected: e, found: f })
    else diff.same++
    here.delete(keyOf(e))
  }
  diff.extra = [...here.values()]
  return diff
}

const nameOf = (e: HashedItem): string => (e.kind === 'blob' ? `blob ${e.digest}` : e.kind === 'file' ? `file ${e.path}` : `tag ${e.image}`)
const whatOf = (e: HashedItem): string =>
  e.kind === 'tag' ? e.digest : `${e.size} bytes${e.kind === 'file' || e.sha256 ? `, sha256 ${e.sha256!.slice(0, 16)}…` : ''}`

/** One line per difference: `MISSING file /files/x (120 bytes, sha256 …)`, `DIFFERENT …: here …, in the manifest …`, `EXTRA …`. */
export const diffLines = (diff: ManifestDiff): string[] => [
  ...diff.missing.map((e) => `MISSING ${nameOf(e)} (${whatOf(e)})`),
  ...diff.different.map(
    ({ expected, found }) => `DIFFERENT ${nameOf(expected)}: ${whatOf(found)} here, ${whatOf(expected)} in the manifest`,
  ),
  ...diff.extra.map((e) => `EXTRA ${nameOf(e)} (${whatOf(e)})`),
]
