/**
 * Sending one representation, for every handler that serves bytes (blobs,
 * files), as Go's http.ServeContent or nginx's not-modified and range
 * filters do: preconditions (304 / 412, RFC 9110 §13), If-Range, one Range
 * (206 / 416, §14), HEAD, and the body on the fast path of send.ts.
 *
 * - Bytes already in memory (the file cache) go straight to the socket with
 *   writeHead + end: a Response object and its header conversion are a
 *   tenth of the cost of a small file.
 * - An opened file is read whole and returned as one Response up to
 *   SMALL_BODY_LIMIT; beyond it, it is written by writeFileRange straight to
 *   the Node response. The file is always closed: here, or by the writer.
 * - HEAD never takes the already-sent path: Hono answers HEAD by running
 *   the GET handler and dropping the body of the Response it gets back, so
 *   a body written behind its back would go out on a HEAD.
 *
 * What differs between protocols is only how the answers without the
 * representation are worded (the registry's 416 is OCI error JSON, a file
 * root's is plain text): the caller gives those as `RepresentationAnswers`,
 * made once per router.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { evaluateConditions, ifRangeAllows, type Validators } from './conditional.js'
import { contentRange, parseByteRange, resolveByteRange } from './range.js'
import { SMALL_BODY_LIMIT, asBody, readExactly, writeFileRange, type OpenedFile } from './send.js'

/**
 * What the sender needs of the exchange. Hono's Context on the Node adapter
 * is one; `env` is absent under `app.request()`.
 */
export interface Exchange {
  req: { readonly method: string; header(name: string): string | undefined }
  env?: { incoming?: { headers: IncomingHttpHeaders }; outgoing?: ServerResponse } | undefined
}

export interface Representation extends Validators {
  /**
   * The headers a 200 carries (ETag, Content-Type, …). The sender adds
   * Content-Range and Content-Length to this same object and sends it.
   */
  headers: Record<string, string>
  /** The whole body in memory, or the opened file to read it from. */
  body: Buffer | OpenedFile
  /** False where Range does not apply (a manifest is always sent whole). Default true. */
  ranges?: boolean
}

/**
 * How a protocol answers where the representation is not sent, and what it
 * counts. Each may throw a protocol error instead of returning: an opened
 * file is closed either way.
 */
export interface RepresentationAnswers<R extends Representation> {
  /** 304: RFC 9110 §15.4.5 wants the validators a 200 would have carried. */
  notModified(rep: R): Response
  /** 412: an If-Match / If-Unmodified-Since did not hold. */
  preconditionFailed(rep: R): Response
  /** 416: `range` as sent, `size` the representation's length. */
  rangeNotSatisfiable(rep: R, range: string, size: number): Response
  /** Called once a body is about to go out (not on HEAD), with its length. */
  onBody?(rep: R, length: number): void
}

/**
 * A request header, from the Node request when there is one (no Web Headers
 * to build), else from Hono's request (`app.request()` in tests).
 */
export const requestHeader = (h: IncomingHttpHeaders | undefined, c: Exchange, name: string): string | undefined => {
  if (h) {
    const v = h[name]
    return Array.isArray(v) ? v.join(', ') : v
  }
  return c.req.header(name)
}

/**
 * Answers a GET or HEAD with `rep`: 304 / 412, 200 / 206 / 416, the body or
 * none. Resolves with the Response to return from the handler, which is
 * RESPONSE_ALREADY_SENT when the body was written to the Node response.
 */
export const sendRepresentation = async <R extends Representation>(
  c: Exchange,
  rep: R,
  answers: RepresentationAnswers<R>,
): Promise<Response> => {
  const body = rep.body
  const file = Buffer.isBuffer(body) ? undefined : body
  let handedOver = false
  try {
    const h = c.env?.incoming?.headers
    // Without a modification time the date conditions cannot apply (§13.1.3, §13.1.4).
    const dated = rep.lastModified !== undefined
    const outcome = evaluateConditions(
      {
        ifMatch: requestHeader(h, c, 'if-match'),
        ifNoneMatch: requestHeader(h, c, 'if-none-match'),
        ifModifiedSince: dated ? requestHeader(h, c, 'if-modified-since') : undefined,
        ifUnmodifiedSince: dated ? requestHeader(h, c, 'if-unmodified-since') : undefined,
      },
      rep,
    )
    if (outcome === 'not-modified') return answers.notModified(rep)
    if (outcome === 'precondition-failed') return answers.preconditionFailed(rep)
    const size = file ? file.size : (body as Buffer).length
    const headers = rep.headers
    let start = 0
    let end = size - 1
    let status = 200
    const range = rep.ranges === false ? undefined : requestHeader(h, c, 'range')
    // If-Range (§13.1.5): a stale validator means "send it all", not an error.
    if (range && ifRangeAllows(requestHeader(h, c, 'if-range'), rep)) {
      const decision = resolveByteRange(parseByteRange(range), size)
      if (decision.kind === 'unsatisfiable') return answers.rangeNotSatisfiable(rep, range, size)
      if (decision.kind === 'partial') {
        start = decision.start
        end = decision.end
        status = 206
        headers['Content-Range'] = contentRange(start, end, size)
      }
    }
    const length = end - start + 1
    headers['Content-Length'] = String(length)
    if (c.req.method === 'HEAD') return new Response(null, { status, headers })
    answers.onBody?.(rep, length)
    const outgoing = c.env?.outgoing
    if (!file) {
      const whole = body as Buffer
      const bytes = status === 206 ? whole.subarray(start, end + 1) : whole
      if (outgoing) {
        outgoing.writeHead(status, headers)
        outgoing.end(bytes)
        return RESPONSE_ALREADY_SENT
      }
      return new Response(asBody(bytes), { status, headers })
    }
    if (length <= SMALL_BODY_LIMIT || !outgoing) {
      const bytes = length > 0 ? await readExactly(file.handle, start, length) : Buffer.alloc(0)
      return new Response(asBody(bytes), { status, headers })
    }
    handedOver = true
    void writeFileRange(outgoing, file, start, end, status, headers)
    return RESPONSE_ALREADY_SENT
  } finally {
    if (file && !handedOver) await file.handle.close().catch(() => {})
  }
}
