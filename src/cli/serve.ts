/** `outpost serve`: serve a bundle and the configured roots until SIGTERM/SIGINT. */
import type { Command } from 'commander'
import { createLogger, loadConfig, logHtpasswdReload, startServer, type Logger, type RunningServer } from '../server/index.js'
import { FLAG_KEYS, addConfigOptions, flagLayer, type ConfigFlags } from './options.js'
import { failStartup, noteLogLevel } from './run.js'

/** Runs until SIGTERM/SIGINT, then stops gracefully and exits 0. */
const runUntilSignal = (running: RunningServer, logger: Logger): void => {
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
  // `systemctl reload outpost`: re-read the htpasswd file, check certificates now (e.g. after `outpost certs rotate-ca`).
  process.on('SIGHUP', () => {
    if (running.htpasswd) logHtpasswdReload(logger, running.htpasswd.file, running.htpasswd.reload(), 'SIGHUP')
    if (!running.tls) return
    void running.tls.check().then((result) => logger.info({ signal: 'SIGHUP', result }, 'certificate check'))
  })
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
  const { config, warnings } = loadConfig({
    file: flags.config,
    flags: mergeTrees(defaults, flagLayer(flags)),
    noDefaultFile,
  })
  noteLogLevel(config.log_level)
  const logger = createLogger(config.log_level)
  for (const w of warnings) logger.warn(w)
  const running = await startServer(config, logger)
  runUntilSignal(running, logger)
  return running
}

export const addServe = (program: Command): void => {
  addConfigOptions(program.command('serve').description('serve a bundle and configured roots'), FLAG_KEYS).action(
    async (flags: ConfigFlags) => {
      await serve(flags).catch(failStartup)
    },
  )
}
