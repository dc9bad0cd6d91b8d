/**
 * What every command does on failure, and the config of a one-shot command.
 * Exit status: 2 for configuration and start-up errors (a missing root, a
 * listener that cannot bind, a bad flag), 1 for checks that found problems
 * and for anything else that went wrong. An operator sees one line per
 * problem; the stack trace only with log level debug or trace.
 */
import { CommanderError } from 'commander'
import { ConfigError, ListenError, RootsError, loadConfig } from '../server/index.js'
import { TlsError } from '../tls/index.js'
import { flagLayer, type ConfigFlags } from './options.js'

export const EXIT_PROBLEMS = 1
export const EXIT_CONFIG = 2

const DEBUG_LEVELS = new Set(['debug', 'trace'])
let debugFromConfig = false

/** Shows stack traces from now on when the loaded configuration asks for debug or trace logs. */
export const noteLogLevel = (level: string | undefined): void => {
  if (level && DEBUG_LEVELS.has(level)) debugFromConfig = true
}

/** `--log-level debug` on the command line, OUTPOST_LOG_LEVEL=debug, or log_level: debug in the loaded config. */
export const debugWanted = (argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env): boolean => {
  if (debugFromConfig || DEBUG_LEVELS.has(env.OUTPOST_LOG_LEVEL ?? '')) return true
  const i = argv.indexOf('--log-level')
  const value = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--log-level='))?.slice('--log-level='.length)
  return DEBUG_LEVELS.has(value ?? '')
}

/** A server that did not answer, or answered with an error: one line, no stack. */
export class RemoteError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RemoteError'
  }
}

/** A command given something it cannot use (a path that does not exist): one line, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

const say = (line: string): void => void process.stderr.write(`outpost: ${line}\n`)

/** The lines an operator sees for an error, and the exit status; null for an error of Outpost's own. */
export const describeFailure = (err: unknown): { lines: string[]; code: number; each?: boolean } | null => {
  if (err instanceof RootsError) return { lines: err.message.split('\n'), code: EXIT_CONFIG, each: true }
  if (err instanceof ConfigError) return { lines: ['invalid configuration', ...err.message.split('\n')], code: EXIT_CONFIG }
  if (err instanceof TlsError) return { lines: [`TLS: ${err.message}`], code: EXIT_CONFIG }
  if (err instanceof ListenError) return { lines: [err.advice], code: EXIT_CONFIG }
  if (err instanceof RemoteError) return { lines: [err.message], code: EXIT_PROBLEMS }
  if (err instanceof UsageError) return { lines: [err.message], code: EXIT_CONFIG }
  const e = err as NodeJS.ErrnoException
  // A system error (a file that cannot be written, a full disk) says what and where in its message.
  if (e instanceof Error && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return { lines: [e.message], code: EXIT_PROBLEMS }
  return null
}

/**
 * Prints what went wrong and exits: 2 for configuration and start-up errors,
 * 1 otherwise (`code` overrides that for an unexpected error: `serve` passes 2).
 */
export const fail = (err: unknown, code?: number): never => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_CONFIG) // commander has printed it
  const known = describeFailure(err)
  if (known) {
    // The first line is the error, the rest its details (only the first is prefixed), or each line is one.
    const [first, ...rest] = known.lines
    say(first!)
    for (const line of rest) process.stderr.write(known.each ? `outpost: ${line}\n` : `${line}\n`)
  } else if (debugWanted()) {
    say((err as Error)?.stack ?? String(err))
  } else {
    say(`${(err as Error)?.message ?? String(err)} (run with --log-level debug, or OUTPOST_LOG_LEVEL=debug, for the stack trace)`)
  }
  if (debugWanted() && known && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
  process.exit(known ? (code !== undefined && known.code === EXIT_PROBLEMS ? code : known.code) : (code ?? EXIT_PROBLEMS))
}

/** The failure of a command that starts a server: anything that stops start-up is exit 2. */
export const failStartup = (err: unknown): never => fail(err, EXIT_CONFIG)

/** Loads config for a one-shot command (no listeners). */
export const commandConfig = (flags: ConfigFlags) => {
  const { config, warnings } = loadConfig({ file: flags.config, flags: flagLayer(flags) })
  noteLogLevel(config.log_level)
  for (const w of warnings) process.stderr.write(`outpost: ${w}\n`)
  return config
}
