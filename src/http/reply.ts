/**
 * Error replies of every router but the registry (which answers in the OCI
 * error format, src/registry-api/errors.ts). A handler throws an HttpError;
 * the app's one error handler renders it with errorReply, as text or JSON:
 *
 *   text  `404 Not Found` or `404 Outpost has no CA yet`, one line
 *   JSON  `{"error": "Outpost has no CA yet", …details}`
 *
 * An endpoint that answers JSON to programs (check-in, /nodes, /inventory)
 * marks its errors `json`: they follow the same choice as its replies
 * (wantsText). Every other error is text unless the client asks for JSON.
 */
import { STATUS_CODES } from 'node:http'
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { isTerminalClient, replyFormat, type ReplyFormat } from './accept.js'

export interface HttpErrorOptions {
  /** Headers the reply carries (Allow, Location, Content-Range). */
  headers?: Record<string, string>
  /** Fields the JSON form carries beside `error` (a check-in's `issues`). */
  details?: Record<string, unknown>
  /** The endpoint answers JSON to programs and text to curl and wget: so does its error. */
  json?: boolean
}

/** An error reply: a status and what to tell the client, without internals. */
export class HttpError extends HTTPException {
  readonly headers: Record<string, string>
  readonly details: Record<string, unknown>
  readonly json: boolean

  /** `message` defaults to the reason phrase (`Not Found`). */
  constructor(status: ContentfulStatusCode, message?: string, options: HttpErrorOptions = {}) {
    super(status, { message: message ?? reasonOf(status) })
    this.name = 'HttpError'
    this.headers = options.headers ?? {}
    this.details = options.details ?? {}
    this.json = options.json ?? false
  }

  /** The text form: what Hono sends for a router used on its own, without errorReply. */
  override getResponse(): Response {
    return textReply(this.status, this.message, this.headers)
  }
}

const reasonOf = (status: number): string => STATUS_CODES[status] ?? 'Error'

/** The body of a text reply: `404 Not Found\n`, or `404 <message>\n`. */
export const textLine = (status: number, message?: string): string => `${status} ${message || reasonOf(status)}\n`

/** `404 Not Found\n`, or `404 <message>\n`. */
export const textReply = (status: number, message?: string, headers: Record<string, string> = {}): Response =>
  new Response(textLine(status, message), {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers },
  })

/** `{"error": message, …details}`. */
export const jsonErrorReply = (
  status: number,
  message?: string,
  details: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response =>
  new Response(JSON.stringify({ error: message || reasonOf(status), ...details }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })

/** How an error is written for this request (see the top of this file). */
export const errorFormat = (c: Context, json: boolean): ReplyFormat =>
  replyFormat(c.req.query('format'), c.req.header('accept'), json && !isTerminalClient(c.req.header('user-agent')) ? 'json' : 'text')

/** The reply for an HttpError, or for an HTTPException that a Hono middleware threw. */
export const errorReply = (c: Context, err: HTTPException): Response => {
  if (!(err instanceof HttpError)) {
    if (err.res) return err.getResponse()
    return errorReply(c, new HttpError(err.status, err.message || undefined))
  }
  return errorFormat(c, err.json) === 'json'
    ? jsonErrorReply(err.status, err.message, err.details, err.headers)
    : textReply(err.status, err.message, err.headers)
}
