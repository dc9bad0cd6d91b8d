/**
 * How a log record becomes a line. Two forms:
 *
 * - `json`: the JSON line pino writes, led by the syslog priority in angle
 *   brackets (`<6>{"level":"info",…}`). journald reads that prefix from a
 *   service's stdout and stderr (sd-daemon(3)), so `journalctl -p warning`
 *   shows warnings and worse, and strips it from the stored message.
 * - `pretty`: one short line for a person at a terminal:
 *   `14:03:07.412 INFO  listening listener=http url=http://127.0.0.1:8080`.
 *
 * `auto` picks pretty on a terminal and JSON anywhere else (a pipe, a file,
 * the journal).
 */

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]
/** A format once `auto` is decided. */
export type LineFormat = Exclude<LogFormat, 'auto'>

/** pino's level labels → syslog priorities (3 err, 4 warning, 6 info, 7 debug; 2 crit for fatal). */
export const SYSLOG_PRIORITY: Readonly<Record<string, number>> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3, fatal: 2 }

const PREFIXES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(SYSLOG_PRIORITY).map(([l, p]) => [l, `<${p}>`]))

export const syslogPrefix = (level: string): string => PREFIXES[level] ?? '<6>'

/** `auto` → pretty on a terminal, JSON otherwise. */
export const lineFormat = (format: LogFormat, isTTY: boolean | undefined): LineFormat =>
  format === 'auto' ? (isTTY ? 'pretty' : 'json') : format

/** A format named by the environment (OUTPOST_LOG_FORMAT), or undefined when unset or not one. */
export const logFormatOf = (value: string | undefined): LogFormat | undefined =>
  (LOG_FORMATS as readonly string[]).includes(value ?? '') ? (value as LogFormat) : undefined

const LEVEL_START = '{"level":"'

/**
 * Puts the syslog prefix before one JSON line of pino's. The level is the
 * first key of every line (createLogger's level formatter), so it is read
 * off the start of the line without parsing the rest.
 */
export const prefixJsonLine = (line: string): string => {
  if (!line.startsWith(LEVEL_START)) return `<6>${line}`
  const end = line.indexOf('"', LEVEL_START.length)
  return syslogPrefix(line.slice(LEVEL_START.length, end)) + line
}

/** A JSON log line (with its prefix) for text written outside the logger, e.g. a start-up error. */
export const jsonRecordLine = (level: string, msg: string, now = new Date()): string =>
  `${syslogPrefix(level)}${JSON.stringify({ level, time: now.toISOString(), msg })}\n`

/**
 * A string as pino writes it into a JSON line, byte for byte: short strings
 * with only `"` and `\\` escaped, JSON.stringify for long ones and for any
 * holding a control character.
 */
export const jsonString = (str: string): string => {
  const l = str.length
  if (l > 100) return JSON.stringify(str)
  let result = ''
  let last = 0
  let found = false
  let point = 255
  for (let i = 0; i < l && point >= 32; i++) {
    point = str.charCodeAt(i)
    if (point === 34 || point === 92) {
      result += str.slice(last, i) + '\\'
      last = i
      found = true
    }
  }
  if (!found) result = str
  else result += str.slice(last)
  return point < 32 ? JSON.stringify(str) : '"' + result + '"'
}

/** What one access line says, in the order it says it; an undefined field is left out. */
export interface AccessFields {
  method: string | undefined
  path: string | undefined
  status: number
  bytes: number
  ms: number
  client: string | undefined
  listener?: string | undefined
  user?: string | undefined
  aborted?: true | undefined
  route?: string | undefined
  ua?: string | undefined
}

const field = (name: string, value: string | number | boolean | undefined): string => {
  if (value === undefined) return ''
  const v = typeof value === 'string' ? jsonString(value) : typeof value === 'number' && !Number.isFinite(value) ? 'null' : String(value)
  return `,"${name}":${v}`
}

/**
 * The JSON line (newline included, no prefix) of an access record, exactly
 * as pino writes `logger.child({ sub: 'access' }).info(fields, 'request')`
 * for a logger made by createLogger, at `time` (an ISO date): without
 * pino's general machinery, which costs more than the rest of a small
 * request's logging.
 */
export const accessJsonLine = (time: string, f: AccessFields): string =>
  `{"level":"info","time":"${time}","sub":"access"` +
  field('method', f.method) +
  field('path', f.path) +
  field('status', f.status) +
  field('bytes', f.bytes) +
  field('ms', f.ms) +
  field('client', f.client) +
  field('listener', f.listener) +
  field('user', f.user) +
  field('aborted', f.aborted) +
  field('route', f.route) +
  field('ua', f.ua) +
  ',"msg":"request"}\n'

export interface PrettyOptions {
  /** ANSI colours for the level (a terminal that has not asked for NO_COLOR). */
  color?: boolean
}

const LEVEL_TEXT: Readonly<Record<string, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
}
const LEVEL_COLOR: Readonly<Record<string, string>> = { trace: '90', debug: '90', info: '36', warn: '33', error: '31', fatal: '31;1' }

/** Fields that the line shows in its own place, or that a person does not need. */
const SHOWN_APART = new Set(['level', 'time', 'msg', 'sub', 'pid', 'hostname'])

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

const clock = (time: unknown): string => {
  const d = new Date(typeof time === 'string' || typeof time === 'number' ? time : Date.now())
  if (Number.isNaN(d.getTime())) return String(time)
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}

const BARE = /^[^\s"=\\]+$/

/** A value as `key=value` shows it: bare when it can be, quoted JSON otherwise. */
const valueText = (v: unknown): string => {
  if (typeof v === 'string') return BARE.test(v) ? v : JSON.stringify(v)
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

type ErrRecord = { message?: unknown; code?: unknown; stack?: unknown }

const errText = (err: unknown): { inline: string; stack: string | null } => {
  if (!err || typeof err !== 'object') return { inline: valueText(err), stack: null }
  const e = err as ErrRecord
  const message = typeof e.message === 'string' ? e.message : JSON.stringify(err)
  const inline = valueText(e.code !== undefined ? `${String(e.code)}: ${message}` : message)
  return { inline, stack: typeof e.stack === 'string' ? e.stack : null }
}

/** The one access line of a request: `GET /v2/_catalog 200 93B 1.2ms 127.0.0.1`, then listener, user, aborted. */
const accessText = (r: Record<string, unknown>): string => {
  const head = `${String(r.method)} ${String(r.path)} ${String(r.status)} ${String(r.bytes)}B ${String(r.ms)}ms ${String(r.client)}`
  const rest = Object.entries(r)
    .filter(([k, v]) => v !== undefined && !SHOWN_APART.has(k) && !['method', 'path', 'status', 'bytes', 'ms', 'client'].includes(k))
    .map(([k, v]) => (k === 'aborted' && v === true ? 'aborted' : `${k}=${valueText(v)}`))
  return [head, ...rest].join(' ')
}

/** One record (as pino serialised it) as a line for people, newline included; a stack, when logged, follows indented. */
export const prettyLine = (record: Record<string, unknown>, options: PrettyOptions = {}): string => {
  const level = String(record.level ?? 'info')
  const label = LEVEL_TEXT[level] ?? level.toUpperCase().padEnd(5)
  const shownLevel = options.color ? `\x1b[${LEVEL_COLOR[level] ?? '0'}m${label}\x1b[0m` : label
  const access = record.sub === 'access' && record.msg === 'request'
  const sub = typeof record.sub === 'string' && !access ? `${record.sub}: ` : ''
  let body: string
  let stack: string | null = null
  if (access) {
    body = accessText(record)
  } else {
    const parts = [String(record.msg ?? '')]
    for (const [k, v] of Object.entries(record)) {
      if (SHOWN_APART.has(k) || v === undefined) continue
      if (k === 'err') {
        const e = errText(v)
        parts.push(`err=${e.inline}`)
        stack = e.stack
      } else parts.push(`${k}=${valueText(v)}`)
    }
    body = parts.filter(Boolean).join(' ')
  }
  const time = options.color ? `\x1b[2m${clock(record.time)}\x1b[0m` : clock(record.time)
  const tail = stack ? `\n${stack.replace(/^/gm, '    ')}` : ''
  return `${time} ${shownLevel} ${sub}${body}${tail}\n`
}

/** A JSON line of pino's as a pretty line; a line that is not JSON passes through as it is. */
export const prettyJsonLine = (line: string, options: PrettyOptions = {}): string => {
  try {
    return prettyLine(JSON.parse(line) as Record<string, unknown>, options)
  } catch {
    return line
  }
}
