/**
 * What the listeners record for every request once it is done: its access
 * line and its three request metrics. Both are on the path of every small
 * request, so both are made cheaply:
 *
 * - the access line is the JSON line pino would write for
 *   `access.info(fields, 'request')`, made by log-format.ts's
 *   accessJsonLine and written to the logger's destination (lineWriterOf),
 *   with the ISO time remade at most once a millisecond; a logger not made
 *   by createLogger gets the pino call itself;
 * - the metrics' label sets are made once per route, method and status and
 *   reused, rather than three new objects per request.
 */
import { accessJsonLine, type AccessFields } from './log-format.js'
import { lineWriterOf, type Logger } from './logger.js'
import type { Metrics } from './metrics.js'

let isoMs = -1
let isoText = ''

/** `new Date().toISOString()` (what pino's isoTime writes), remade only when the millisecond changes. */
const isoNow = (): string => {
  const now = Date.now()
  if (now !== isoMs) {
    isoMs = now
    isoText = new Date(now).toISOString()
  }
  return isoText
}

/** Writes one access record: `access` is `logger.child({ sub: 'access' })`. */
export const accessWriter = (logger: Logger, access: Logger): ((fields: AccessFields) => void) => {
  const write = lineWriterOf(logger)
  if (!write) return (fields) => access.info(fields, 'request')
  return (fields) => write(accessJsonLine(isoNow(), fields), 'info')
}

interface LabelSets {
  request: { route: string; method: string; status: string }
  bytes: { route: string; status: string }
  duration: { route: string }
}

/** More distinct label sets than this (methods are the client's to choose) and the memo starts over. */
const MAX_LABEL_SETS = 1000

/** Counts one finished request in `metrics`: requests, body bytes and duration by route. */
export const requestCounter = (
  metrics: Metrics,
): ((route: string, method: string, status: number, bytes: number, seconds: number) => void) => {
  const memo = new Map<string, LabelSets>()
  return (route, method, status, bytes, seconds) => {
    const key = `${route}\u0000${method}\u0000${status}`
    let labels = memo.get(key)
    if (!labels) {
      if (memo.size >= MAX_LABEL_SETS) memo.clear()
      const s = String(status)
      labels = { request: { route, method, status: s }, bytes: { route, status: s }, duration: { route } }
      memo.set(key, labels)
    }
    metrics.requests.inc(labels.request)
    metrics.bytes.inc(labels.bytes, bytes)
    metrics.duration.observe(labels.duration, seconds)
  }
}
