/** One JSON-lines logger, created at start-up and passed down. */
import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger } from 'pino'

export const createLogger = (level: LevelWithSilent, destination?: NodeJS.WritableStream): Logger =>
  pino(
    {
      level,
      base: { svc: 'outpost' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    (destination ?? pino.destination({ fd: 1, sync: false })) as pino.DestinationStream,
  )

/** A logger that drops everything (tests). */
export const silentLogger = (): Logger => pino({ level: 'silent' })
