/**
 * Errors in log lines: type, message and code always; the stack trace only
 * when the log level is debug or trace (an operator reading the journal
 * wants what failed, a developer where).
 */
import { stdSerializers } from 'pino'

const WITH_STACKS = new Set(['debug', 'trace'])

export const errorSerializer =
  (level: string) =>
  (err: Error): Record<string, unknown> => {
    const out = stdSerializers.err(err) as unknown as Record<string, unknown>
    if (WITH_STACKS.has(level)) return out
    const { stack: _stack, ...rest } = out
    return rest
  }
