/**
 * The nodes router: /time, /nodes, /setup. Handlers are thin: validate,
 * call the store or a renderer, send.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { Logger } from 'pino'
import { HttpError, labelRoute, wantsText } from '../http/index.js'
import { checkinOffset, parseCheckin, type CheckinIssue } from './checkin.js'
import { preciseNow, type Clock } from './clock.js'
import type { Env } from './env.js'
import {
  flagsOf,
  formatOffset,
  nodesView,
  renderInventoryIni,
  renderInventoryYaml,
  renderNodesText,
  type NodesView,
  type Thresholds,
} from './inventory.js'
import { toReport, type NodeStore } from './store.js'
import { timeHandler } from './time.js'
import { setupRouter, type SetupSource } from './setup/index.js'

/** A check-in is a few hundred bytes; this leaves room for many addresses and labels. */
export const CHECKIN_MAX_BYTES = 64 * 1024

export interface NodesApiOptions {
  logger: Logger
  store: NodeStore
  thresholds: Thresholds
  /** The SNTP responder's port, or null when time is not served. */
  ntp: () => { port: number } | null
  setup: SetupSource
  clock?: Clock
  /** Adds what others know of the nodes to `GET /nodes` (the ARCH flag, src/bundle/node-flags.ts). */
  decorate?: (view: NodesView) => NodesView | Promise<NodesView>
}

/** A refused check-in: JSON `{ error, issues }` for programs, one line of text for people. */
const problem = (status: 400 | 413 | 415, error: string, issues: CheckinIssue[] = []): HttpError =>
  new HttpError(status, error, { json: true, ...(issues.length ? { details: { issues } } : {}) })

export const nodesApi = (options: NodesApiOptions): Hono<Env> => {
  const clock = options.clock ?? preciseNow
  const { store, thresholds, logger } = options
  const app = new Hono<Env>()

  app.get('/time', timeHandler(clock, options.ntp))

  app.post(
    '/nodes/checkin',
    bodyLimit({
      maxSize: CHECKIN_MAX_BYTES,
      onError: () => {
        throw problem(413, `the check-in body is larger than ${CHECKIN_MAX_BYTES} bytes`)
      },
    }),
    async function checkin(c) {
      // Taken on arrival, before the body is read: the node stamped clockMs just before sending.
      const receivedMs = clock()
      labelRoute(c.env?.incoming, 'nodes-checkin')
      const type = (c.req.header('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase()
      if (type === 'multipart/form-data')
        throw problem(415, 'send the check-in as a JSON body (Content-Type: application/json), not a form')
      const text = await c.req.text()
      if (!text.trim()) throw problem(400, 'the body is empty: send a JSON object with at least "hostname"')
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch (err) {
        throw problem(400, `the body is not valid JSON: ${(err as Error).message}`)
      }
      const parsed = parseCheckin(body)
      if (!parsed.ok) {
        throw problem(
          400,
          `invalid check-in: ${parsed.issues.map((i) => (i.message.startsWith(i.path) || !i.path ? i.message : `${i.path}: ${i.message}`)).join('; ')}`,
          parsed.issues,
        )
      }
      const report = toReport(parsed.value)
      const offset = report.clockMs !== undefined ? checkinOffset(report.clockMs, receivedMs, report.clockPrecisionMs ?? 0) : null
      const remoteAddress = c.env?.incoming?.socket.remoteAddress ?? null
      // A check-in without labels (bootstrap.sh run again without --role) keeps the node's groups.
      const node = store.record(report, { receivedMs, remoteAddress, offset, keepLabels: parsed.value.labels == null })
      const flags = flagsOf(node, receivedMs, thresholds)
      logger.info(
        {
          hostname: report.hostname,
          remote: remoteAddress,
          clock_offset_ms: offset?.offsetMs,
          ntp_offset_ms: report.ntpOffsetMs,
          flags,
          checkins: node.checkins,
        },
        'node checked in',
      )
      const parts = [`${report.hostname} checked in (${node.checkins === 1 ? 'first time' : `check-in ${node.checkins}`})`]
      if (offset) parts.push(`clock ${formatOffset(offset.offsetMs, offset.uncertaintyMs)} against Outpost`)
      if (report.ntpOffsetMs !== undefined) parts.push(`NTP ${formatOffset(report.ntpOffsetMs)}`)
      if (flags.includes('clock-skew')) parts.push(`WARNING: clock off by more than ${thresholds.offsetMs} ms`)
      const message = parts.join('; ')
      if (wantsText(c.req.query('format'), c.req.header('accept'), undefined)) return c.text(`${message}\n`)
      return c.json({
        hostname: report.hostname,
        received: new Date(receivedMs).toISOString(),
        receivedMs: Math.round(receivedMs),
        clockOffsetMs: offset ? Math.round(offset.offsetMs * 10) / 10 : null,
        clockUncertaintyMs: offset?.uncertaintyMs ?? null,
        ntpOffsetMs: report.ntpOffsetMs ?? null,
        checkins: node.checkins,
        flags,
        message,
      })
    },
  )

  app.get('/nodes', async function listNodes(c) {
    labelRoute(c.env?.incoming, 'nodes')
    const plain = nodesView(store.list(), clock(), thresholds)
    const view = options.decorate ? await options.decorate(plain) : plain
    c.header('Cache-Control', 'no-store')
    c.header('Vary', 'Accept, User-Agent')
    if (wantsText(c.req.query('format'), c.req.header('accept'), c.req.header('user-agent'))) return c.text(renderNodesText(view))
    return c.json(view)
  })

  app.get('/nodes/inventory.ini', function inventoryIni(c) {
    labelRoute(c.env?.incoming, 'nodes-inventory')
    c.header('Cache-Control', 'no-store')
    c.header('Content-Disposition', 'inline; filename="inventory.ini"')
    return c.text(renderInventoryIni(store.list(), clock(), thresholds))
  })

  app.get('/nodes/inventory.yaml', function inventoryYaml(c) {
    labelRoute(c.env?.incoming, 'nodes-inventory')
    c.header('Cache-Control', 'no-store')
    c.header('Content-Disposition', 'inline; filename="hosts.yaml"')
    return c.body(renderInventoryYaml(store.list(), clock(), thresholds), 200, { 'Content-Type': 'application/yaml; charset=utf-8' })
  })

  app.route('/', setupRouter({ source: options.setup, ntp: options.ntp }))

  return app
}
