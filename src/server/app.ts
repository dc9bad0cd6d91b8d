/**
 * One Hono app for every listener: built-in endpoints first, then the
 * registry API, then the file roots. Errors from every router end in
 * the single onError handler: registry errors as OCI JSON, anything else
 * logged and answered without internals.
 */
import { Hono } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import { errorBody, RegistryError, registryApi, ManifestCache, API_VERSION, API_VERSION_HEADER } from '../registry-api/index.js'
import { labelRoute } from '../http/index.js'
import { filesRouter, type FileCache } from '../repos/index.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import type { ServedLayout } from './layout.js'

export interface AppOptions {
  layout: ServedLayout
  logger: Logger
  metrics: Metrics
  /** The file roots' cache, so the caller can close its watchers on stop. */
  fileCache?: FileCache
}

/**
 * URL paths that built-in endpoints own, present or planned. A file root
 * never answers below them, and root entries they hide are reported at
 * start-up (see startServer).
 */
export const BUILT_IN_PATHS: readonly string[] = ['/v2', '/healthz', '/readyz', '/time', '/inventory', '/nodes', '/setup', '/metrics', '/ca.crt']

type Env = { Bindings: HttpBindings }

export const createApp = (options: AppOptions): Hono<Env> => {
  const { layout, logger, metrics } = options
  const app = new Hono<Env>()

  app.get('/healthz', (c) => {
    labelRoute(c.env?.incoming, 'healthz')
    return c.text('ok\n')
  })

  app.get('/metrics', async (c) => {
    labelRoute(c.env?.incoming, 'metrics')
    c.header('Content-Type', metrics.registry.contentType)
    return c.body(await metrics.registry.metrics())
  })

  app.route(
    '/',
    registryApi({
      stores: layout.stores,
      resolver: layout.resolver,
      logger: logger.child({ sub: 'registry' }),
      manifests: new ManifestCache(),
      onBlobServed: (_digest, bytes) => {
        metrics.blobsServed.inc()
        metrics.blobBytes.inc(bytes)
      },
    }),
  )

  // Last: every path the routes above did not take may be a file.
  app.route(
    '/',
    filesRouter({
      roots: layout.filesRoots,
      symlinks: layout.filesSymlinks,
      logger: logger.child({ sub: 'files' }),
      reserved: BUILT_IN_PATHS,
      ...(options.fileCache ? { cache: options.fileCache } : {}),
    }),
  )

  app.notFound((c) => {
    labelRoute(c.env?.incoming, 'not-found')
    return c.text('404 Not Found\n', 404)
  })

  app.onError(function onError(err, c) {
    if (err instanceof RegistryError) {
      const headers: Record<string, string> = { [API_VERSION_HEADER]: API_VERSION, ...err.headers }
      if (c.res.headers.get('Allow')) headers.Allow = c.res.headers.get('Allow')!
      return c.json(errorBody(err), err.status as 400, headers)
    }
    logger.error({ err, method: c.req.method, path: c.req.path }, 'request failed')
    if (c.req.path === '/v2' || c.req.path.startsWith('/v2/')) {
      const unknown = new RegistryError('UNKNOWN', undefined, { message: 'internal error; see the server log' })
      return c.json(errorBody(unknown), 500, { [API_VERSION_HEADER]: API_VERSION })
    }
    return c.text('500 Internal Server Error\n', 500)
  })

  return app
}
