/** `outpost serve`: serve a bundle and the configured roots until SIGTERM/SIGINT. */
import type { Command } from 'commander'
import { createLogger, loadConfig, startServer, type Logger, type RunningServer } from '../server/index.js'
import type { ConfigLoadResult } from '../server/config.js'
import { logFormatOf } from '../server/log-format.js'
import { FLAG_KEYS, addConfigOptions, flagAttribute, flagLayer, type ConfigFlags } from './options.js'
import { useDaemonStderr } from './log-output.js'
import { failStartup, noteLogLevel } from './run.js'

/** Runs until SIGTERM/SIGINT, then stops gracefully and exits 0; SIGHUP reloads the configuration with `load`. */
const runUntilSignal = (running: RunningServer, logger: Logger, load: () => ConfigLoadResult): void => {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    logger.info({ signal }, 'stopping: no new connections, finishing in-flight requests')
    running.close().then(
      () => {
        logger.info('stopped')
        logger.flush()
        process.exit(0)
      },
      (err) => {
        logger.error({ err }, 'stop failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  // `systemctl reload outpost`: re-read the config file and the roots, apply what can change without a
  // restart (or say why not), re-read the htpasswd file, check certificates (e.g. after `outpost certs rotate-ca`).
  process.on('SIGHUP', () => void running.reload(load))
}

type Tree = { [key: string]: unknown }
const isTree = (v: unknown): v is Tree => !!v && typeof v === 'object' && !Array.isArray(v)

const mergeTrees = (a: Tree, b: Tree): Tree => {
  const out: Tree = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const was = out[k]
    out[k] = isTree(v) && isTree(was) ? mergeTrees(was, v) : v
  }
  return out
}

/** Loads the config (flags over `defaults`), starts the server and keeps it running until a signal. */
export const serve = async (flags: ConfigFlags, defaults: Record<string, unknown> = {}, noDefaultFile = false): Promise<RunningServer> => {
  // A reload asked for while starting (SIGHUP would end the process) is done once serving.
  let reloadAsked = false
  const early = (): void => void (reloadAsked = true)
  process.on('SIGHUP', early)
  // Errors before the config is read are in the format the flag or the environment names (or auto).
  useDaemonStderr(logFormatOf(flags[flagAttribute('log.format')] as string) ?? logFormatOf(process.env.OUTPOST_LOG_FORMAT) ?? 'auto')
  let file = flags.config
  const load = (): ConfigLoadResult => loadConfig({ file, flags: mergeTrees(defaults, flagLayer(flags)), noDefaultFile })
  const { config, warnings } = load()
  // A reload reads the file start-up read (a default file that is gone is an error then, not an empty config).
  file = config.source ?? undefined
  noteLogLevel(config.log_level)
  useDaemonStderr(config.log.format)
  const logger = createLogger(config.log_level, undefined, config.log.format)
  for (const w of warnings) logger.warn(w)
  const running = await startServer(config, logger)
  runUntilSignal(running, logger, load)
  process.off('SIGHUP', early)
  if (reloadAsked) void running.reload(load)
  return running
}

export const addServe = (program: Command): void => {
  addConfigOptions(program.command('serve').description('serve a bundle and configured roots'), FLAG_KEYS).action(
    async (flags: ConfigFlags) => {
      await serve(flags).catch(failStartup)
    },
  )
}
