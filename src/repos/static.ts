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
 */
import { Hono, type Context, type Next } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import type { IncomingHttpHeaders } from 'node:http'
import type { Logger } from 'pino'
import {
  SMALL_BODY_LIMIT,
  contentTypeFor,
  labelRoute,
  requestHeader,
  sendRepresentation,
  unsatisfiedRange,
  type Representation,
  type RepresentationAnswers,
} from '../http/index.js'
import { FileCache } from './file-cache.js'
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

/** True when `segments` is a reserved path or lies below one. */
export const isReserved = (segments: readonly string[], reserved: ReadonlyArray<readonly string[]>): boolean =>
  reserved.some((r) => r.length > 0 && startsWithSegments(segments, r))

export const filesRouter = (options: FilesRouterOptions): Hono<Env> => {
  const { logger } = options
  const cache = options.cache ?? new FileCache()
  const files = new FileRoots({ roots: options.roots, symlinks: options.symlinks, cache, smallBodyLimit: SMALL_BODY_LIMIT })
  const reserved = (options.reserved ?? []).map(prefixSegments)
  const app = new Hono<Env>()

  const sendFile = (c: Ctx, found: Extract<Located, { kind: 'file' }>, name: string): Promise<Response> => {
    const { entry } = found
    const headers: Record<string, string> = {
      'Content-Type': contentTypeFor(name),
      ETag: entry.etag,
      'Last-Modified': entry.lastModified,
      'Accept-Ranges': 'bytes',
    }
    const body = found.body ?? { handle: found.handle, size: entry.size, mtimeMs: entry.mtimeMs }
    return sendRepresentation(c, { etag: entry.etag, lastModified: entry.mtimeMs, headers, body }, fileAnswers)
  }

  const sendListing = async (
    c: Ctx,
    segments: string[],
    match: RootMatch,
    dir: string,
    h: IncomingHttpHeaders | undefined,
  ): Promise<Response> => {
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
    if (prefersJson(requestHeader(h, c, 'accept'))) {
      return new Response(renderJson(entries), { status: 200, headers: { 'Content-Type': 'application/json', ...vary } })
    }
    return new Response(renderHtml(displayPath, entries), { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', ...vary } })
  }

  app.all('*', async function serveFiles(c: Ctx, next: Next) {
    if (files.roots.length === 0) return next()
    const incoming = c.env?.incoming
    const h = incoming?.headers
    let target = incoming?.url
    if (target === undefined) {
      // app.request() in tests: no Node request, so no raw target.
      const url = new URL(c.req.url)
      target = url.pathname + url.search
    }
    const parsed = parseRequestPath(target)
    if (!parsed.ok) {
      labelRoute(incoming, FILES_ROUTE)
      logger.debug({ path: target, reason: parsed.reason }, 'request path refused')
      return parsed.status === 400 ? text(400, 'Bad Request') : text(404, 'Not Found')
    }
    const { segments, trailingSlash } = parsed
    if (isReserved(segments, reserved)) return next()
    const match = files.match(segments)
    if (!match) return next()
    labelRoute(incoming, FILES_ROUTE)
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return text(405, 'Method Not Allowed', { Allow: ALLOW })
    const found = files.locate(match.root, match.rest)
    if (!found) return text(404, 'Not Found')
    if (found.kind === 'file') {
      if (trailingSlash) {
        // `/file/` names a directory that is not there (nginx: ENOTDIR → 404).
        await found.handle?.close().catch(() => {})
        return text(404, 'Not Found')
      }
      return sendFile(c, found, segments[segments.length - 1] ?? '')
    }
    if (!trailingSlash) {
      const q = target.indexOf('?')
      const location = encodePath(segments, true) + (q >= 0 ? target.slice(q) : '')
      return text(301, 'Moved Permanently', { Location: location })
    }
    const index = files.locate(match.root, [...match.rest, 'index.html'])
    if (index?.kind === 'file') return sendFile(c, index, 'index.html')
    return sendListing(c, segments, match, found.entry.real, h)
  })

  return app
}
