/**
 * The requirements of a running server: the configured lists (read again at
 * each check), the platforms configured and those of the nodes that checked
 * in, and the latest report, kept a few seconds so that /readyz, /status and
 * /nodes do not each walk the bundle. Also what the bundle serves seen from
 * the catalog (every image, whole or not, and the platforms it is whole for).
 */
import type { Catalog } from '../catalog/index.js'
import { isBreaking, type ImageProblem } from '../images/index.js'
import type { ReadinessCheck, ReadinessResult } from '../nodes/health.js'
import type { ContentLookup, ImageSummary } from './content.js'
import { evaluateRequirements, type CheckReport } from './evaluate.js'
import { neededPlatforms, parsePlatformList, type NeededPlatforms } from './platforms.js'
import { namedLines } from './readiness.js'
import { parseRequirementLists, readRequirements, RequirementsError, type Requirement, type RequirementLists } from './requirements.js'

export interface RequirementsConfig {
  images: readonly string[]
  files: readonly string[]
  packages: readonly string[]
  platforms: readonly string[]
}

/** A node as coverage needs it. */
export interface NodeArch {
  hostname: string
  arch: string | null | undefined
}

export interface MonitorOptions {
  requirements: RequirementsConfig
  catalog: Catalog
  /** What the bundle holds, asked afresh for each check. */
  content: () => ContentLookup
  nodes: () => readonly NodeArch[]
  /** How long a report is reused (default 10 s). */
  maxAgeMs?: number
}

/** Every image the catalog lists, with the platforms it is whole for (breaking problems taken off). */
export const catalogImages = (catalog: Catalog): ImageSummary[] => {
  const inv = catalog.inventory()
  const problems = new Map<string, ImageProblem[]>()
  for (const p of inv.problems ?? []) problems.set(p.image, [...(problems.get(p.image) ?? []), p])
  const out: ImageSummary[] = []
  for (const repo of inv.images) {
    for (const t of repo.tags) {
      const image = `${repo.repository}:${t.tag}`
      const own = problems.get(image) ?? []
      const broken = own.filter(isBreaking)
      const complete = broken.some((p) => p.platform === 'unknown')
        ? []
        : t.platforms.filter((pl) => !broken.some((p) => p.platform === pl))
      out.push({ image, platforms: t.platforms, completePlatforms: complete, problems: own })
      problems.delete(image)
    }
  }
  // Tags left out of the listing (their own manifest missing) are images too: broken ones.
  for (const [image, own] of problems) out.push({ image, platforms: [], completePlatforms: [], problems: own })
  return out.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))
}

/** Requirements one request may ask to check (kubespray's lists hold a few hundred). */
export const MAX_SENT = 10_000

export class RequirementsMonitor {
  private readonly options: MonitorOptions
  private latest: { at: number; report: CheckReport | RequirementsError } | null = null
  private running: Promise<CheckReport | RequirementsError> | null = null
  readonly configuredPlatforms: string[]

  constructor(options: MonitorOptions) {
    this.options = options
    this.configuredPlatforms = parsePlatformList(options.requirements.platforms).platforms
  }

  /** Whether `requirements:` names anything to check. */
  get configured(): boolean {
    const r = this.options.requirements
    return r.images.length + r.files.length + r.packages.length + r.platforms.length > 0
  }

  /** Whether an images list is configured (else every image served is held to the platforms). */
  get hasImageList(): boolean {
    return this.options.requirements.images.length > 0
  }

  platforms(configured: readonly string[] = this.configuredPlatforms): NeededPlatforms {
    return neededPlatforms(configured, this.options.nodes())
  }

  /** Evaluates requirements now; every image is held to the platforms when no images list is given. */
  async evaluate(requirements: readonly Requirement[], platforms: NeededPlatforms): Promise<CheckReport> {
    const everyImage = !requirements.some((r) => r.kind === 'image')
    return evaluateRequirements(requirements, this.options.content(), platforms, { everyImage })
  }

  /** Lists sent by `outpost check URL`, with their platforms (else the configured ones); at most MAX_SENT requirements. */
  async evaluateLists(lists: RequirementLists, platforms?: readonly string[]): Promise<CheckReport> {
    const parsed = platforms ? parsePlatformList(platforms) : { platforms: this.configuredPlatforms, invalid: [] }
    if (parsed.invalid.length) throw new RequirementsError(`not a platform: ${parsed.invalid.join(', ')}`)
    const requirements = parseRequirementLists(lists)
    if (requirements.length > MAX_SENT)
      throw new RequirementsError(`${requirements.length} requirements sent; at most ${MAX_SENT} are checked at once: split the lists`)
    return this.evaluate(requirements, this.platforms(parsed.platforms))
  }

  /** The configured requirements' report, reused while fresh; a list that cannot be read is the answer instead. */
  report(maxAgeMs = this.options.maxAgeMs ?? 10_000): Promise<CheckReport | RequirementsError> {
    if (this.latest && Date.now() - this.latest.at < maxAgeMs && this.samePlatforms(this.latest.report))
      return Promise.resolve(this.latest.report)
    this.running ??= (async () => {
      try {
        const r = this.options.requirements
        const requirements = await readRequirements({ images: r.images, files: r.files, packages: r.packages })
        return await this.evaluate(requirements, this.platforms())
      } catch (err) {
        if (err instanceof RequirementsError) return err
        throw err
      }
    })()
      .then((report) => {
        this.latest = { at: Date.now(), report }
        return report
      })
      .finally(() => {
        this.running = null
      })
    return this.running
  }

  /** A node that checked in with a new platform makes a report stale. */
  private samePlatforms(report: CheckReport | RequirementsError): boolean {
    if (report instanceof RequirementsError) return true
    return JSON.stringify(report.platforms.needed) === JSON.stringify(this.platforms().needed)
  }

  /** The last report made, without waiting for one. */
  get last(): CheckReport | RequirementsError | null {
    return this.latest?.report ?? null
  }

  /**
   * The images nodes need, each with the platforms it is whole for: those
   * of the images list when one is configured (from the latest report),
   * else every image served.
   */
  async neededImages(): Promise<ImageSummary[]> {
    if (!this.hasImageList) return catalogImages(this.options.catalog)
    const report = await this.report()
    if (report instanceof RequirementsError) return []
    return report.requirements
      .filter((r) => r.kind === 'image' && r.found)
      .map((r) => ({ image: r.found!, platforms: r.platforms ?? [], completePlatforms: r.platforms ?? [], problems: r.problems ?? [] }))
  }

  async readiness(): Promise<ReadinessResult> {
    const report = await this.report()
    if (report instanceof RequirementsError) return { ok: false, detail: report.message }
    if (report.ok) return { ok: true, detail: `${report.summary.present} present` }
    const lines = report.requirements
      .filter((r) => r.status !== 'present')
      .map((r) => `${r.requirement} ${r.status}${r.detail ? ` (${r.detail})` : ''}`)
    const s = report.summary
    return {
      ok: false,
      detail: `${s.missing} missing, ${s.incomplete} incomplete: ${namedLines(lines, 'outpost check, GET /inventory/requirements')}`,
    }
  }

  /** The readiness check, when requirements are configured. */
  checks(): ReadinessCheck[] {
    return this.configured ? [{ name: 'requirements', run: () => this.readiness() }] : []
  }
}
