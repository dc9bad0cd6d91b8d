/**
 * A requirements check as text: one line per requirement, echoing it as
 * written, then one word (`present`, `missing`, `incomplete`) and, in
 * parentheses, what it was found as or why not; an incomplete image's
 * problems follow it, indented, one per line. Lines starting with `#` say
 * which list follows and which platforms were needed.
 */
import { formatImageProblem } from '../images/index.js'
import type { CheckReport, RequirementResult } from './evaluate.js'

const listOf = (r: RequirementResult): string =>
  r.source ? r.source.slice(0, r.source.lastIndexOf(':')) : r.kind === 'image' ? 'every image served' : r.kind

const parenthesis = (r: RequirementResult): string => {
  const parts: string[] = []
  if (r.found && r.found !== r.requirement) parts.push(r.found)
  if (r.kind === 'image' && r.status === 'present' && r.platforms?.length) parts.push(r.platforms.join(', '))
  if (r.detail) parts.push(r.detail)
  return parts.length ? `  (${parts.join('; ')})` : ''
}

export const renderCheckText = (report: CheckReport): string => {
  const lines: string[] = []
  const p = report.platforms
  if (p.needed.length) {
    const from = [
      ...p.configured.map((x) => `${x} (configured)`),
      ...p.nodes.filter((n) => !p.configured.includes(n.platform)).map((n) => `${n.platform} (node ${n.hostname})`),
    ]
    lines.push(`# platforms needed: ${from.join(', ')}`)
  } else lines.push('# platforms needed: none named (requirements.platforms, --platforms) and no node has checked in')
  let list: string | null = null
  for (const r of report.requirements) {
    const here = listOf(r)
    if (here !== list) {
      lines.push(`# ${here}`)
      list = here
    }
    lines.push(`${r.requirement} ${r.status}${parenthesis(r)}`)
    if (r.status === 'incomplete') for (const problem of r.problems ?? []) lines.push(`    ${formatImageProblem(problem)}`)
  }
  const s = report.summary
  lines.push(
    `${s.present} present, ${s.missing} missing, ${s.incomplete} incomplete${report.requirements.length ? '' : ' (nothing to check)'}`,
  )
  return `${lines.join('\n')}\n`
}
