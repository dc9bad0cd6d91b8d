/** What every command does on failure, and the config of a one-shot command. */
import { ConfigError, loadConfig } from '../server/index.js'
import { TlsError } from '../tls/index.js'
import { flagLayer, type ConfigFlags } from './options.js'

export const fail = (err: unknown): never => {
  if (err instanceof ConfigError) {
    process.stderr.write(`outpost: invalid configuration\n${err.message}\n`)
    process.exit(2)
  }
  if (err instanceof TlsError) {
    process.stderr.write(`outpost: TLS: ${err.message}\n`)
    process.exit(2)
  }
  const e = err as NodeJS.ErrnoException
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES' || e?.code === 'EADDRNOTAVAIL') {
    process.stderr.write(`outpost: cannot listen: ${e.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`outpost: ${e?.stack ?? String(err)}\n`)
  process.exit(1)
}

/** Loads config for a one-shot command (no listeners). */
export const commandConfig = (flags: ConfigFlags) => {
  const { config, warnings } = loadConfig({ file: flags.config, flags: flagLayer(flags) })
  for (const w of warnings) process.stderr.write(`outpost: ${w}\n`)
  return config
}
