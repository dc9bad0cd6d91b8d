/**
 * The push root at start-up: made (an empty registry:2 tree) and checked
 * writable before anything listens, crash leftovers cleared, and abandoned
 * uploads removed after `registry.upload_ttl_s` by a sweep that runs while
 * the server does.
 */
import type { OutpostConfig } from './config.js'
import { ConfigError } from './config.js'
import type { ServedLayout } from './layout.js'
import type { Logger } from './logger.js'

/** How often abandoned uploads are looked for: half the expiry, at most hourly. */
const sweepEveryMs = (ttlS: number): number => Math.min((ttlS * 1000) / 2, 3600_000)

/** Prepares the push root; returns the function that stops its sweep. */
export const openPushRoot = async (layout: ServedLayout, config: OutpostConfig, logger: Logger): Promise<() => void> => {
  const push = layout.stores.push
  if (!push) return () => undefined
  const root = config.registry.push_root
  try {
    await push.store.init()
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    throw new ConfigError(`registry.push_root: cannot write ${root}: ${e.code ?? e.message}`)
  }
  logger.info({ push_root: root, delete: config.registry.delete, upload_ttl_s: config.registry.upload_ttl_s }, 'push root')
  const sweep = (): void => {
    push.store.sweep().then(
      (removed) => {
        if (removed.length) logger.info({ removed: removed.length, first: removed.slice(0, 10) }, 'abandoned uploads removed')
      },
      (err) => logger.warn({ err }, 'sweeping abandoned uploads failed'),
    )
  }
  const timer = setInterval(sweep, sweepEveryMs(config.registry.upload_ttl_s))
  timer.unref()
  sweep()
  return () => clearInterval(timer)
}
