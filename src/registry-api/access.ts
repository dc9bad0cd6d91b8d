/**
 * Who may write through which listener: a pure decision and the middleware
 * that applies it in front of every `/v2` route.
 *
 * - The push listener on a loopback address takes everything without
 *   credentials (kubeplay pushes there from the same host).
 * - The HTTP and HTTPS listeners (and a push listener elsewhere, which only
 *   starts with an htpasswd file) serve reads anonymously. With an htpasswd
 *   file, writes need valid Basic credentials (401 with a challenge
 *   otherwise); without one, writes are refused as unsupported (405).
 *
 * skopeo (containers/image) sends credentials only after `GET /v2/` has
 * challenged it, and without credentials it then sends an empty
 * `Authorization: Basic Og==` (measured against registry:2). So with an
 * htpasswd file, `GET /v2/` without an Authorization header answers the
 * challenge, and any Authorization header, even that empty one, passes it;
 * reads succeed whatever credentials they carry.
 *
 * Handlers learn the outcome from `mayWrite(c)`: true only for a write
 * request that is allowed.
 */
import type { IncomingMessage } from 'node:http'
import type { Context, Env, MiddlewareHandler } from 'hono'
import type { Logger } from 'pino'
import { labelRoute } from '../http/index.js'
import { RegistryError } from './errors.js'
import type { CredentialCheck } from './htpasswd.js'

/** Which listener a request came in on (`c.env.listener`, set by the server's request handler). */
export type ListenerKind = 'http' | 'https' | 'push'

/** What the server adds to Hono's Node bindings. Absent (an app served without it) counts as `http`. */
export interface ListenerBinding {
  listener?: ListenerKind
}

export const CHALLENGE = 'Basic realm="outpost"'

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export interface AccessRequest {
  listener: ListenerKind
  /** The push listener is bound to a loopback address (otherwise it asks for credentials like the others). */
  pushOnLoopback: boolean
  /** An htpasswd file is configured. */
  htpasswd: boolean
  method: string
  /** The URL path. */
  path: string
  /** Whether the request has an Authorization header (whatever it holds). */
  authorization: boolean
}

export type AccessDecision = { outcome: 'allow'; mayWrite: boolean } | { outcome: 'challenge' } | { outcome: 'read-only' }

const underV2 = (path: string): boolean => path === '/v2' || path.startsWith('/v2/')

export const isWrite = (method: string, path: string): boolean => WRITE_METHODS.has(method) && underV2(path)

const isOpen = (r: AccessRequest): boolean => r.listener === 'push' && r.pushOnLoopback

/** Whether the decision needs the credentials checked: only writes on a listener that asks for them. */
export const needsCredentials = (r: AccessRequest): boolean => !isOpen(r) && r.htpasswd && isWrite(r.method, r.path)

/** The decision; `credentialsValid` matters only when `needsCredentials(r)`. */
export const decideAccess = (r: AccessRequest, credentialsValid = false): AccessDecision => {
  const write = isWrite(r.method, r.path)
  if (isOpen(r)) return { outcome: 'allow', mayWrite: write }
  if (!write) {
    const base = (r.path === '/v2' || r.path === '/v2/') && (r.method === 'GET' || r.method === 'HEAD')
    return r.htpasswd && base && !r.authorization ? { outcome: 'challenge' } : { outcome: 'allow', mayWrite: false }
  }
  if (!r.htpasswd) return { outcome: 'read-only' }
  return credentialsValid ? { outcome: 'allow', mayWrite: true } : { outcome: 'challenge' }
}

/** `Basic base64(user:password)`, or null when the header is anything else. */
export const parseBasic = (header: string | undefined): { user: string; password: string } | null => {
  const m = header === undefined ? null : /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header)
  if (!m) return null
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

export interface RequestAccess {
  mayWrite: boolean
  /** The user whose credentials allowed the write. */
  user?: string
}

const ACCESS = 'registryAccess' as const
const REQUEST_USER = Symbol('outpost.user')

/** True when the request is a write and the listener and credentials allow it. */
export const mayWrite = <E extends Env>(c: Context<E>): boolean =>
  ((c.var as Record<string, unknown>)[ACCESS] as RequestAccess | undefined)?.mayWrite === true

/** The user whose credentials allowed a write, for the access log. */
export const requestUserOf = (incoming: IncomingMessage): string | undefined =>
  (incoming as unknown as Record<symbol, string | undefined>)[REQUEST_USER]

export interface RegistryAccessOptions {
  /** Checks the credentials of writes on the HTTP and HTTPS listeners; null: those are read-only. */
  htpasswd: CredentialCheck | null
  /** The push listener is bound to a loopback address. */
  pushOnLoopback: boolean
  logger: Logger
}

const writeLabel = (path: string): string => (/\/blobs\/uploads(\/|$)/.test(path) ? 'v2.upload' : 'v2.write')

/** The bindings and variables the middleware reads and sets. */
export type AccessEnv = {
  Bindings: ListenerBinding & { incoming?: IncomingMessage }
  Variables: { [ACCESS]: RequestAccess }
}

export const registryAccess = (options: RegistryAccessOptions): MiddlewareHandler<AccessEnv> =>
  async function registryAccess(c, next) {
    const authorization = c.req.header('authorization')
    const request: AccessRequest = {
      listener: c.env?.listener ?? 'http',
      pushOnLoopback: options.pushOnLoopback,
      htpasswd: options.htpasswd !== null,
      method: c.req.method,
      path: c.req.path,
      authorization: authorization !== undefined,
    }
    let valid = false
    let user: string | undefined
    if (needsCredentials(request)) {
      const credentials = parseBasic(authorization)
      if (credentials) {
        user = credentials.user
        valid = await options.htpasswd!.verify(credentials.user, credentials.password)
      }
      if (!valid && authorization !== undefined) {
        options.logger.warn(
          { listener: request.listener, method: request.method, path: request.path, user, remote: c.env?.incoming?.socket.remoteAddress },
          credentials ? 'write refused: wrong user or password' : 'write refused: Authorization is not Basic credentials',
        )
      }
    }
    const decision = decideAccess(request, valid)
    const incoming = c.env?.incoming
    switch (decision.outcome) {
      case 'allow':
        if (decision.mayWrite && user !== undefined && incoming) (incoming as unknown as Record<symbol, string>)[REQUEST_USER] = user
        c.set(ACCESS, { mayWrite: decision.mayWrite, ...(decision.mayWrite && user !== undefined ? { user } : {}) })
        return next()
      case 'challenge':
        labelRoute(incoming, isWrite(request.method, request.path) ? writeLabel(request.path) : 'v2.base')
        throw new RegistryError('UNAUTHORIZED', undefined, { headers: { 'WWW-Authenticate': CHALLENGE } })
      case 'read-only':
        labelRoute(incoming, writeLabel(request.path))
        throw new RegistryError(
          'UNSUPPORTED',
          { method: request.method },
          {
            message: 'this registry is read-only here: writes need registry.auth.htpasswd, or the push listener',
            headers: { Allow: 'GET, HEAD' },
          },
        )
    }
  }
