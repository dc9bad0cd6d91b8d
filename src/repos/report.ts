/** Package tree reports as text for people (`outpost verify --repos`). Pure. */
import type { TreeReport } from './trees.js'

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** The most problems printed per tree; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50

export const formatReports = (reports: readonly TreeReport[], options: { full: boolean; roots: readonly string[] }): string => {
  const lines: string[] = []
  if (reports.length === 0) {
    lines.push(`no yum or apt trees found under ${options.roots.join(', ') || '(no file roots configured)'}`)
    return lines.join('\n') + '\n'
  }
  const label = (r: TreeReport): string => `${r.url}${r.suite ? ` ${r.suite}` : ''}`
  const width = Math.min(60, Math.max(...reports.map((r) => label(r).length)))
  let problems = 0
  let packages = 0
  for (const r of reports) {
    problems += r.problems.length
    packages += r.packages
    const counts = `${plural(r.packages, 'package')}, ${plural(r.indexFiles, 'index file')}`
    const verdict = r.ok ? 'ok' : plural(r.problems.length, 'problem')
    lines.push(`${r.kind.padEnd(4)}${label(r).padEnd(width + 2)}${counts.padEnd(34)}${verdict}`)
    for (const p of r.problems.slice(0, MAX_LISTED_PROBLEMS)) lines.push(`      ${p.kind.padEnd(10)} ${p.file}  (${p.detail})`)
    if (r.problems.length > MAX_LISTED_PROBLEMS) lines.push(`      … and ${r.problems.length - MAX_LISTED_PROBLEMS} more`)
    for (const n of r.notes) lines.push(`      note: ${n}`)
  }
  const how = options.full ? 'sizes and checksums verified' : 'package sizes checked; --full verifies package checksums too'
  lines.push(`${plural(reports.length, 'package tree')}, ${plural(packages, 'package')}, ${plural(problems, 'problem')} (${how})`)
  return lines.join('\n') + '\n'
}
