/**
 * What `serve` writes to stderr, in the format of its log: on a terminal as
 * it is; otherwise (a pipe, the journal) as JSON records led by their syslog
 * priority, like the log lines on stdout. A start-up error printed before
 * the logger exists, or instead of it, so reads like every other line:
 * `<3>{"level":"error","time":"…","msg":"outpost: invalid configuration\n…"}`.
 */
import { jsonRecordLine, lineFormat, type LineFormat, type LogFormat } from '../server/log-format.js'

let stderrFormat: LineFormat | null = null

const PREFIXED = /^<\d>/

const asRecord = (chunk: unknown, level: string): unknown => {
  const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : null
  if (text === null || text.trim() === '' || PREFIXED.test(text)) return chunk
  return jsonRecordLine(level, text.replace(/\n+$/, ''))
}

/**
 * From now on, every write to stderr is in the daemon's format: in JSON
 * mode each write becomes one record (level error). Called again when the
 * configuration names the format.
 */
export const useDaemonStderr = (format: LogFormat): void => {
  const installed = stderrFormat !== null
  stderrFormat = lineFormat(format, process.stderr.isTTY)
  if (installed) return
  const write = process.stderr.write.bind(process.stderr) as (chunk: unknown, ...rest: unknown[]) => boolean
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(stderrFormat === 'json' ? asRecord(chunk, 'error') : chunk, ...rest)) as typeof process.stderr.write
}

/** Text for stderr at a level other than error (e.g. the demo's banner), in the daemon's format. */
export const writeStderr = (text: string, level: 'info' | 'warn' | 'error'): void => {
  process.stderr.write(stderrFormat === 'json' ? (asRecord(text, level) as string) : text)
}
