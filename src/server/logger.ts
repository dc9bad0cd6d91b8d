/**
 * One logger, created at start-up and passed down. It writes JSON lines led
 * by their syslog priority (for journald), or short lines for people at a
 * terminal: see log-format.ts. Child loggers follow the root's level, so
 * setting `logger.level` (a reload) changes every part at once.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino'
import { lineFormat, prefixJsonLine, prettyJsonLine, syslogPrefix, type LineFormat, type LogFormat } from './log-format.js'

export type { Logger } from 'pino'
export type { LogFormat } from './log-format.js'

const REDACTED = [
  'authorization',
  'password',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
]

type Destination = NodeJS.WritableStream & { isTTY?: boolean }

/** The line format a logger writing to `destination` (stdout when absent) uses. */
export const loggerLineFormat = (format: LogFormat, destination?: Destination): LineFormat =>
  lineFormat(format, destination ? destination.isTTY === true : process.stdout.isTTY === true)

/** Writes a JSON line of `level` (as pino makes them, newline included) in a logger's line format. */
export type LineWriter = (jsonLine: string, level: string) => void

/** A batch of lines waits at most this long, or until it holds this much. */
const BATCH_MS = 5
const BATCH_CHARS = 16 * 1024

/**
 * Lines from a LineWriter are gathered for a few milliseconds (BATCH_MS, or
 * until BATCH_CHARS) and handed to the destination together, or ahead of
 * the logger's own next line, whichever comes first, so the order of lines
 * is kept. Each write to pino's asynchronous destination is a round trip
 * through the thread pool, and sonic-boom measures its whole pending buffer
 * on every write: per-line writes cost more than making the lines, and
 * under load the batches of one event-loop turn were still small.
 */
class LineBatch {
  // Kept as a list and joined once: a string grown line by line is a deep rope, which
  // sonic-boom's Buffer.byteLength then walks slowly.
  #lines: string[] = []
  #chars = 0
  #timer: NodeJS.Timeout | null = null
  readonly #stream: pino.DestinationStream

  constructor(stream: pino.DestinationStream) {
    this.#stream = stream
    batches.add(this)
  }

  add(line: string): void {
    this.#lines.push(line)
    this.#chars += line.length
    if (this.#chars >= BATCH_CHARS) this.flush()
    // Not unref'd: a process does not end with a batch unwritten (process.exit is covered below).
    else if (!this.#timer) this.#timer = setTimeout(this.flush, BATCH_MS)
  }

  /** What is waiting, now removed: the logger writes it ahead of its own line. */
  take(): string {
    if (this.#lines.length === 0) return ''
    const pending = this.#lines.join('')
    this.#lines = []
    this.#chars = 0
    return pending
  }

  readonly flush = (): void => {
    if (this.#timer) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    const pending = this.take()
    if (pending) this.#stream.write(pending)
  }
}

const batches = new Set<LineBatch>()
// Registered before any destination exists, so it runs before pino's own flush at exit.
process.on('exit', () => {
  for (const b of batches) {
    try {
      b.flush()
    } catch {
      // a destination already closed: nothing more can be written to it
    }
  }
})

/** Where each logger made by createLogger writes a finished JSON line (see lineWriterOf). */
const lineWriters = new WeakMap<Logger, LineWriter>()

/**
 * For a logger made by createLogger: writes a JSON line made elsewhere (as
 * pino would have made it, e.g. log-format.ts's accessJsonLine) to the
 * logger's destination, in the logger's line format, in order with its own
 * lines. Undefined for any other logger.
 */
export const lineWriterOf = (logger: Logger): LineWriter | undefined => lineWriters.get(logger)

export const createLogger = (level: LevelWithSilent, destination?: Destination, format: LogFormat = 'auto'): Logger => {
  const lines = loggerLineFormat(format, destination)
  const color = lines === 'pretty' && (destination ?? process.stdout).isTTY === true && !process.env.NO_COLOR
  const formatLine = lines === 'json' ? prefixJsonLine : (s: string) => prettyJsonLine(s, { color })
  const stream = (destination ?? pino.destination({ fd: 1, sync: false })) as pino.DestinationStream
  const batch = new LineBatch(stream)
  const streamWrite = (s: string): string => batch.take() + formatLine(s)
  let logger: Logger | undefined = undefined
  logger = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // The level comes first in every line: prefixJsonLine reads it there.
      formatters: { level: (label) => ({ level: label }) },
      // Stack traces are for debugging: at info and above an error shows its type and message.
      serializers: {
        err: (err: Error) => {
          const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>
          if (!out || typeof out !== 'object' || logger?.isLevelEnabled('debug')) return out
          const { stack: _stack, ...rest } = out
          return rest
        },
      },
      // Credentials never reach the log, wherever a header set ends up in a logged object.
      redact: { paths: REDACTED, censor: '[redacted]' },
      hooks: { streamWrite },
    },
    stream,
  )
  lineWriters.set(
    logger,
    lines === 'json' ? (jsonLine, level) => batch.add(syslogPrefix(level) + jsonLine) : (jsonLine) => batch.add(formatLine(jsonLine)),
  )
  return logger
}

/** A logger that drops everything (tests). */
export const silentLogger = (): Logger => pino({ level: 'silent' })
