/**
 * Requirements against the bundle: every requirement is present, missing,
 * or present but incomplete.
 *
 * - An image is missing when no repository holds the name (after the
 *   upstream-name rules) or the repository lacks the tag; incomplete when
 *   anything a pull needs is not whole (an index whose child manifest is
 *   absent is incomplete whatever platforms are needed), or when it is for
 *   platforms but none of them covers a platform needed; present otherwise. An
 *   image that names no platform (an artifact) is not held to platforms.
 * - A file is missing when no root serves it; incomplete when it is empty.
 * - A package is missing when no index (of its family's trees) lists it;
 *   incomplete when listed but its file is not there at its size.
 *
 * Without an images list, every image served is held to the platforms
 * needed (and checked whole).
 */
import { isBreaking, type ImageProblem } from '../images/index.js'
import { mapLimited, type ContentLookup, type ImageSummary } from './content.js'
import { findPackage } from './packages.js'
import { uncovered, type NeededPlatforms } from './platforms.js'
import { parseFileRef, parseImageRef, type Requirement, type RequirementKind } from './requirements.js'

export type RequirementStatus = 'present' | 'missing' | 'incomplete'

export interface RequirementResult {
  kind: RequirementKind
  /** As written in the list (for every image, the stored `repository:tag`). */
  requirement: string
  /** `images.list:3`; null for an image taken from the bundle itself. */
  source: string | null
  status: RequirementStatus
  /** What it was found as: the stored image, the file's or package's URL path. */
  found?: string
  /** Why it is not present, in a few words. */
  detail?: string
  /** Images: the platforms held whole. */
  platforms?: string[]
  /** Images: the platforms needed and not held. */
  missingPlatforms?: string[]
  /** Images: the nodes (that checked in) whose platform it lacks. */
  nodes?: string[]
  /** Images: what a pull would need and not find. */
  problems?: ImageProblem[]
}

export interface CheckReport {
  ok: boolean
  checkedAt: string
  platforms: NeededPlatforms
  summary: Record<RequirementStatus, number>
  requirements: RequirementResult[]
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** The status of an image held whole or not, against the platforms needed. */
const imageStatus = (
  summary: Pick<ImageSummary, 'platforms' | 'completePlatforms' | 'problems'>,
  platforms: NeededPlatforms,
): Pick<RequirementResult, 'status' | 'detail' | 'platforms' | 'missingPlatforms' | 'nodes' | 'problems'> => {
  const needed = platforms.needed
  const breaking = summary.problems.filter(isBreaking)
  // An artifact (no platform at all) is held to none; a platform the image is for but holds broken is one of its problems.
  const missingPlatforms = summary.platforms.length ? uncovered(summary.platforms, needed) : []
  const nodes = platforms.nodes.filter((n) => missingPlatforms.includes(n.platform)).map((n) => n.hostname)
  const out = {
    platforms: summary.completePlatforms,
    missingPlatforms,
    ...(nodes.length ? { nodes } : {}),
    ...(summary.problems.length ? { problems: summary.problems } : {}),
  }
  const why: string[] = []
  if (breaking.length) why.push(plural(breaking.length, 'problem'))
  if (missingPlatforms.length) why.push(`lacks ${missingPlatforms.join(', ')}${nodes.length ? `, needed by ${nodes.join(', ')}` : ''}`)
  if (why.length) return { status: 'incomplete', detail: why.join('; '), ...out }
  const foreign = summary.problems.length - breaking.length
  return { status: 'present', ...(foreign ? { detail: `${plural(foreign, 'foreign layer')} not held` } : {}), ...out }
}

const checkImageRequirement = async (r: Requirement, content: ContentLookup, needed: NeededPlatforms): Promise<RequirementResult> => {
  const base = { kind: r.kind, requirement: r.text, source: r.source }
  const ref = parseImageRef(r.text)
  if (typeof ref === 'string') return { ...base, status: 'missing', detail: ref }
  const lookup = await content.image(ref)
  if (!lookup.check || !lookup.found) {
    const detail = lookup.repository
      ? `${lookup.repository} has no ${ref.digest ? `manifest ${ref.digest}` : `tag ${ref.tag}`}`
      : `no repository holds it; tried ${lookup.tried.join(', ')}`
    return { ...base, status: 'missing', detail }
  }
  return { ...base, found: lookup.found, ...imageStatus(lookup.check, needed) }
}

const checkFileRequirement = async (r: Requirement, content: ContentLookup): Promise<RequirementResult> => {
  const base = { kind: r.kind, requirement: r.text, source: r.source }
  const ref = parseFileRef(r.text)
  if (typeof ref === 'string') return { ...base, status: 'missing', detail: ref }
  const file = await content.file(ref)
  if (!file) return { ...base, status: 'missing', detail: 'no file root serves it' }
  if (file.size === 0) return { ...base, status: 'incomplete', found: file.url, detail: 'empty' }
  return { ...base, status: 'present', found: file.url }
}

const checkPackageRequirement = async (r: Requirement, content: ContentLookup): Promise<RequirementResult> => {
  const base = { kind: r.kind, requirement: r.text, source: r.source }
  const trees = (await content.trees()).filter((t) => !r.family || t.family === r.family)
  if (!trees.length) return { ...base, status: 'missing', detail: `no ${r.family ?? 'yum or apt'} tree is served` }
  const found = await findPackage(trees, r.text)
  return {
    ...base,
    status: found.status,
    ...(found.found[0] ? { found: found.found[0].url } : {}),
    ...(found.detail
      ? { detail: found.detail }
      : found.status === 'missing'
        ? { detail: `not in the indexes of ${plural(trees.length, `${r.family ?? ''} tree`.trim())}` }
        : {}),
  }
}

export interface EvaluateOptions {
  /** Hold every image served to the platforms (when no images list is given). */
  everyImage?: boolean
  now?: Date
}

export const evaluateRequirements = async (
  requirements: readonly Requirement[],
  content: ContentLookup,
  platforms: NeededPlatforms,
  options: EvaluateOptions = {},
): Promise<CheckReport> => {
  const results = await mapLimited(requirements, (r) =>
    r.kind === 'image'
      ? checkImageRequirement(r, content, platforms)
      : r.kind === 'file'
        ? checkFileRequirement(r, content)
        : checkPackageRequirement(r, content),
  )
  if (options.everyImage) {
    const every = await content.everyImage()
    results.unshift(
      ...every.map((s): RequirementResult => ({
        kind: 'image',
        requirement: s.image,
        source: null,
        found: s.image,
        ...imageStatus(s, platforms),
      })),
    )
  }
  const summary: Record<RequirementStatus, number> = { present: 0, missing: 0, incomplete: 0 }
  for (const r of results) summary[r.status]++
  return {
    ok: summary.missing === 0 && summary.incomplete === 0,
    checkedAt: (options.now ?? new Date()).toISOString(),
    platforms,
    summary,
    requirements: results,
  }
}
