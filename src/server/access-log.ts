/**
 * The access line of every request, made cheaply, since it is on the path
 * of every small request: the JSON line pino would write for
 * `access.info(fields, 'request')`, made by log-format.ts's accessJsonLine
 * and handed to the logger's line writer (lineWriterOf), with the ISO time
 * remade at most once a millisecond. A logger not made by createLogger gets
 * the pino call itself. (The request metrics are cheap the same way:
 * Metrics.countRequest.)
 */
import { accessJsonLine, type AccessFields } from './log-format.js'
import { lineWriterOf, type Logger } from './logger.js'

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
