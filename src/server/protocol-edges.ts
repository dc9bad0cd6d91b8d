/**
 * Answers at the edges of the protocol, where no route decides:
 *
 * - a method a built-in endpoint does not take is a 405 with `Allow` (RFC
 *   9110 §15.5.6), not a 404: `DELETE /nodes`, `POST /ca.crt`;
 * - a request-target that climbs out of `/v2/` (`/v2/../x`, `/v2/%2e%2e/x`)
 *   is refused in the registry's error format, since it was sent to the
 *   registry;
 * - a request line claiming a version other than HTTP/1.0 or 1.1 (Node's
 *   parser lets `HTTP/2.0` and `HTTP/0.9` through) is a 505;
 * - a write that failed for want of room or of a writable data_dir is a 507
 *   or a 503 saying so, not a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Env, Hono } from 'hono'
import { TrieRouter } from 'hono/router/trie-router'
import { labelRoute } from '../http/index.js'
import { API_VERSION, API_VERSION_HEADER, errorBody, RegistryError } from '../registry-api/index.js'

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * The methods the app's own routes take at a path, for `Allow`; null when
 * no route is there. Routes for every method (middleware, the registry's
 * and the file roots' catch-alls) answer for themselves and are left out.
 */
export const allowedMethods = <E extends Env>(app: Hono<E>): ((path: string) => string[] | null) => {
  let router: TrieRouter<string> | null = null
  return (path) => {
    if (!router) {
      router = new TrieRouter<string>()
      for (const r of app.routes)
        if (r.method !== 'ALL' && METHODS.includes(r.method as (typeof METHODS)[number])) router.add(r.method, r.path, r.method)
    }
    const allowed = METHODS.filter((m) => router!.match(m, path)[0].length > 0)
    if (allowed.includes('GET') && !allowed.includes('HEAD')) allowed.splice(1, 0, 'HEAD')
    return allowed.length ? allowed : null
  }
}

/**
 * The path of a request-target sent under `/v2/` that the URL parser takes
 * out of it (`/v2/../x`, `/v2/%2e%2e/x`, `/v2/..\\x`); null for any other.
 * Only targets with a segment starting with a dot are parsed, so the cost
 * for any other is a string test.
 */
export const escapedRegistryPath = (target: string): string | null => {
  const path = target.startsWith('/') ? target : target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '')
  if (!path.startsWith('/v2/') || !/[/\\](?:\.|%2e)/i.test(path)) return null
  let parsed: string
  try {
    parsed = new URL(path, 'http://outpost').pathname
  } catch {
    return null
  }
  if (parsed === '/v2' || parsed.startsWith('/v2/')) return null
  const q = path.indexOf('?')
  return q >= 0 ? path.slice(0, q) : path
}

/** What a failed write means for the client: out of room (507) or data_dir unwritable (503); null for anything else. */
export const storageFailure = (err: unknown): { status: 503 | 507; message: string; code: string } | null => {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return null
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT')
    return { status: 507, code, message: `Outpost cannot store this now: no space left (${code}); try again once space is freed` }
  if (/^SQLITE_(READONLY|IOERR|CANTOPEN)/.test(code) || code === 'EROFS')
    return { status: 503, code, message: `Outpost cannot store this now: its data cannot be written (${code}); try again later` }
  return null
}

const send = (
  res: ServerResponse,
  method: string | undefined,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void => {
  res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) })
  res.end(method === 'HEAD' ? undefined : body)
}

/**
 * Wraps a Node request listener: a request line claiming an HTTP version
 * other than 1.0 or 1.1 is answered 505 (and the connection closed), and a
 * target that climbs out of `/v2/` a registry error, before any route sees
 * them.
 */
export const guardRequests =
  (handler: (req: IncomingMessage, res: ServerResponse) => unknown) =>
  (req: IncomingMessage, res: ServerResponse): unknown => {
    const url = req.url ?? '/'
    if (req.httpVersionMajor !== 1 || req.httpVersionMinor > 1) {
      labelRoute(req, 'http-version')
      res.shouldKeepAlive = false
      const headers = { Connection: 'close' }
      if (url === '/v2' || url.startsWith('/v2/')) {
        const err = new RegistryError(
          'UNSUPPORTED',
          { version: req.httpVersion },
          { message: 'HTTP version not supported: use HTTP/1.1', status: 505 },
        )
        return send(res, req.method, 505, 'application/json', JSON.stringify(errorBody(err)), {
          ...headers,
          [API_VERSION_HEADER]: API_VERSION,
        })
      }
      return send(
        res,
        req.method,
        505,
        'text/plain; charset=utf-8',
        `505 HTTP Version Not Supported (HTTP/${req.httpVersion}: use HTTP/1.1)\n`,
        headers,
      )
    }
    const escaped = escapedRegistryPath(url)
    if (escaped !== null) {
      labelRoute(req, 'v2.unknown')
      const err = new RegistryError('NAME_INVALID', { path: escaped }, { message: 'the path leaves /v2/' })
      return send(res, req.method, 400, 'application/json', JSON.stringify(errorBody(err)), { [API_VERSION_HEADER]: API_VERSION })
    }
    return handler(req, res)
  }
