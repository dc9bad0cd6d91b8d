/**
 * Accept negotiation for manifests.
 *
 * Rule: the stored bytes are served as they are. The one exception, as
 * registry:2 does for clients that predate manifest lists: a manifest asked
 * for *by tag* whose stored type is an index or manifest list, from a client
 * whose Accept names at least one manifest type but no list type (and no
 * wildcard), is answered with the index's linux/amd64 child instead. A client
 * that sends no Accept, or `*` `/` `*`, gets the stored bytes.
 */
import { LIST_TYPES, MANIFEST_TYPES, type Descriptor } from '../images/index.js'

/** The media types a client names in Accept, read by the shared parser (q is not weighed: registry:2 does not). */
export { acceptedTypes } from '../http/accept.js'

export const wantsPlatformChild = (storedType: string, accepts: readonly string[]): boolean => {
  if (!LIST_TYPES.has(storedType)) return false
  if (accepts.length === 0) return false
  if (accepts.some((a) => a === '*/*' || a === 'application/*' || LIST_TYPES.has(a))) return false
  return accepts.some((a) => MANIFEST_TYPES.has(a))
}

export const DEFAULT_PLATFORM = { os: 'linux', architecture: 'amd64' } as const

/** The child of an index for linux/amd64, as registry:2 picks it. */
export const pickDefaultPlatform = (manifests: readonly Descriptor[]): Descriptor | undefined =>
  manifests.find((d) => d.platform?.os === DEFAULT_PLATFORM.os && d.platform?.architecture === DEFAULT_PLATFORM.architecture)
