/**
 * Repository names and tags as archives carry them (`RepoTags` of
 * `docker save`, `io.containerd.image.name` and
 * `org.opencontainers.image.ref.name` annotations), normalised the way
 * Docker names work: `docker.io/` (and its aliases) is dropped, a one-part
 * Docker Hub name gets `library/`, another registry host stays as the first
 * path segment (where the upstream-name rules look for it) and is
 * lower-cased. `busybox:1.36` → `library/busybox` `1.36`;
 * `registry.k8s.io/pause:3.9` → `registry.k8s.io/pause` `3.9`.
 */
import { isValidName, isValidTag, looksLikeHost } from './deps.js'

export interface ImageName {
  /** Repository, normalised. */
  name: string
  tag?: string
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

/** A full reference `[host/]path[:tag][@digest]`, normalised. A digest is dropped: the archive's bytes decide the digest. */
export const parseImageReference = (ref: string): Parsed<ImageName> => {
  let rest = ref.trim()
  const at = rest.indexOf('@')
  if (at >= 0) rest = rest.slice(0, at)
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
  }
  const parts = rest.split('/')
  let host: string | undefined
  if (parts.length > 1 && looksLikeHost(parts[0]!)) host = parts.shift()!.toLowerCase()
  if (host !== undefined && DOCKER_HUB_ALIASES.has(host)) host = undefined
  if (host === undefined && parts.length === 1) parts.unshift('library')
  const name = [...(host === undefined ? [] : [host]), ...parts].join('/')
  if (!isValidName(name)) return { ok: false, error: `${JSON.stringify(ref)} does not give a valid repository name (${name})` }
  if (tag !== undefined && !isValidTag(tag)) return { ok: false, error: `${JSON.stringify(ref)} does not give a valid tag` }
  return { ok: true, value: tag === undefined ? { name } : { name, tag } }
}

/**
 * `org.opencontainers.image.ref.name`: image-spec allows a full reference,
 * but most writers (skopeo `oci:DIR:TAG`, containerd, `docker save`) put a
 * tag alone. A value with `/` or `:` is read as a full reference, anything
 * else as a tag.
 */
export const parseRefName = (value: string): Parsed<{ name?: string; tag?: string }> => {
  if (value.includes('/') || value.includes(':')) return parseImageReference(value)
  if (!isValidTag(value)) return { ok: false, error: `${JSON.stringify(value)} is not a valid tag` }
  return { ok: true, value: { tag: value } }
}
