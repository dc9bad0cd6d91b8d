/**
 * Manifest push (distribution-spec "Pushing Manifests") and content
 * management (deletes of manifests, tags and blobs, when `registry.delete`
 * allows them), into the push root.
 *
 * A manifest is stored as sent, byte for byte. Its media type is its
 * `mediaType` field; a body without one is read by its shape (`manifests`:
 * an index, else an image manifest), as docker-registry reads it back, and
 * the Content-Type it was sent with must agree, so what is served later
 * carries the type it was pushed with, here and from docker-registry over
 * the same tree.
 */
import { createHash } from 'node:crypto'
import { labelRoute } from '../http/index.js'
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  MANIFEST_MAX_BYTES,
  MANIFEST_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
  parseDigest,
  parseManifest,
  parseReference,
  type ManifestInfo,
} from '../images/index.js'
import type { Ctx, RegistryApiOptions } from './context.js'
import { RegistryError } from './errors.js'
import { contentLength, pushTarget, requestBody, writeName, writing } from './write-common.js'

/** The manifest types a push may store (Docker schema 1 is refused, as docker-registry 2.8 does by default). */
const PUSHABLE: ReadonlySet<string> = new Set([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])
const IMAGE_TYPES: ReadonlySet<string> = new Set([OCI_MANIFEST, DOCKER_MANIFEST])

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const invalid = (message: string, detail?: unknown): RegistryError => new RegistryError('MANIFEST_INVALID', detail, { message })

/**
 * Reads at most `limit` bytes of the body; null when it is longer. The rest
 * of a longer body is read and dropped (up to a bound), so the client gets
 * the answer rather than a reset connection.
 */
const readLimited = async (body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer | null> => {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.byteLength
    if (size > 4 * limit) return null
    if (size <= limit) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
  }
  return size > limit ? null : Buffer.concat(chunks, size)
}

const checkDescriptor = (d: unknown, where: string): void => {
  if (!isObject(d)) throw invalid(`${where} is not a descriptor`)
  if (typeof d.digest !== 'string' || !parseDigest(d.digest)) throw invalid(`${where} has no valid digest`, { digest: d.digest ?? null })
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where} has no valid size`)
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(`${where} has no mediaType`)
}

/**
 * Checks a pushed manifest and answers how it will be read back. Refused
 * (MANIFEST_INVALID): bytes that are not a JSON object of schemaVersion 2, a
 * type this registry does not store, a Content-Type that contradicts the
 * body, malformed descriptors.
 */
export const checkPushedManifest = (bytes: Buffer, contentType: string | undefined): ManifestInfo => {
  let doc: unknown
  try {
    doc = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw invalid('manifest is not JSON')
  }
  if (!isObject(doc)) throw invalid('manifest is not a JSON object')
  if (doc.schemaVersion !== 2)
    throw invalid('only schemaVersion 2 manifests are stored (Docker schema 1 is not)', { schemaVersion: doc.schemaVersion ?? null })
  const sent = contentType?.split(';', 1)[0]!.trim().toLowerCase()
  const declared = MANIFEST_TYPES.has(sent ?? '') ? sent : undefined
  const info = parseManifest(bytes)
  if (!info) throw invalid('manifest has neither mediaType, manifests nor config')
  if (typeof doc.mediaType === 'string') {
    if (declared && declared !== doc.mediaType)
      throw invalid(`Content-Type ${declared} does not match the manifest's mediaType ${doc.mediaType}`)
  } else if (doc.mediaType !== undefined) {
    throw invalid('mediaType is not a string')
  } else if (declared && declared !== info.mediaType) {
    throw invalid(`the manifest has no mediaType and reads as ${info.mediaType}, not the Content-Type ${declared}`)
  }
  if (!PUSHABLE.has(info.mediaType)) throw invalid(`manifest type ${info.mediaType} is not stored here`, { mediaType: info.mediaType })
  if (IMAGE_TYPES.has(info.mediaType)) {
    checkDescriptor(doc.config, 'config')
    if (!Array.isArray(doc.layers)) throw invalid('layers is not a list')
    doc.layers.forEach((l, i) => checkDescriptor(l, `layers[${i}]`))
  } else {
    if (!Array.isArray(doc.manifests)) throw invalid('manifests is not a list')
    doc.manifests.forEach((m, i) => checkDescriptor(m, `manifests[${i}]`))
  }
  if (doc.subject !== undefined) checkDescriptor(doc.subject, 'subject')
  return info
}

export const writeHandlers = (options: RegistryApiOptions) => {
  const { logger } = options

  const putManifest = async (c: Ctx, rawName: string, reference: string): Promise<Response> => {
    const name = writeName(rawName)
    const ref = parseReference(reference)
    if (ref === 'DIGEST_INVALID') throw new RegistryError('DIGEST_INVALID', { digest: reference }, { message: 'invalid digest' })
    if (ref === 'TAG_INVALID') throw new RegistryError('TAG_INVALID', { tag: reference }, { message: 'invalid tag' })
    const push = pushTarget(options)
    const tooLarge = (): RegistryError =>
      new RegistryError(
        'SIZE_INVALID',
        { limit: MANIFEST_MAX_BYTES },
        { message: `manifests are limited to ${MANIFEST_MAX_BYTES} bytes`, status: 413 },
      )
    const length = contentLength(c)
    if (length !== undefined && length > MANIFEST_MAX_BYTES) throw tooLarge()
    const bytes = await readLimited(requestBody(c), MANIFEST_MAX_BYTES)
    if (!bytes) throw tooLarge()
    if (length !== undefined && bytes.length !== length)
      throw new RegistryError('SIZE_INVALID', { received: bytes.length, announced: length })
    const algorithm = ref.kind === 'digest' ? ref.digest.algorithm : 'sha256'
    const digest = parseDigest(`${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`)!
    if (ref.kind === 'digest' && ref.digest.value !== digest.value) {
      throw new RegistryError(
        'DIGEST_INVALID',
        { reference: ref.digest.value, actual: digest.value },
        { message: 'the manifest does not match the digest it was pushed under' },
      )
    }
    const info = checkPushedManifest(bytes, c.req.header('content-type'))
    await writing(() => push.putManifest(name, digest, bytes, ref.kind === 'tag' ? ref.tag : undefined))
    logger.info(
      { repository: name, digest: digest.value, tag: ref.kind === 'tag' ? ref.tag : undefined, mediaType: info.mediaType },
      'manifest pushed',
    )
    c.header('Location', `/v2/${name}/manifests/${digest.value}`)
    c.header('Docker-Content-Digest', digest.value)
    if (info.subject) c.header('OCI-Subject', info.subject.digest)
    c.header('Content-Length', '0')
    return c.body(null, 201)
  }

  const deletesAllowed = (c: Ctx, allow: string): void => {
    if (options.deletes) return
    c.header('Allow', allow)
    throw new RegistryError('UNSUPPORTED', { method: 'DELETE' }, { message: 'deletes are not enabled (registry.delete)' })
  }

  /** A delete of a repository no store holds answers NAME_UNKNOWN. */
  const known = async (name: string): Promise<void> => {
    if (!(await options.stores.locate(name))) throw new RegistryError('NAME_UNKNOWN', { name })
  }

  const accepted = (c: Ctx): Response => {
    c.header('Content-Length', '0')
    return c.body(null, 202)
  }

  const deleteManifest = async (c: Ctx, rawName: string, reference: string): Promise<Response> => {
    deletesAllowed(c, 'GET, HEAD, PUT')
    const name = writeName(rawName)
    const ref = parseReference(reference)
    if (ref === 'DIGEST_INVALID') throw new RegistryError('DIGEST_INVALID', { digest: reference }, { message: 'invalid digest' })
    if (ref === 'TAG_INVALID')
      throw new RegistryError('MANIFEST_UNKNOWN', { tag: reference }, { message: 'manifest unknown: not a valid tag' })
    const push = pushTarget(options)
    await known(name)
    if (ref.kind === 'tag') await writing(() => push.deleteTag(name, ref.tag), 'MANIFEST_UNKNOWN')
    else await writing(() => push.deleteManifest(name, ref.digest), 'MANIFEST_UNKNOWN')
    logger.info({ repository: name, reference }, 'manifest deleted')
    return accepted(c)
  }

  const deleteBlob = async (c: Ctx, rawName: string, rawDigest: string): Promise<Response> => {
    deletesAllowed(c, 'GET, HEAD')
    const name = writeName(rawName)
    const digest = parseDigest(rawDigest)
    if (!digest) throw new RegistryError('DIGEST_INVALID', { digest: rawDigest }, { message: 'invalid digest' })
    const push = pushTarget(options)
    await known(name)
    await writing(() => push.deleteBlob(name, digest), 'BLOB_UNKNOWN')
    logger.info({ repository: name, digest: digest.value }, 'blob unlinked')
    return accepted(c)
  }

  /** Writes to `/v2/<name>/manifests/<reference>` and `/v2/<name>/blobs/<digest>`. */
  const manifest = (c: Ctx, name: string, reference: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.manifest')
    if (c.req.method === 'PUT') return putManifest(c, name, reference)
    if (c.req.method === 'DELETE') return deleteManifest(c, name, reference)
    c.header('Allow', options.deletes ? 'GET, HEAD, PUT, DELETE' : 'GET, HEAD, PUT')
    throw new RegistryError('UNSUPPORTED', { method: c.req.method })
  }

  const blob = (c: Ctx, name: string, digest: string): Promise<Response> => {
    labelRoute(c.env?.incoming, 'v2.blob')
    if (c.req.method === 'DELETE') return deleteBlob(c, name, digest)
    c.header('Allow', options.deletes ? 'GET, HEAD, DELETE' : 'GET, HEAD')
    throw new RegistryError('UNSUPPORTED', { method: c.req.method })
  }

  return { manifest, blob }
}
