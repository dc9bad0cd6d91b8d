/**
 * Names, tags and digests (distribution-spec "Pulling manifests" grammar).
 * Pure functions, no I/O.
 */

/** One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`. */
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*'
export const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`)
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/
/** registry:2 limits the whole name to 255 characters. */
export const NAME_MAX = 255

const DIGEST_GENERIC_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
/** Registered algorithms (image-spec descriptor.md) and their hex lengths. */
const DIGEST_ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 }

export const isValidName = (name: string): boolean => name.length <= NAME_MAX && NAME_RE.test(name)
export const isValidTag = (tag: string): boolean => TAG_RE.test(tag)

/** A registry host as containerd sends it in `ns`: a domain or bracketed IPv6 address, optional port. */
const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/
export const isValidHost = (host: string): boolean => host.length <= NAME_MAX && HOST_RE.test(host)

export interface Digest {
  algorithm: string
  hex: string
  /** `algorithm:hex` */
  value: string
}

/** Parses a digest of a registered algorithm; anything else is undefined. */
export const parseDigest = (value: string): Digest | undefined => {
  if (!DIGEST_GENERIC_RE.test(value)) return undefined
  const colon = value.indexOf(':')
  const algorithm = value.slice(0, colon)
  const hex = value.slice(colon + 1)
  const len = DIGEST_ALGORITHMS[algorithm]
  if (len === undefined || hex.length !== len || !/^[a-f0-9]+$/.test(hex)) return undefined
  return { algorithm, hex, value }
}

export type Reference = { kind: 'tag'; tag: string } | { kind: 'digest'; digest: Digest }

export type ReferenceError = 'DIGEST_INVALID' | 'TAG_INVALID'

/** A manifest reference is a tag or a digest; a colon means digest. */
export const parseReference = (value: string): Reference | ReferenceError => {
  if (value.includes(':')) {
    const digest = parseDigest(value)
    return digest ? { kind: 'digest', digest } : 'DIGEST_INVALID'
  }
  return isValidTag(value) ? { kind: 'tag', tag: value } : 'TAG_INVALID'
}
