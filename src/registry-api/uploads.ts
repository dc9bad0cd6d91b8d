/**
 * Blob uploads (distribution-spec "Pushing blobs"): sessions started with
 * POST, fed with PATCH (streamed, or chunked with Content-Range), closed
 * with PUT `?digest=`; monolithic POST `?digest=`; status (GET) and cancel
 * (DELETE); cross-repository mount (`?mount=&from=`).
 *
 * A session's URL is always `/v2/<name>/blobs/uploads/<uuid>`: it carries
 * no state, so every Location handed out stays valid while the session
 * lives. Bodies are streamed to disk, never held whole.
 */
import { labelRoute } from '../http/index.js'
import { isValidName, parseDigest, type UploadSession } from '../images/index.js'
import type { Ctx, RegistryApiOptions } from './context.js'
import { RegistryError } from './errors.js'
import { contentLength, pushTarget, requestBody, writeName, writing } from './write-common.js'

const CONTENT_RANGE_RE = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/

const uploadUrl = (name: string, id: string): string => `/v2/${name}/blobs/uploads/${id}`
const blobUrl = (name: string, digest: string): string => `/v2/${name}/blobs/${digest}`
/** What distribution sends: the last byte held, `0-0` for none. */
const rangeOf = (size: number): string => `0-${Math.max(size - 1, 0)}`

/** The chunk a Content-Range names (start, byte count); undefined without the header. */
const chunkRange = (c: Ctx): { offset: number; length: number } | undefined => {
  const v = c.req.header('content-range')
  if (v === undefined) return undefined
  const m = CONTENT_RANGE_RE.exec(v.trim())
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', { 'content-range': v }, { message: 'Content-Range is not <start>-<end>' })
  const start = Number(m[1])
  const end = Number(m[2])
  if (end < start)
    throw new RegistryError('BLOB_UPLOAD_INVALID', { 'content-range': v }, { message: 'Content-Range ends before it starts', status: 416 })
  return { offset: start, length: end - start + 1 }
}

/** How many bytes the request says it carries: Content-Range and Content-Length must agree. */
const announced = (c: Ctx): { offset?: number; length?: number } => {
  const range = chunkRange(c)
  const length = contentLength(c)
  if (range && length !== undefined && range.length !== length) {
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      { 'content-range': c.req.header('content-range'), 'content-length': length },
      { message: 'Content-Range and Content-Length disagree' },
    )
  }
  return { ...(range ? { offset: range.offset } : {}), ...(length !== undefined ? { length } : range ? { length: range.length } : {}) }
}

/** Whether the request carries a body (a length above 0, or one sent chunked). */
const hasBody = (c: Ctx): boolean => {
  const length = c.req.header('content-length')
  if (length !== undefined) return Number(length) > 0
  if (!c.env?.incoming) return c.req.raw.body !== null
  return c.req.header('transfer-encoding') !== undefined
}

const sessionHeaders = (c: Ctx, name: string, s: UploadSession): void => {
  c.header('Location', uploadUrl(name, s.id))
  c.header('Range', rangeOf(s.size))
  c.header('Docker-Upload-UUID', s.id)
  c.header('Content-Length', '0')
}

const committed = (c: Ctx, name: string, digest: string): Response => {
  c.header('Location', blobUrl(name, digest))
  c.header('Docker-Content-Digest', digest)
  c.header('Content-Length', '0')
  return c.body(null, 201)
}

export const uploadHandlers = (options: RegistryApiOptions) => {
  const { logger } = options

  const session = async (name: string, id: string): Promise<UploadSession> => {
    const s = await writing(() => pushTarget(options).resumeUpload(name, id))
    if (!s) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { id })
    return s
  }

  const queryDigest = (c: Ctx, key: string) => {
    const raw = c.req.query(key)
    if (raw === undefined) return undefined
    const d = parseDigest(raw)
    if (!d) throw new RegistryError('DIGEST_INVALID', { [key]: raw }, { message: `${key} is not a digest` })
    return d
  }

  /** POST: a new session, a monolithic upload (`?digest=`) or a mount (`?mount=&from=`). */
  const start = async (c: Ctx, rawName: string): Promise<Response> => {
    const name = writeName(rawName)
    const push = pushTarget(options)
    const mount = queryDigest(c, 'mount')
    const from = c.req.query('from')
    // Without `from` nothing is mounted (the spec's automatic mount is not done): a session is opened.
    if (mount && from) {
      // Nor from a name that is no repository name.
      const mounted = isValidName(from) ? await writing(() => push.mount(name, mount, from)) : null
      if (mounted) {
        logger.debug({ repository: name, from, digest: mount.value }, 'blob mounted')
        return committed(c, name, mount.value)
      }
    }
    const digest = queryDigest(c, 'digest')
    const s = await writing(() => push.startUpload(name))
    if (digest) {
      try {
        await writing(() => s.append(requestBody(c), announced(c)))
      } catch (err) {
        await s.cancel().catch(() => undefined)
        throw err
      }
      await writing(() => s.commit(digest))
      return committed(c, name, digest.value)
    }
    sessionHeaders(c, name, s)
    return c.body(null, 202)
  }

  const patch = async (c: Ctx, rawName: string, id: string): Promise<Response> => {
    const name = writeName(rawName)
    const s = await session(name, id)
    await writing(() => s.append(requestBody(c), announced(c)))
    sessionHeaders(c, name, s)
    return c.body(null, 202)
  }

  const finish = async (c: Ctx, rawName: string, id: string): Promise<Response> => {
    const name = writeName(rawName)
    const raw = c.req.query('digest')
    const digest = raw === undefined ? undefined : parseDigest(raw)
    if (!digest)
      throw new RegistryError(
        'DIGEST_INVALID',
        { digest: raw ?? null },
        { message: raw === undefined ? 'the digest parameter is required' : 'digest is not a digest' },
      )
    const s = await session(name, id)
    if (hasBody(c)) await writing(() => s.append(requestBody(c), announced(c)))
    await writing(() => s.commit(digest))
    return committed(c, name, digest.value)
  }

  const status = async (c: Ctx, rawName: string, id: string): Promise<Response> => {
    const name = writeName(rawName)
    const s = await session(name, id)
    sessionHeaders(c, name, s)
    return c.body(null, 204)
  }

  const cancel = async (c: Ctx, rawName: string, id: string): Promise<Response> => {
    const name = writeName(rawName)
    const s = await session(name, id)
    await writing(() => s.cancel())
    c.header('Content-Length', '0')
    return c.body(null, 204)
  }

  /** Routes a request below `/v2/<name>/blobs/uploads/`; `rest` is what follows (the session id, or ''). */
  return async (c: Ctx, name: string, rest: string, mayWrite: boolean): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.upload')
    const method = c.req.method
    const read = method === 'GET' || method === 'HEAD'
    if (!read && !mayWrite)
      throw new RegistryError(
        'UNSUPPORTED',
        { method },
        { message: 'this registry is read-only here: push is not enabled', headers: { Allow: 'GET, HEAD' } },
      )
    if (rest === '') {
      if (method === 'POST') return start(c, name)
      c.header('Allow', 'POST')
      throw new RegistryError('UNSUPPORTED', { method }, { message: 'start an upload with POST' })
    }
    if (rest.includes('/')) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { id: rest })
    // The status of a session is a read: its unguessable id is what grants it.
    if (read) return status(c, name, rest)
    if (method === 'PATCH') return patch(c, name, rest)
    if (method === 'PUT') return finish(c, name, rest)
    if (method === 'DELETE') return cancel(c, name, rest)
    c.header('Allow', 'GET, HEAD, PATCH, PUT, DELETE')
    throw new RegistryError('UNSUPPORTED', { method })
  }
}
