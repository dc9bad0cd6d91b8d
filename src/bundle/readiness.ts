/**
 * What the bundle adds to `/readyz`: no image served is broken (its
 * problems named, one per line, as `outpost verify` names them), and, when
 * `requirements:` is configured, every requirement is present.
 */
import type { Catalog } from '../catalog/index.js'
import { formatImageProblem, isBreaking, type ImageProblem } from '../images/index.js'
import type { ReadinessCheck, ReadinessResult } from '../nodes/health.js'

/** At most this many problems are named in a readiness detail; the rest are counted. */
export const DETAIL_LINES = 10

export const namedLines = (lines: readonly string[], where: string): string =>
  lines.length > DETAIL_LINES
    ? `${lines.slice(0, DETAIL_LINES).join('; ')}; and ${lines.length - DETAIL_LINES} more (${where})`
    : lines.join('; ')

/** Broken images fail readiness; foreign layers that are not held are said without failing it. */
export const imagesReadiness = (problems: readonly ImageProblem[]): ReadinessResult => {
  const breaking = problems.filter(isBreaking)
  const foreign = problems.filter((p) => !isBreaking(p))
  const notHeld = foreign.length
    ? `not held (clients fetch them from their URLs): ${namedLines(foreign.map(formatImageProblem), 'GET /inventory')}`
    : ''
  if (breaking.length) {
    const images = new Set(breaking.map((p) => p.image)).size
    const detail = `${images} image(s) broken: ${namedLines(breaking.map(formatImageProblem), 'GET /inventory')}`
    return { ok: false, detail: notHeld ? `${detail}; ${notHeld}` : detail }
  }
  return notHeld ? { ok: true, detail: notHeld } : { ok: true }
}

export const imagesCheck = (catalog: Catalog): ReadinessCheck => ({
  name: 'images',
  run: () => imagesReadiness(catalog.imageProblems()),
})
