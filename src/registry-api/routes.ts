/**
 * The OCI distribution API (distribution-spec v1.1) over the image stores:
 * the pull side (read.ts) on every listener, the push side (uploads.ts,
 * write.ts) where the access policy (access.ts) lets a request write and
 * there is a push root. Errors are thrown as RegistryError and written by the one
 * error handler the server installs (see errors.ts).
 */
import { Hono } from 'hono'
import { labelRoute } from '../http/index.js'
import { mayWrite, registryAccess } from './access.js'
import { API_VERSION, API_VERSION_HEADER, rawPath, type Ctx, type Env, type RegistryApiOptions } from './context.js'
import { RegistryError } from './errors.js'
import { parseV2Path } from './paths.js'
import { readHandlers } from './read.js'
import { uploadHandlers } from './uploads.js'
import { writeHandlers } from './write.js'

export { API_VERSION, API_VERSION_HEADER, type RegistryApiOptions } from './context.js'
export { parsePage, paginate, type Page } from './read.js'

const READ_METHODS = new Set(['GET', 'HEAD'])

export const registryApi = (options: RegistryApiOptions): Hono<Env> => {
  const app = new Hono<Env>()
  const read = readHandlers(options)
  const uploads = uploadHandlers(options)
  const write = writeHandlers(options)
  const canWrite = options.canWrite ?? mayWrite

  const readOnly = (c: Ctx): never => {
    labelRoute(c.env?.incoming, 'v2.write')
    c.header('Allow', 'GET, HEAD')
    throw new RegistryError('UNSUPPORTED', { method: c.req.method }, { message: 'this registry is read-only here' })
  }

  const dispatch = async (c: Ctx): Promise<Response> => {
    c.header(API_VERSION_HEADER, API_VERSION)
    const pathname = rawPath(c)
    const route = parseV2Path(pathname === '/v2' ? '' : pathname.slice('/v2/'.length))
    const reading = READ_METHODS.has(c.req.method)
    const mayWrite = !reading && options.stores.push !== null && canWrite(c)
    if (route.kind === 'upload') return uploads(c, route.name, route.rest, mayWrite)
    if (!reading) {
      if (!mayWrite) return readOnly(c)
      if (route.kind === 'manifest') return write.manifest(c, route.name, route.reference)
      if (route.kind === 'blob') return write.blob(c, route.name, route.digest)
      if (route.kind !== 'unknown') {
        labelRoute(c.env?.incoming, 'v2.write')
        c.header('Allow', 'GET, HEAD')
        throw new RegistryError('UNSUPPORTED', { method: c.req.method })
      }
    }
    switch (route.kind) {
      case 'base':
        labelRoute(c.env?.incoming, 'v2.base')
        return c.json({})
      case 'catalog':
        return read.catalog(c)
      case 'tags':
        return read.tags(c, route.name)
      case 'manifest':
        return read.manifest(c, route.name, route.reference)
      case 'blob':
        return read.blob(c, route.name, route.digest)
      case 'referrers':
        return read.referrers(c, route.name, route.digest)
      case 'unknown':
        labelRoute(c.env?.incoming, 'v2.unknown')
        throw new RegistryError('NOT_FOUND', { path: pathname })
    }
  }

  // Who may write, in front of every route below ('/v2/*' matches '/v2' too).
  app.use('/v2/*', registryAccess({ htpasswd: null, pushOnLoopback: true, ...options.access, logger: options.logger }))
  app.all('/v2', dispatch)
  app.all('/v2/*', dispatch)
  return app
}
