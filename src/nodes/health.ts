/**
 * Liveness and readiness. `/healthz` says the process answers. `/readyz`
 * says "nodes can install from me": every check registered by the server
 * passes (roots and their blobs folders readable, data_dir writable and not
 * full, first catalog scan done and the catalog not behind, package trees
 * intact, certificate valid for more than 14 days). 503 with the failing checks as
 * JSON otherwise; `?verbose` lists every check either way, and with it what
 * `outpost status` shows beside them (version, listeners, certificate).
 */
import { Hono } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import { labelRoute } from '../http/index.js'

export interface ReadinessResult {
  ok: boolean
  detail?: string | undefined
}

export interface ReadinessCheck {
  name: string
  run: () => Promise<ReadinessResult> | ReadinessResult
}

export const runReadinessChecks = async (checks: readonly ReadinessCheck[]): Promise<Array<{ name: string } & ReadinessResult>> =>
  Promise.all(
    checks.map(async (c) => {
      try {
        return { name: c.name, ...(await c.run()) }
      } catch (err) {
        return { name: c.name, ok: false, detail: (err as Error).message }
      }
    }),
  )

export const healthRouter = (
  checks: () => readonly ReadinessCheck[],
  about?: () => Record<string, unknown>,
): Hono<{ Bindings: HttpBindings }> => {
  const app = new Hono<{ Bindings: HttpBindings }>()
  app.get('/healthz', (c) => {
    labelRoute(c.env?.incoming, 'healthz')
    return c.text('ok\n')
  })
  app.get('/readyz', async (c) => {
    labelRoute(c.env?.incoming, 'readyz')
    const results = await runReadinessChecks(checks())
    const failing = results.filter((r) => !r.ok)
    const verbose = c.req.query('verbose') !== undefined
    c.header('Cache-Control', 'no-store')
    if (failing.length === 0 && !verbose) return c.text('ok\n')
    return c.json(
      { ready: failing.length === 0, ...(verbose ? { checks: results, ...(about ? { outpost: about() } : {}) } : { failing }) },
      failing.length ? 503 : 200,
    )
  })
  return app
}
