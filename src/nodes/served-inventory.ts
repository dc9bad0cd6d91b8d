/**
 * `/inventory`: what Outpost serves, from the catalog. JSON for programs; a
 * plain-text table for people with curl. `/inventory/misses`: the ledger of
 * what nodes asked for and did not get, also as ready-to-use lists
 * (`?format=images`, `?format=files`) for the next bundle build.
 */
import { Hono } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import { HttpError, labelRoute, wantsText } from '../http/index.js'
import type { Catalog, ServedInventory, MissKind, MissRow } from '../catalog/index.js'
import { humanBytes, table } from './text.js'
import { formatImageProblem } from '../images/index.js'

type Env = { Bindings: HttpBindings }

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12)

export const renderInventoryText = (inv: ServedInventory): string => {
  const parts: string[] = []
  parts.push(
    `Images: ${inv.totals.repositories} repositories, ${inv.totals.tags} tags, ${humanBytes(inv.totals.imageBytes)}` +
      (inv.scan.complete ? '' : '  (first scan still running)'),
  )
  const imageRows = inv.images.flatMap((img) =>
    img.tags.map((t) => [img.repository, t.tag, short(t.digest), t.platforms.join(',') || '-', humanBytes(t.size)]),
  )
  if (imageRows.length) parts.push(table(['REPOSITORY', 'TAG', 'DIGEST', 'PLATFORMS', 'SIZE'], imageRows))
  const problems = inv.problems ?? []
  if (problems.length) parts.push(`Image problems: ${problems.length}`, ...problems.map((p) => `  ${formatImageProblem(p)}`))
  parts.push('')
  parts.push(`Files: ${inv.totals.files} files, ${humanBytes(inv.totals.fileBytes)}`)
  if (inv.files.length)
    parts.push(
      table(
        ['PREFIX', 'PATH', 'FILES', 'SIZE'],
        inv.files.map((f) => [f.prefix, f.path, String(f.count), humanBytes(f.bytes)]),
      ),
    )
  parts.push('')
  parts.push(`Package trees: ${inv.totals.trees}, ${inv.totals.treesFailing} failing`)
  if (inv.trees.length) {
    parts.push(
      table(
        ['KIND', 'PATH', 'PACKAGES', 'CHECK'],
        inv.trees.map((t) => [
          t.kind,
          t.path,
          String(t.packages),
          t.ok ? 'ok' : `FAILED: ${t.problems.slice(0, 3).join('; ')}${t.problems.length > 3 ? ` (+${t.problems.length - 3})` : ''}`,
        ]),
      ),
    )
  }
  return `${parts.join('\n')}\n`
}

export const renderMissesText = (rows: MissRow[]): string =>
  rows.length === 0
    ? 'No misses recorded.\n'
    : `${table(
        ['KIND', 'COUNT', 'LAST SEEN', 'CLIENT', 'WHAT'],
        rows.map((r) => [r.kind, String(r.count), r.lastSeen, r.client ?? '-', r.ref]),
      )}\n`

export const inventoryRouter = (catalog: () => Catalog | undefined): Hono<Env> => {
  const app = new Hono<Env>()
  const need = (): Catalog => {
    const cat = catalog()
    if (!cat) throw new HttpError(503, 'catalog not available', { json: true })
    return cat
  }

  app.get('/inventory', (c) => {
    labelRoute(c.env?.incoming, 'inventory')
    const cat = need()
    const inv = cat.inventory({ repo: c.req.query('repo'), prefix: c.req.query('prefix') })
    if (wantsText(c.req.query('format'), c.req.header('accept'), c.req.header('user-agent'))) return c.text(renderInventoryText(inv))
    return c.json(inv)
  })

  app.get('/inventory/misses', (c) => {
    labelRoute(c.env?.incoming, 'inventory')
    const cat = need()
    const format = c.req.query('format')
    if (format === 'images') {
      const refs = cat.misses.list('image').map((m) => m.ref)
      return c.text(refs.length ? `${refs.join('\n')}\n` : '')
    }
    if (format === 'files') {
      const refs = cat.misses.list('file').map((m) => m.ref)
      return c.text(refs.length ? `${refs.join('\n')}\n` : '')
    }
    const kind = c.req.query('kind') as MissKind | undefined
    const rows = cat.misses.list(kind && ['image', 'blob', 'file'].includes(kind) ? kind : undefined)
    if (wantsText(format, c.req.header('accept'), c.req.header('user-agent'))) return c.text(renderMissesText(rows))
    return c.json({ misses: rows })
  })
  return app
}
