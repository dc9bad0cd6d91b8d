/**
 * Listeners: one Node HTTP or HTTPS server per configured address, all
 * serving the same app through the same request handler. Each request is logged once on completion and counted in the
 * metrics. Stopping closes the listeners, lets in-flight requests finish
 * (up to a grace period) and then cuts what is left.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { SecureContextOptions } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import type { Env, Hono } from 'hono'
import { directRouteOf, routeLabelOf, sentByEngine } from '../http/index.js'
import { requestUserOf, type ListenerKind } from '../registry-api/index.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import type { ListenAddress } from './config.js'
import { ListenError } from './listen-errors.js'
import { guardRequests } from './protocol-edges.js'
import { accessWriter } from './access-log.js'
import type { HttpBindings } from '@hono/node-server'

export interface Listener {
  name: ListenerKind
  server: Server | HttpsServer
  address: AddressInfo
  /** A URL clients can use (loopback when bound to all addresses). */
  url: string
}

const chunkLength = (chunk: unknown, encoding?: unknown): number => {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  return (chunk as Uint8Array).byteLength ?? 0
}

/**
 * Counts body bytes as they are handed to the socket. Headers written by
 * writeHead are not visible to getHeader(), and an aborted download sends
 * less than its Content-Length, so counting is the only honest figure.
 */
const countBodyBytes = (res: ServerResponse): (() => number) => {
  let bytes = 0
  const write = res.write
  const end = res.end
  res.write = function countedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    bytes += chunkLength(chunk, rest[0])
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
  } as typeof res.write
  res.end = function countedEnd(this: ServerResponse, chunk?: unknown, ...rest: unknown[]) {
    bytes += chunkLength(chunk, rest[0])
    return (end as (...a: unknown[]) => ServerResponse).call(this, chunk, ...rest)
  } as typeof res.end
  return () => bytes
}

export interface RequestHandlerOptions {
  logger: Logger
  metrics: Metrics
  /** Called once per completed request (after logging), e.g. for the ledger of misses. */
  onResponse?: (req: IncomingMessage, res: ServerResponse, route: string) => void
  /** The listener this handler serves: handlers see it as `c.env.listener` (who may write depends on it). */
  listener?: ListenerKind
}

/** What the listeners serve: the app and whether requests are logged (`log.access`). */
export interface Served<E extends Env> {
  readonly app: Hono<E>
  readonly accessLog: boolean
}

/**
 * The slot the listeners read once per request. A reload puts a new
 * `Served` in it: requests from then on get the new app, requests in flight
 * finish on the one they started with.
 */
export interface ServedSlot<E extends Env> {
  current: Served<E>
}

/**
 * The Node request listener for an app (or for whatever app a slot holds
 * when the request arrives), with the access log and metrics. An access
 * line stays short: method, path, status, bytes, ms, client, and the
 * listener and user when there are; at debug also the route and user agent.
 */
export const requestHandler = <E extends Env>(app: Hono<E> | ServedSlot<E>, options: RequestHandlerOptions) => {
  const slot: ServedSlot<E> = 'fetch' in app ? { current: { app, accessLog: true } } : app
  const kind = options.listener
  // The bindings are written out field by field: a spread of the adapter's object measured some 2 µs a request.
  const listener = getRequestListener(
    kind
      ? (request, env) =>
          slot.current.app.fetch(request, { incoming: env.incoming, outgoing: env.outgoing, listener: kind } as HttpBindings)
      : (request, env) => slot.current.app.fetch(request, env),
  )
  // Other HTTP versions and targets leaving /v2/ are answered first (protocol-edges.ts); then the
  // app's direct route (the file roots); what it declines, the app answers.
  const dispatch = guardRequests((req, res) => {
    const direct = directRouteOf(slot.current.app)
    if (direct && direct(req, res, () => void listener(req, res))) return
    void listener(req, res)
  })
  const access = options.logger.child({ sub: 'access' })
  const writeAccess = accessWriter(options.logger, access)
  const { metrics } = options
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now()
    const served = slot.current
    const sentBytes = countBodyBytes(res)
    res.once('close', () => {
      const ms = performance.now() - started
      const route = routeLabelOf(req)
      const bytes = req.method === 'HEAD' ? 0 : sentBytes() + sentByEngine(res)
      metrics.countRequest(route, req.method ?? '', res.statusCode, bytes, ms / 1000)
      if (served.accessLog && access.isLevelEnabled('info')) {
        const debug = access.isLevelEnabled('debug')
        writeAccess({
          method: req.method,
          path: req.url,
          status: res.statusCode,
          bytes,
          ms: Math.round(ms * 10) / 10,
          client: req.socket.remoteAddress,
          listener: kind,
          user: requestUserOf(req),
          aborted: res.writableFinished ? undefined : true,
          route: debug ? route : undefined,
          ua: debug ? req.headers['user-agent'] : undefined,
        })
      }
      options.onResponse?.(req, res, route)
    })
    dispatch(req, res)
  }
}

/** With `tls`, an HTTPS server (the options come from src/tls: TLS 1.2 and 1.3 only). */
export const listen = (
  name: ListenerKind,
  addr: ListenAddress,
  handler: ReturnType<typeof requestHandler>,
  tls?: SecureContextOptions,
): Promise<Listener> =>
  new Promise((resolveListen, reject) => {
    const server = tls
      ? createHttpsServer({ ...tls, keepAliveTimeout: 65_000 }, handler)
      : createServer({ keepAliveTimeout: 65_000 }, handler)
    // A bind error names the listener's key and what to do: see listen-errors.ts.
    const failed = (err: NodeJS.ErrnoException): void => reject(new ListenError(name, addr, err))
    server.once('error', failed)
    server.listen(addr.port, addr.host, () => {
      server.off('error', failed)
      const address = server.address() as AddressInfo
      const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address
      const hostPart = host.includes(':') ? `[${host}]` : host
      resolveListen({ name, server, address, url: `${tls ? 'https' : 'http'}://${hostPart}:${address.port}` })
    })
  })

/** Stops accepting, waits for in-flight requests up to `graceMs`, then cuts the rest. */
export const closeListener = (l: Listener, graceMs: number): Promise<void> =>
  new Promise((resolveClose) => {
    const timer = setTimeout(() => l.server.closeAllConnections(), graceMs)
    timer.unref()
    // Keep-alive connections go idle as their last response ends: close them as they do.
    const sweep = setInterval(() => l.server.closeIdleConnections(), 100)
    sweep.unref()
    l.server.close(() => {
      clearTimeout(timer)
      clearInterval(sweep)
      resolveClose()
    })
    l.server.closeIdleConnections()
  })
