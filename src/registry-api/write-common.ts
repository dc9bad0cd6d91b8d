/**
 * What the write handlers share: the push target, request bodies as byte
 * streams, and the mapping from a store's refusal to a registry error.
 */
import { ImageWriteError, isValidName, type PushTarget } from '../images/index.js'
import type { Ctx, RegistryApiOptions } from './context.js'
import { RegistryError, type OciErrorCode } from './errors.js'

/** The push target, or the read-only answer when there is none. */
export const pushTarget = (options: RegistryApiOptions): PushTarget => {
  const push = options.stores.push
  if (!push)
    throw new RegistryError('UNSUPPORTED', undefined, {
      message: 'this registry has no push root: it is read-only',
      headers: { Allow: 'GET, HEAD' },
    })
  return push
}

/** A repository name a write goes to: the name as sent (no upstream-name rules), checked. */
export const writeName = (name: string): string => {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name })
  return name
}

/** The request body as it arrives, never gathered whole (the Node request, or the Fetch body in tests). */
export const requestBody = (c: Ctx): AsyncIterable<Uint8Array> => {
  const incoming = c.env?.incoming
  if (incoming) return incoming
  const body = c.req.raw.body
  return body ? (body as unknown as AsyncIterable<Uint8Array>) : (async function* () {})()
}

/** Content-Length as a number; undefined when absent; a malformed one is a 400. */
export const contentLength = (c: Ctx): number | undefined => {
  const v = c.req.header('content-length')
  if (v === undefined) return undefined
  if (!/^\d{1,15}$/.test(v.trim()))
    throw new RegistryError('SIZE_INVALID', { 'content-length': v }, { message: 'malformed Content-Length' })
  return Number(v)
}

/** A store's refusal as the registry error a client expects; `notFound` names what a delete did not find. */
export const writeError = (err: unknown, notFound: OciErrorCode = 'MANIFEST_UNKNOWN'): unknown => {
  if (!(err instanceof ImageWriteError)) return err
  const detail = err.detail
  switch (err.kind) {
    case 'digest-mismatch':
      return new RegistryError('DIGEST_INVALID', detail, { message: err.message })
    case 'size-mismatch':
      return new RegistryError('SIZE_INVALID', detail, { message: err.message })
    case 'blob-unknown':
      return new RegistryError('MANIFEST_BLOB_UNKNOWN', detail, { message: err.message })
    case 'manifest-invalid':
      return new RegistryError('MANIFEST_INVALID', detail, { message: err.message })
    case 'manifest-too-large':
      return new RegistryError('SIZE_INVALID', detail, { message: err.message, status: 413 })
    case 'upload-unknown':
      return new RegistryError('BLOB_UPLOAD_UNKNOWN', detail, { message: err.message })
    case 'upload-range': {
      const size = Number(detail.size ?? 0)
      return new RegistryError('BLOB_UPLOAD_INVALID', detail, {
        message: err.message,
        status: 416,
        headers: { Range: `0-${Math.max(size - 1, 0)}` },
      })
    }
    case 'too-many-uploads':
      return new RegistryError('TOOMANYREQUESTS', detail, { message: err.message, headers: { 'Retry-After': '60' } })
    case 'not-found':
      return new RegistryError(notFound, detail, { message: err.message })
    case 'read-only':
      return new RegistryError('UNSUPPORTED', detail, { message: err.message, headers: { Allow: 'GET, HEAD' } })
  }
}

/** Runs a store write, answering its refusals as registry errors. */
export const writing = async <T>(job: () => Promise<T>, notFound?: OciErrorCode): Promise<T> => {
  try {
    return await job()
  } catch (err) {
    throw writeError(err, notFound)
  }
}
