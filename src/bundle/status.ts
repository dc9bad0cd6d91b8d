/**
 * `GET /status`: the status page for people (status-page.ts renders it).
 * Gathers what /readyz, /inventory, /inventory/requirements, /nodes and
 * /inventory/misses answer, in process, and sends it as one HTML document
 * with a Content-Security-Policy that lets it load nothing at all. A client
 * that is not on loopback sees no server path.
 */
import { isIP } from 'node:net'
import { Hono } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import { labelRoute } from '../http/index.js'
import type { Catalog } from '../catalog/index.js'
import { runReadinessChecks, type ReadinessCheck } from '../nodes/health.js'
import type { NodesView } from '../nodes/inventory.js'
import { redactor } from './html.js'
import { catalogImages, type RequirementsMonitor } from './monitor.js'
import { RequirementsError } from './requirements.js'
import { STATUS_CSP, renderStatusPage, type ServerAbout, type StatusData } from './status-page.js'

type Env = { Bindings: HttpBindings }

export interface StatusSources {
  readiness: () => readonly ReadinessCheck[]
  about?: () => Record<string, unknown>
  catalog: () => Catalog | undefined
  requirements: () => RequirementsMonitor | undefined
  /** The nodes as `GET /nodes` shows them (with their ARCH flags). */
  nodes: () => Promise<NodesView>
  /** Server paths and what to call them for clients that are not on loopback. */
  paths: () => ReadonlyArray<{ path: string; label: string }>
  /** Seconds between reloads of the page (default 15). */
  refreshS?: number
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped addresses; anything else (or nothing known) is not loopback. */
export const isLoopbackAddress = (address: string | undefined): boolean => {
  if (!address) return false
  const a = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : address
  if (isIP(a) === 4) return a.startsWith('127.')
  return isIP(a) === 6 && /^(0{0,4}:){2,7}0{0,3}1$/.test(a)
}

export const gatherStatus = async (s: StatusSources, now = new Date()): Promise<StatusData> => {
  const checks = await runReadinessChecks(s.readiness())
  const catalog = s.catalog()
  const monitor = s.requirements()
  let report: StatusData['requirements'] = { configured: monitor?.configured ?? false, report: null, error: null }
  if (monitor) {
    const r = await monitor.report().catch((err: Error) => new RequirementsError(err.message))
    report = r instanceof RequirementsError ? { ...report, error: r.message } : { ...report, report: r }
  }
  return {
    now,
    readiness: { ready: checks.every((c) => c.ok), checks },
    about: (s.about?.() as ServerAbout | undefined) ?? null,
    inventory: catalog?.inventory() ?? null,
    images: catalog ? catalogImages(catalog) : [],
    trees: catalog?.trees() ?? [],
    requirements: report,
    nodes: await s.nodes().catch(() => null),
    misses: catalog?.misses.list() ?? [],
  }
}

export const statusRouter = (s: StatusSources): Hono<Env> => {
  const app = new Hono<Env>()
  app.get('/status', async (c) => {
    labelRoute(c.env?.incoming, 'status')
    const showPaths = isLoopbackAddress(c.env?.incoming?.socket?.remoteAddress)
    const data = await gatherStatus(s)
    const html = renderStatusPage(data, { showPaths, redact: showPaths ? (t) => t : redactor(s.paths()), refreshS: s.refreshS ?? 15 })
    return c.body(html, 200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': STATUS_CSP,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    })
  })
  app.get('/status/', (c) => c.redirect('/status', 301))
  return app
}
