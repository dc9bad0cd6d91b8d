/**
 * Registry error codes, one table (distribution-spec "Error Codes"), and the
 * error type handlers throw. The single `app.onError` handler turns a
 * RegistryError into the spec's `{"errors":[…]}` body with the table's status.
 */

export const OCI_ERRORS = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Not in the OCI table, but registry:2 answers these and clients know them.
  TAG_INVALID: { status: 400, message: 'manifest tag did not match URI' },
  PAGINATION_NUMBER_INVALID: { status: 400, message: 'invalid number of results requested' },
  RANGE_INVALID: { status: 416, message: 'requested range not satisfiable' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const satisfies Record<string, { status: number; message: string }>

export type OciErrorCode = keyof typeof OCI_ERRORS

export class RegistryError extends Error {
  readonly code: OciErrorCode
  readonly status: number
  readonly detail: unknown
  /** Extra response headers (e.g. Content-Range on a 416). */
  readonly headers: Record<string, string>

  constructor(code: OciErrorCode, detail?: unknown, options: { message?: string; status?: number; headers?: Record<string, string> } = {}) {
    super(options.message ?? OCI_ERRORS[code].message)
    this.name = 'RegistryError'
    this.code = code
    this.status = options.status ?? OCI_ERRORS[code].status
    this.detail = detail
    this.headers = options.headers ?? {}
  }
}

export interface OciErrorBody {
  errors: Array<{ code: string; message: string; detail?: unknown }>
}

export const errorBody = (err: RegistryError): OciErrorBody => ({
  errors: [{ code: err.code, message: err.message, ...(err.detail === undefined ? {} : { detail: err.detail }) }],
})

/**
 * The response for a registry error: the JSON body, or for HEAD no body but
 * the Content-Length and Content-Type the body would have (as a GET's).
 */
export const errorResponse = (err: RegistryError, method: string, headers: Record<string, string> = {}): Response => {
  const text = JSON.stringify(errorBody(err))
  return new Response(method === 'HEAD' ? null : text, {
    status: err.status,
    headers: { ...headers, ...err.headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) },
  })
}
