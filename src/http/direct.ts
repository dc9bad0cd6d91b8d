/**
 * Direct routes: a router may answer its hottest requests on Node's request
 * and response themselves, in front of the app, without the Web Request and
 * Response objects the Hono adapter builds for every request. The file roots
 * do (src/repos/static.ts); the listener (src/server/listen.ts) tries the
 * app's direct route first and hands the request to the app when it declines.
 *
 * A direct route must answer exactly as the app would: the same status,
 * headers and bytes (test/http/fast-path.test.ts serves one app both ways
 * and compares). It may only take paths no earlier route of the app owns.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { Exchange } from './representation.js'

/**
 * Answers `req` on `res` and returns true, or returns false having written
 * nothing (the app answers then). A request it took and cannot answer (an
 * unexpected error before anything was written) goes to `toApp`, so the
 * app's one error handler answers it as before.
 */
export type DirectRoute = (req: IncomingMessage, res: ServerResponse, toApp: () => void) => boolean

const DIRECT = Symbol('outpost.direct')

type WithDirect = { [DIRECT]?: DirectRoute }

/** Attaches the direct route that listeners try before `app`. */
export const setDirectRoute = (app: object, route: DirectRoute | undefined): void => {
  ;(app as WithDirect)[DIRECT] = route
}

/** The direct route attached to `app`, if any. */
export const directRouteOf = (app: object): DirectRoute | undefined => (app as WithDirect)[DIRECT]

/**
 * The exchange the representation sender and the routers' helpers read,
 * over a Node request and response: headers come from the Node request,
 * bodies go to the Node response.
 */
export const directExchange = (req: IncomingMessage, res: ServerResponse): Exchange => ({
  req: {
    method: req.method ?? 'GET',
    header: (name: string) => {
      const v = req.headers[name.toLowerCase()]
      return Array.isArray(v) ? v.join(', ') : v
    },
  },
  env: { incoming: req, outgoing: res },
})

const DEFAULT_TYPE = 'text/plain; charset=UTF-8'

/**
 * Writes a Web Response as the Hono Node adapter does for this app's
 * routes: its headers as they are, a length when a body has none, and for
 * HEAD the headers without a body (Hono answers HEAD with the GET's headers
 * and a null body, so no length is added then). RESPONSE_ALREADY_SENT means
 * the handler wrote the response itself.
 */
export const writeResponse = async (req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> => {
  if (response === RESPONSE_ALREADY_SENT) return
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  if (req.method === 'HEAD' || response.body === null) {
    res.writeHead(response.status, headers)
    res.end()
    return
  }
  const body = Buffer.from(await response.arrayBuffer())
  headers['content-type'] ??= DEFAULT_TYPE
  headers['content-length'] ??= String(body.length)
  res.writeHead(response.status, headers)
  res.end(body)
}

/**
 * `404 Not Found\n` as src/http/reply.ts's textReply words it, written
 * straight to the response (on HEAD without a body and, as through the
 * adapter, without a length).
 */
export const writeText = (
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void => {
  const all: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', ...headers }
  if (req.method === 'HEAD') {
    res.writeHead(status, all)
    res.end()
    return
  }
  all['Content-Length'] = String(Buffer.byteLength(text))
  res.writeHead(status, all)
  res.end(text)
}
