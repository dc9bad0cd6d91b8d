/** One JSON-lines logger, created at start-up and passed down. */
import { pino, type Logger, type LevelWithSilent } from 'pino'
import { errorSerializer } from './log-errors.js'

export type { Logger } from 'pino'

const REDACTED = [
  'authorization',
  'password',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'request.headers.authorization',
]

export const createLogger = (level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger =>
  pino(
    {
      level,
      base: { svc: 'outpost' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errorSerializer(level) },
      // Credentials never reach the log, wherever a header set ends up in a logged object.
      redact: { paths: REDACTED, censor: '[redacted]' },
    },
    (destination ?? pino.destination({ fd: 1, sync: false })) as pino.DestinationStream,
  )

/** A logger that drops everything (tests). */
export const silentLogger = (): Logger => pino({ level: 'silent' })
