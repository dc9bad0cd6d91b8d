/**
 * `GET /time`: the server's clock for `curl` checks. JSON with the time in
 * milliseconds and ISO form, the `Date` header (second resolution, RFC 9110
 * §6.6.1), and where SNTP is served so an operator sees whether nodes can
 * take time from here.
 */
import type { Context } from 'hono'
import { labelRoute } from '../http/index.js'
import type { Clock } from './clock.js'
import type { Env } from './env.js'

export interface TimeBody {
  /** Unix milliseconds (whole). */
  ms: number
  iso: string
  /** The SNTP responder's UDP port, or null when time is not served. */
  ntp: { port: number } | null
}

export const timeBody = (nowMs: number, ntp: { port: number } | null): TimeBody => {
  const ms = Math.round(nowMs)
  return { ms, iso: new Date(ms).toISOString(), ntp }
}

export const timeHandler = (clock: Clock, ntp: () => { port: number } | null) =>
  function time(c: Context<Env>) {
    labelRoute(c.env?.incoming, 'time')
    const body = timeBody(clock(), ntp())
    c.header('Date', new Date(body.ms).toUTCString())
    c.header('Cache-Control', 'no-store')
    return c.json(body)
  }
