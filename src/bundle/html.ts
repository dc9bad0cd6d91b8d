/**
 * HTML for the status page: every text goes through `esc` (hostnames,
 * labels, what nodes asked for and user agents come from clients), and
 * server paths go through a redactor for clients that are not on loopback.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text for an element or an attribute value (always double-quoted). */
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]!)

/** A tag with escaped attributes around HTML already safe. */
export const el = (tag: string, attrs: Record<string, string | number | boolean | undefined>, inner = ''): string => {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${esc(v)}"`))
    .join('')
  return `<${tag}${a}>${inner}</${tag}>`
}

/** A table of escaped cells (a cell given as `{ html }` is taken as it is). */
export type Cell = string | number | { html: string } | null | undefined

const cell = (c: Cell): string => (c && typeof c === 'object' ? c.html : esc(c ?? ''))

export const table = (head: readonly string[], rows: readonly Cell[][], cls = ''): string =>
  rows.length === 0
    ? ''
    : `<div class="scroll"><table${cls ? ` class="${esc(cls)}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
        .map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table></div>`

/**
 * Replaces every occurrence of a server path by its label (longest paths
 * first, so a root inside another is named as itself).
 */
export const redactor = (paths: ReadonlyArray<{ path: string; label: string }>): ((text: string) => string) => {
  const known = paths.filter((p) => p.path.length > 1).sort((a, b) => b.path.length - a.path.length)
  if (!known.length) return (t) => t
  return (text) => {
    let out = text
    for (const { path, label } of known) out = out.split(path).join(label)
    return out
  }
}
