/**
 * Asking a running Outpost: a GET with a time limit, and every way it can
 * fail as one line naming the address (nothing answers, no answer in time,
 * an untrusted certificate, an HTTP error).
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { RemoteError } from './run.js'

export const DEFAULT_TIMEOUT_MS = 5000

/** A TLS failure: the server answered, its certificate was refused. */
const TLS_REFUSED = 'tls'

/** The words for why a request got no answer. */
export const unreachableReason = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host name'
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable'
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection closed without an answer'
    case 'ETIMEDOUT':
      return 'no answer in time'
    case 'EPROTO':
      return 'it does not speak TLS there (try http://)'
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return TLS_REFUSED
    default:
      return e?.code ?? e?.message ?? String(err)
  }
}

/** The base URL of a target: `127.0.0.1:8080` is taken as http://127.0.0.1:8080. */
export const baseUrl = (target: string): URL => {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `http://${target}`
  try {
    const url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error()
    return url
  } catch {
    throw new RemoteError(`${target} is not an http:// or https:// address`)
  }
}

export interface Answer {
  status: number
  text: string
  contentType: string
}

/** GET `path` under `base`; any failure to get an answer is a RemoteError naming the address. */
export interface GetOptions {
  accept?: string
  timeoutMs?: number
  /** Certificates to trust for https:// (replaces the system's: include them). */
  ca?: string[]
  /** A JSON body to POST instead of a GET. */
  json?: unknown
}

export const getFrom = (base: URL, path: string, options: GetOptions = {}): Promise<Answer> =>
  new Promise((resolveAnswer, reject) => {
    const url = new URL(path, base)
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const unreachable = (err: unknown): void => {
      const reason = unreachableReason(err)
      const code = (err as NodeJS.ErrnoException).code
      reject(
        new RemoteError(
          reason === TLS_REFUSED
            ? `${base.origin}: its certificate is refused here (${code}): pass --data-dir of that Outpost (its tls/ca.crt is then trusted), set NODE_EXTRA_CA_CERTS to its CA, or use its http:// address`
            : `nothing answers at ${base.origin} (${reason})`,
        ),
      )
    }
    const tls = url.protocol === 'https:' && options.ca ? { ca: options.ca } : {}
    const body = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json))
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' }
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(body.length) })
    const method = body ? 'POST' : 'GET'
    const req = send(url, { method, headers, timeout: timeoutMs, ...tls }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', () => reject(new RemoteError(`${base.origin} stopped answering`)))
      res.on('end', () =>
        resolveAnswer({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          contentType: String(res.headers['content-type'] ?? ''),
        }),
      )
    })
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
    req.on('error', unreachable)
    req.end(body)
  })

/** The first line of an error answer, for a message. */
export const answerSummary = (a: Answer): string => {
  let first = a.text.trim().split('\n')[0] ?? ''
  if (a.contentType.includes('json')) {
    try {
      const body = JSON.parse(a.text) as { error?: string; message?: string; errors?: Array<{ message?: string }> }
      first = body.error ?? body.message ?? body.errors?.[0]?.message ?? first
    } catch {
      // not JSON after all: the text it is
    }
  }
  return `HTTP ${a.status}${first ? `: ${first.slice(0, 200)}` : ''}`
}

/** GET a JSON document; an HTTP error or a body that is not JSON is a RemoteError. */
export const getJson = async <T>(base: URL, path: string, options: GetOptions & { okStatuses?: number[] } = {}): Promise<T> => {
  const a = await getFrom(base, path, { ...options, accept: 'application/json' })
  if (!(a.status >= 200 && a.status < 300) && !(options.okStatuses ?? []).includes(a.status)) {
    throw new RemoteError(`${new URL(path, base).href} answered ${answerSummary(a)}${a.status === 404 ? ' (is it an Outpost?)' : ''}`)
  }
  try {
    return JSON.parse(a.text) as T
  } catch {
    throw new RemoteError(`${new URL(path, base).href} answered with something other than JSON (is it an Outpost?)`)
  }
}
