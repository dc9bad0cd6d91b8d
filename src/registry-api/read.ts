/**
 * The pull side of the OCI distribution API (distribution-spec v1.1):
 * manifests, blobs, tags, the catalog and referrers. Handlers are thin:
 * validate, resolve the name to a repository view, ask it, send.
 */
import { labelRoute, sendRepresentation, unsatisfiedRange, type Representation, type RepresentationAnswers } from '../http/index.js'
import {
  OCI_INDEX,
  artifactTypeOf,
  isValidName,
  parseDigest,
  parseReference,
  type Descriptor,
  type Digest,
  type StoredManifest,
} from '../images/index.js'
import { API_VERSION, API_VERSION_HEADER, locator, type Ctx, type Located, type RegistryApiOptions } from './context.js'
import { RegistryError } from './errors.js'
import { acceptedTypes, pickDefaultPlatform, wantsPlatformChild } from './negotiate.js'

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

const linkHeader = (path: string, n: number, last: string): string => `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`

export const blobEtag = (digest: string): string => `"${digest}"`

interface BlobRepresentation extends Representation {
  digest: string
}

export const readHandlers = (options: RegistryApiOptions) => {
  const { stores, logger } = options
  const locate = locator(options)

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

  const loadManifest = async (loc: Located, digest: Digest): Promise<StoredManifest> => {
    const result = await loc.view.readManifest(digest)
    if (result.ok) return result.manifest
    if (result.reason !== 'missing') {
      logger.error(
        { repository: loc.repository, digest: digest.value, reason: result.reason, stores: loc.view.label },
        'stored manifest refused',
      )
    }
    throw new RegistryError('MANIFEST_UNKNOWN', { digest: digest.value })
  }

  const manifest = async (c: Ctx, name: string, reference: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.manifest')
    const ref = parseReference(reference)
    if (ref === 'DIGEST_INVALID') throw new RegistryError('DIGEST_INVALID', { digest: reference }, { message: 'invalid digest' })
    // No tag can have this name, so no manifest has it (distribution-spec: 404 for GET and HEAD).
    if (ref === 'TAG_INVALID')
      throw new RegistryError('MANIFEST_UNKNOWN', { tag: reference }, { message: 'manifest unknown: not a valid tag' })
    const loc = await locate(c, name)
    let found: StoredManifest
    if (ref.kind === 'tag') {
      const digest = await loc.view.resolveTag(ref.tag)
      if (!digest) throw new RegistryError('MANIFEST_UNKNOWN', { tag: ref.tag })
      found = await loadManifest(loc, digest)
      if (wantsPlatformChild(found.info.mediaType, acceptedTypes(c.req.header('accept')))) {
        const child = pickDefaultPlatform(found.info.manifests ?? [])
        const childDigest = child && parseDigest(child.digest)
        if (!childDigest) {
          throw new RegistryError('MANIFEST_UNKNOWN', {
            tag: ref.tag,
            reason: 'index has no linux/amd64 manifest and the client accepts no index',
          })
        }
        found = await loadManifest(loc, childDigest)
      }
    } else {
      if (!(await loc.view.hasManifest(ref.digest))) throw new RegistryError('MANIFEST_UNKNOWN', { digest: ref.digest.value })
      found = await loadManifest(loc, ref.digest)
    }
    const etag = blobEtag(found.digest.value)
    const headers: Record<string, string> = {
      [API_VERSION_HEADER]: API_VERSION,
      'Docker-Content-Digest': found.digest.value,
      ETag: etag,
      'Content-Type': found.info.mediaType,
    }
    return sendRepresentation(c, { etag, headers, body: found.bytes, ranges: false }, manifestAnswers)
  }

  const blob = async (c: Ctx, name: string, rawDigest: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.blob')
    const digest = parseDigest(rawDigest)
    if (!digest) throw new RegistryError('DIGEST_INVALID', { digest: rawDigest }, { message: 'invalid digest' })
    const loc = await locate(c, name)
    const file = await loc.view.open(digest)
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

  const tags = async (c: Ctx, name: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.tags')
    const page = parsePage(c.req.query('n'), c.req.query('last'))
    const loc = await locate(c, name)
    const { items, next } = paginate(await loc.view.tags(), page)
    if (next !== undefined) c.header('Link', linkHeader(`/v2/${name}/tags/list`, page.n!, next))
    return c.json({ name, tags: items })
  }

  const catalog = async (c: Ctx): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.catalog')
    const page = parsePage(c.req.query('n'), c.req.query('last'))
    const { items, next } = paginate(await stores.repositories(), page)
    if (next !== undefined) c.header('Link', linkHeader('/v2/_catalog', page.n!, next))
    return c.json({ repositories: items })
  }

  /** Always 200 for a well-formed digest: an unknown repository or subject has no referrers. */
  const referrers = async (c: Ctx, name: string, rawDigest: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.referrers')
    const subject = parseDigest(rawDigest)
    if (!subject) throw new RegistryError('DIGEST_INVALID', { digest: rawDigest }, { message: 'invalid digest' })
    if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name })
    const loc = await locate(c, name).catch((err: unknown) => {
      if (err instanceof RegistryError && err.code === 'NAME_UNKNOWN') return null
      throw err
    })
    const wanted = c.req.query('artifactType')
    const found: Descriptor[] = []
    for (const digest of loc ? await loc.view.manifestDigests() : []) {
      const result = await loc!.view.readManifest(digest)
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

  return { manifest, blob, tags, catalog, referrers }
}
