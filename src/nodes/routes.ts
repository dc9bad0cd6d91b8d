/**
 * The nodes router: /time, /nodes, /setup. Handlers are thin: validate,
 * call the store or a renderer, send.
 */
import { Hono } from 'hono'
import type { Logger } from 'pino'
import { preciseNow, type Clock } from './clock.js'
import type { Env } from './env.js'
import { timeHandler } from './time.js'

export interface NodesApiOptions {
  logger: Logger
  /** The SNTP responder's port, or null when time is not served. */
  ntp: () => { port: number } | null
  clock?: Clock
}

export const nodesApi = (options: NodesApiOptions): Hono<Env> => {
  const clock = options.clock ?? preciseNow
  const app = new Hono<Env>()
  app.get('/time', timeHandler(clock, options.ntp))
  return app
}
