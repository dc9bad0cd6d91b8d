/**
 * Static serving of the file roots, to nginx's standard and RFC 9110's rules:
 * GET and HEAD; one Range (206 / 416, RFC 9110 §14); ETag and Last-Modified
 * with If-None-Match / If-Modified-Since (304), If-Match /
 * If-Unmodified-Since (412) and If-Range (§13); Content-Type by extension;
 * a directory asked for without its slash is redirected (301), and answered
 * with its index.html or a listing.
 *
 * The path is read from the raw request-target, not from the URL the
 * adapter built: the WHATWG parser has already resolved `..` and `%2e%2e`
 * there, which would hide a hostile request instead of refusing it.
 *
 * Conditions, ranges, HEAD and the body are the representation sender's
 * (src/http/representation.ts), shared with blob serving: small files as
 * bytes (read by FileRoots, cached by FileCache when hot) written straight
 * to the socket; large ones in big chunks straight to the Node response.
 *
 * Two entrances, one routine (`decide`): the Hono router, which the app
 * mounts last, and a direct route (src/http/direct.ts) that the listeners
 * try before the app for GET and HEAD, so a small file costs no Web Request
 * or Response. The direct route takes only what the router would get as
 * the app routes requests, and answers it the same way.
 */
import { Hono, type Context, type Next } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import {
  SMALL_BODY_LIMIT,
  contentTypeFor,
  directExchange,
  labelRoute,
  requestHeader,
  sendRepresentation,
  textLine,
  unsatisfiedRange,
  writeResponse,
  writeText,
  type DirectRoute,
  type Exchange,
  type Representation,
  type RepresentationAnswers,
} from '../http/index.js'
import { FileCache, type FileEntry } from './file-cache.js'
import { prefersJson, readListing, renderHtml, renderJson } from './listing.js'
import { textReply } from '../http/reply.js'
import { FileRoots, type FileRootSpec, type Located, type RootMatch, type SymlinkPolicy } from './roots.js'
import { encodePath, parseRequestPath, prefixSegments, startsWithSegments } from './safe-path.js'

export const FILES_ROUTE = 'files'

export interface FilesRouterOptions {
  roots: readonly FileRootSpec[]
  symlinks: SymlinkPolicy
  logger: Logger
  /**
   * URL paths that belong to built-in endpoints (`/v2`, `/healthz`, …). A
   * file root never answers for them or anything below them, even before
   * the endpoint exists, so what a node gets does not change when it does.
   */
  reserved?: readonly string[]
  /** Shared cache (the server closes it on stop); a private one otherwise. */
  cache?: FileCache
}

type Env = { Bindings: HttpBindings }
type Ctx = Context<Env>

const ALLOW = 'GET, HEAD'

/** `404 Not Found`: the plain-text status line every non-registry router answers with. */
const text = textReply

const fileAnswers: RepresentationAnswers<Representation> = {
  // RFC 9110 §15.4.5: a 304 carries the validators it would have sent with a 200.
  notModified: (file) => new Response(null, { status: 304, headers: { ETag: file.etag, 'Last-Modified': file.headers['Last-Modified']! } }),
  preconditionFailed: () => text(412, 'Precondition Failed'),
  rangeNotSatisfiable: (_file, _range, size) =>
    text(416, 'Range Not Satisfiable', { 'Content-Range': unsatisfiedRange(size), 'Accept-Ranges': 'bytes' }),
}

/** The same answers written straight to the Node response (the direct path). */
const directAnswers = (req: IncomingMessage, res: ServerResponse): RepresentationAnswers<Representation> => ({
  notModified: (file) => {
    res.writeHead(304, { ETag: file.etag, 'Last-Modified': file.headers['Last-Modified']! })
    res.end()
    return RESPONSE_ALREADY_SENT
  },
  preconditionFailed: () => {
    writeText(req, res, 412, textLine(412, 'Precondition Failed'))
    return RESPONSE_ALREADY_SENT
  },
  rangeNotSatisfiable: (_file, _range, size) => {
    writeText(req, res, 416, textLine(416, 'Range Not Satisfiable'), { 'Content-Range': unsatisfiedRange(size), 'Accept-Ranges': 'bytes' })
    return RESPONSE_ALREADY_SENT
  },
})

/** True when `segments` is a reserved path or lies below one. */
export const isReserved = (segments: readonly string[], reserved: ReadonlyArray<readonly string[]>): boolean =>
  reserved.some((r) => r.length > 0 && startsWithSegments(segments, r))

/** What the file roots make of a request, before anything is sent. */
type Decision =
  /** Not a file-root path: the rest of the app answers it. */
  | { kind: 'pass' }
  /** A malformed or hostile path (400), or one that cannot name a file (404). */
  | { kind: 'refused'; status: 400 | 404; reason: string }
  | { kind: 'text'; status: number; message: string; headers?: Record<string, string> }
  | { kind: 'file'; found: FoundFile; name: string }
  | { kind: 'listing'; segments: string[]; match: RootMatch; dir: string }

type FoundFile = Extract<Located, { kind: 'file' }>

const PASS: Decision = { kind: 'pass' }
const NOT_FOUND: Decision = { kind: 'text', status: 404, message: 'Not Found' }

/**
 * A Host header the Hono Node adapter takes as it is (its own test): for
 * any other it parses the URL and may refuse the request, so the direct
 * path leaves those requests to the app.
 */
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/

export interface FileRoutes {
  /** The Hono router: the app mounts it last. */
  router: Hono<Env>
  /**
   * The same answers on Node's request and response (src/http/direct.ts),
   * for GET and HEAD of origin-form paths under a root and outside every
   * reserved path: the requests the router above would answer, as the app
   * routes them. Everything else is declined, for the app to answer.
   */
  direct: DirectRoute
}

export const fileRoutes = (options: FilesRouterOptions): FileRoutes => {
  const { logger } = options
  const cache = options.cache ?? new FileCache()
  const files = new FileRoots({ roots: options.roots, symlinks: options.symlinks, cache, smallBodyLimit: SMALL_BODY_LIMIT })
  const reserved = (options.reserved ?? []).map(prefixSegments)
  const app = new Hono<Env>()

  /** The 200's headers of a file (the sender adds Content-Length and Content-Range to them). */
  const fileHeaders = (entry: FileEntry, name: string): Record<string, string> => ({
    'Content-Type': contentTypeFor(name),
    ETag: entry.etag,
    'Last-Modified': entry.lastModified,
    'Accept-Ranges': 'bytes',
  })

  const representationOf = (found: FoundFile, name: string): Representation => {
    const { entry } = found
    const body = found.body ?? { handle: found.handle, size: entry.size, mtimeMs: entry.mtimeMs }
    return { etag: entry.etag, lastModified: entry.mtimeMs, headers: fileHeaders(entry, name), body }
  }

  const sendListing = async (c: Exchange, segments: string[], match: RootMatch, dir: string): Promise<Response> => {
    const entries = await readListing(dir, {
      resolveLink: async (name) => files.realInside(match.root, [...match.rest, name]),
      // What a link would lead to must be what this root serves there.
      hide: (name) => {
        const path = [...segments, name]
        return isReserved(path, reserved) || files.match(path)?.root !== match.root
      },
    })
    const displayPath = segments.length ? `/${segments.join('/')}/` : '/'
    const vary = { Vary: 'Accept' }
    if (prefersJson(requestHeader(c.env?.incoming?.headers, c, 'accept'))) {
      return new Response(renderJson(entries), { status: 200, headers: { 'Content-Type': 'application/json', ...vary } })
    }
    return new Response(renderHtml(displayPath, entries), { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', ...vary } })
  }

  /** The one routine behind both entrances: everything up to what is sent. */
  const decide = (method: string, target: string, incoming: IncomingMessage | undefined): Decision => {
    if (files.roots.length === 0) return PASS
    const parsed = parseRequestPath(target)
    if (!parsed.ok) return { kind: 'refused', status: parsed.status, reason: parsed.reason }
    const { segments, trailingSlash } = parsed
    if (isReserved(segments, reserved)) return PASS
    const match = files.match(segments)
    if (!match) return PASS
    labelRoute(incoming, FILES_ROUTE)
    if (method !== 'GET' && method !== 'HEAD')
      return { kind: 'text', status: 405, message: 'Method Not Allowed', headers: { Allow: ALLOW } }
    const found = files.locate(match.root, match.rest)
    if (!found) return NOT_FOUND
    if (found.kind === 'file') {
      if (trailingSlash) {
        // `/file/` names a directory that is not there (nginx: ENOTDIR → 404).
        found.handle?.close().catch(() => {})
        return NOT_FOUND
      }
      return { kind: 'file', found, name: segments[segments.length - 1] ?? '' }
    }
    if (!trailingSlash) {
      const q = target.indexOf('?')
      const location = encodePath(segments, true) + (q >= 0 ? target.slice(q) : '')
      return { kind: 'text', status: 301, message: 'Moved Permanently', headers: { Location: location } }
    }
    const index = files.locate(match.root, [...match.rest, 'index.html'])
    if (index?.kind === 'file') return { kind: 'file', found: index, name: 'index.html' }
    return { kind: 'listing', segments, match, dir: found.entry.real }
  }

  app.all('*', async function serveFiles(c: Ctx, next: Next) {
    const incoming = c.env?.incoming
    let target = incoming?.url
    if (target === undefined) {
      // app.request() in tests: no Node request, so no raw target.
      const url = new URL(c.req.url)
      target = url.pathname + url.search
    }
    const d = decide(c.req.method, target, incoming)
    switch (d.kind) {
      case 'pass':
        return next()
      case 'refused':
        labelRoute(incoming, FILES_ROUTE)
        logger.debug({ path: target, reason: d.reason }, 'request path refused')
        return d.status === 400 ? text(400, 'Bad Request') : text(404, 'Not Found')
      case 'text':
        return text(d.status, d.message, d.headers)
      case 'file': {
        // A reused buffer goes back once the response has handed it to the kernel.
        const outgoing = c.env?.outgoing
        if (d.found.release && outgoing) outgoing.once('finish', d.found.release)
        return sendRepresentation(c, representationOf(d.found, d.name), fileAnswers)
      }
      case 'listing':
        return sendListing(c, d.segments, d.match, d.dir)
    }
  })

  const direct: DirectRoute = (req, res, toApp) => {
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') return false
    const target = req.url ?? ''
    // Origin-form only (`/path`): the adapter refuses other forms itself.
    if (target.charCodeAt(0) !== 47) return false
    const host = req.headers.host
    if (host !== undefined && !PLAIN_HOST.test(host)) return false
    const failed = (): void => {
      if (!res.headersSent) toApp()
      else res.destroy()
    }
    try {
      const d = decide(method, target, req)
      switch (d.kind) {
        case 'pass':
        case 'refused':
          return false
        case 'text':
          writeText(req, res, d.status, textLine(d.status, d.message), d.headers)
          return true
        case 'file': {
          if (d.found.release) res.once('finish', d.found.release)
          const c = directExchange(req, res)
          sendRepresentation(c, representationOf(d.found, d.name), directAnswers(req, res))
            .then((r) => (r === RESPONSE_ALREADY_SENT ? undefined : writeResponse(req, res, r)))
            .catch(failed)
          return true
        }
        case 'listing': {
          const c = directExchange(req, res)
          sendListing(c, d.segments, d.match, d.dir)
            .then((r) => writeResponse(req, res, r))
            .catch(failed)
          return true
        }
      }
    } catch {
      failed()
      return true
    }
  }

  return { router: app, direct }
}

/** The file roots' Hono router alone (the app uses `fileRoutes`, which adds the direct path). */
export const filesRouter = (options: FilesRouterOptions): Hono<Env> => fileRoutes(options).router
