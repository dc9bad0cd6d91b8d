/**
 * The pull side of the OCI distribution API (distribution-spec v1.1) over
 * the image stores. Handlers are thin: validate, resolve the name, ask the
 * store, send. Errors are thrown as RegistryError and written by the one
 * error handler the server installs (see errors.ts).
 */
import { Hono, type Context } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import type { Logger } from 'pino'
import {
  labelRoute,
  sendRepresentation,
  unsatisfiedRange,
  type Representation,
  type RepresentationAnswers,
} from '../http/index.js'
import {
  OCI_INDEX,
  artifactTypeOf,
  isValidName,
  parseDigest,
  parseReference,
  type Descriptor,
  type Digest,
  type ImageStore,
  type ImageStores,
  type NameResolver,
  type StoredManifest,
} from '../images/index.js'
import { registryAccess, type RegistryAccessOptions } from './access.js'
import { RegistryError } from './errors.js'
import { acceptedTypes, pickDefaultPlatform, wantsPlatformChild } from './negotiate.js'
import { parseV2Path } from './paths.js'

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version'
export const API_VERSION = 'registry/2.0'

export interface RegistryApiOptions {
  stores: ImageStores
  resolver: NameResolver
  logger: Logger
  /** Called once per blob body sent (GET, 200 or 206). */
  onBlobServed?: (digest: string, bytes: number) => void
  /** Who may write (access.ts); by default the push listener on loopback only. */
  access?: Omit<RegistryAccessOptions, 'logger'>
}

type Env = { Bindings: HttpBindings }
type Ctx = Context<Env>

interface Located {
  store: ImageStore
  /** The stored repository name the request resolved to. */
  repository: string
}

/** `n` and `last` of tags/list and _catalog (distribution-spec "Listing Tags"). */
export interface Page {
  n: number | undefined
  last: string | undefined
}

export const parsePage = (n: string | undefined, last: string | undefined): Page => {
  let count: number | undefined
  if (n !== undefined && n !== '') {
    if (!/^\d{1,9}$/.test(n)) throw new RegistryError('PAGINATION_NUMBER_INVALID', { n })
    count = Number(n)
  }
  return { n: count, last: last || undefined }
}

/** Applies a page to a sorted list; `next` is set when entries remain. */
export const paginate = (items: readonly string[], page: Page): { items: string[]; next?: string } => {
  let start = 0
  if (page.last !== undefined) {
    start = items.findIndex((i) => i > page.last!)
    if (start < 0) start = items.length
  }
  if (page.n === undefined) return { items: items.slice(start) }
  const slice = items.slice(start, start + page.n)
  const more = start + page.n < items.length && slice.length > 0
  return more ? { items: slice, next: slice[slice.length - 1]! } : { items: slice }
}

const linkHeader = (path: string, n: number, last: string): string =>
  `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`

const blobEtag = (digest: string): string => `"${digest}"`

interface BlobRepresentation extends Representation {
  digest: string
}

export const registryApi = (options: RegistryApiOptions): Hono<Env> => {
  const { stores, resolver, logger } = options
  const app = new Hono<Env>()

  // A blob's 304 and 412 carry every header of its 200 and no body; its 416 is an OCI error.
  const blobAnswers: RepresentationAnswers<BlobRepresentation> = {
    notModified: (blob) => new Response(null, { status: 304, headers: blob.headers }),
    preconditionFailed: (blob) => new Response(null, { status: 412, headers: blob.headers }),
    rangeNotSatisfiable: (_blob, range, size) => {
      throw new RegistryError('RANGE_INVALID', { range, size }, { headers: { 'Content-Range': unsatisfiedRange(size) } })
    },
    onBody: (blob, length) => options.onBlobServed?.(blob.digest, length),
  }

  // A manifest's 304 and 412 carry its identifying headers and no body; it is always sent whole.
  const manifestAnswers: RepresentationAnswers<Representation> = {
    notModified: (m) => new Response(null, { status: 304, headers: m.headers }),
    preconditionFailed: (m) => new Response(null, { status: 412, headers: m.headers }),
    rangeNotSatisfiable: () => {
      throw new Error('a manifest is sent whole: no range applies')
    },
  }

  const locate = async (c: Ctx, name: string): Promise<Located> => {
    if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name })
    const ns = c.req.query('ns') || undefined
    for (const candidate of resolver.candidates({ name, ns })) {
      const store = await stores.locate(candidate)
      if (store) {
        logger.debug({ name, ns, repository: candidate, store: store.label }, 'resolved repository')
        return { store, repository: candidate }
      }
    }
    logger.debug({ name, ns }, 'repository not found')
    throw new RegistryError('NAME_UNKNOWN', { name, ...(ns ? { ns } : {}) })
  }

  const loadManifest = async (loc: Located, digest: Digest): Promise<StoredManifest> => {
    const result = await loc.store.readManifest(digest)
    if (result.ok) return result.manifest
    if (result.reason !== 'missing') {
      logger.error({ repository: loc.repository, digest: digest.value, reason: result.reason, store: loc.store.label }, 'stored manifest refused')
    }
    throw new RegistryError('MANIFEST_UNKNOWN', { digest: digest.value })
  }

  const common = (c: Ctx): void => {
    c.header(API_VERSION_HEADER, API_VERSION)
  }

  const serveManifest = async (c: Ctx, name: string, reference: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.manifest')
    const ref = parseReference(reference)
    if (ref === 'DIGEST_INVALID') throw new RegistryError('DIGEST_INVALID', { digest: reference }, { message: 'invalid digest' })
    if (ref === 'TAG_INVALID') throw new RegistryError('TAG_INVALID', { tag: reference }, { message: 'invalid tag' })
    const loc = await locate(c, name)
    let manifest: StoredManifest
    if (ref.kind === 'tag') {
      const digest = await loc.store.resolveTag(loc.repository, ref.tag)
      if (!digest) throw new RegistryError('MANIFEST_UNKNOWN', { tag: ref.tag })
      manifest = await loadManifest(loc, digest)
      if (wantsPlatformChild(manifest.info.mediaType, acceptedTypes(c.req.header('accept')))) {
        const child = pickDefaultPlatform(manifest.info.manifests ?? [])
        const childDigest = child && parseDigest(child.digest)
        if (!childDigest) {
          throw new RegistryError('MANIFEST_UNKNOWN', { tag: ref.tag, reason: 'index has no linux/amd64 manifest and the client accepts no index' })
        }
        manifest = await loadManifest(loc, childDigest)
      }
    } else {
      if (!(await loc.store.hasManifest(loc.repository, ref.digest))) {
        throw new RegistryError('MANIFEST_UNKNOWN', { digest: ref.digest.value })
      }
      manifest = await loadManifest(loc, ref.digest)
    }
    const etag = blobEtag(manifest.digest.value)
    const headers: Record<string, string> = {
      [API_VERSION_HEADER]: API_VERSION,
      'Docker-Content-Digest': manifest.digest.value,
      ETag: etag,
      'Content-Type': manifest.info.mediaType,
    }
    return sendRepresentation(c, { etag, headers, body: manifest.bytes, ranges: false }, manifestAnswers)
  }

  const serveBlob = async (c: Ctx, name: string, rawDigest: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.blob')
    const digest = parseDigest(rawDigest)
    if (!digest) throw new RegistryError('DIGEST_INVALID', { digest: rawDigest }, { message: 'invalid digest' })
    const loc = await locate(c, name)
    const file = await loc.store.open(loc.repository, digest)
    if (!file) throw new RegistryError('BLOB_UNKNOWN', { digest: digest.value })
    const etag = blobEtag(digest.value)
    const headers: Record<string, string> = {
      [API_VERSION_HEADER]: API_VERSION,
      'Docker-Content-Digest': digest.value,
      ETag: etag,
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'max-age=31536000',
      'Content-Type': 'application/octet-stream',
    }
    return sendRepresentation(c, { etag, headers, body: file, digest: digest.value }, blobAnswers)
  }

  const serveTags = async (c: Ctx, name: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.tags')
    const page = parsePage(c.req.query('n'), c.req.query('last'))
    const loc = await locate(c, name)
    const tags = (await loc.store.tags(loc.repository)) ?? []
    const { items, next } = paginate(tags, page)
    if (next !== undefined) c.header('Link', linkHeader(`/v2/${name}/tags/list`, page.n!, next))
    return c.json({ name, tags: items })
  }

  const serveCatalog = async (c: Ctx): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.catalog')
    const page = parsePage(c.req.query('n'), c.req.query('last'))
    const { items, next } = paginate(await stores.repositories(), page)
    if (next !== undefined) c.header('Link', linkHeader('/v2/_catalog', page.n!, next))
    return c.json({ repositories: items })
  }

  const serveReferrers = async (c: Ctx, name: string, rawDigest: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.referrers')
    const subject = parseDigest(rawDigest)
    if (!subject) throw new RegistryError('DIGEST_INVALID', { digest: rawDigest }, { message: 'invalid digest' })
    const loc = await locate(c, name)
    const wanted = c.req.query('artifactType')
    const found: Descriptor[] = []
    for (const digest of await loc.store.manifestDigests(loc.repository)) {
      const result = await loc.store.readManifest(digest)
      if (!result.ok || result.manifest.info.subject?.digest !== subject.value) continue
      const { info, bytes } = result.manifest
      const artifactType = artifactTypeOf(info)
      if (wanted && artifactType !== wanted) continue
      found.push({
        mediaType: info.mediaType,
        digest: digest.value,
        size: bytes.length,
        ...(artifactType ? { artifactType } : {}),
        ...(info.annotations ? { annotations: info.annotations } : {}),
      })
    }
    found.sort((a, b) => (a.digest < b.digest ? -1 : 1))
    if (wanted) c.header('OCI-Filters-Applied', 'artifactType')
    c.header('Content-Type', OCI_INDEX)
    return c.body(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: found }), 200)
  }

  const READ_METHODS = new Set(['GET', 'HEAD'])

  const dispatch = async (c: Ctx): Promise<Response> => {
    common(c)
    // The raw request target, not the WHATWG-normalised URL: `/v2/a/../b` and
    // `/v2/a/%2e%2e/b` must reach the name grammar as sent and be refused.
    let raw = c.env?.incoming?.url ?? new URL(c.req.url).pathname
    if (!raw.startsWith('/')) raw = new URL(raw, 'http://absolute-form').pathname
    const q = raw.indexOf('?')
    const pathname = q >= 0 ? raw.slice(0, q) : raw
    const rest = pathname === '/v2' ? '' : pathname.slice('/v2/'.length)
    const route = parseV2Path(rest)
    if (route.kind === 'upload') {
      labelRoute(c.env?.incoming, 'v2.upload')
      throw new RegistryError('UNSUPPORTED', { method: c.req.method }, { message: 'this registry is read-only: push is not enabled' })
    }
    if (!READ_METHODS.has(c.req.method)) {
      labelRoute(c.env?.incoming, 'v2.write')
      c.header('Allow', 'GET, HEAD')
      throw new RegistryError('UNSUPPORTED', { method: c.req.method }, { message: 'this registry is read-only' })
    }
    switch (route.kind) {
      case 'base':
        labelRoute(c.env?.incoming, 'v2.base')
        return c.json({})
      case 'catalog':
        return serveCatalog(c)
      case 'tags':
        return serveTags(c, route.name)
      case 'manifest':
        return serveManifest(c, route.name, route.reference)
      case 'blob':
        return serveBlob(c, route.name, route.digest)
      case 'referrers':
        return serveReferrers(c, route.name, route.digest)
      case 'unknown':
        labelRoute(c.env?.incoming, 'v2.unknown')
        throw new RegistryError('NOT_FOUND', { path: pathname })
    }
  }

  // Who may write, in front of every route below ('/v2/*' matches '/v2' too).
  app.use('/v2/*', registryAccess({ htpasswd: null, pushOnLoopback: true, ...options.access, logger }))
  app.all('/v2', dispatch)
  app.all('/v2/*', dispatch)
  return app
}
