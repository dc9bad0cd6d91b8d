/**
 * The registry:2 filesystem layout, in one place (as distribution's
 * registry/storage/paths.go): the reader (registry2.ts) and the writer
 * (writers.ts) both build their paths here. Under `<root>/docker/registry/v2`:
 *
 *   blobs/<alg>/<hex[0:2]>/<hex>/data                       content, manifests included
 *   repositories/<name>/                                    name may nest: library/calico/node
 *     _manifests/tags/<tag>/current/link                    "sha256:<hex>"
 *     _manifests/tags/<tag>/index/<alg>/<hex>/link          tag history
 *     _manifests/revisions/<alg>/<hex>/link                 manifests of the repository
 *     _layers/<alg>/<hex>/link                              blobs linked to the repository
 *     _uploads/<id>/data                                    bytes of an upload in progress
 *     _uploads/<id>/startedat                               when it started (RFC 3339)
 *
 * A repository is any directory holding `_manifests` or `_layers` (as
 * docker-registry's catalog finds them by `_layers`); folders whose names
 * start with `_` are never part of a repository name. Names, tags and
 * digests are validated before they reach a path here (grammar.ts), so no
 * component can be `..`.
 */
import { existsSync } from 'node:fs'
import { join, relative, sep } from 'node:path'

export const REGISTRY2_SUBDIR = join('docker', 'registry', 'v2')

/** Accepts either the registry root (holding docker/registry/v2) or the v2 folder itself. */
export const registry2Base = (root: string): string => {
  const nested = join(root, REGISTRY2_SUBDIR)
  if (existsSync(nested)) return nested
  if (existsSync(join(root, 'repositories')) || existsSync(join(root, 'blobs'))) return root
  return nested
}

/** The parts of a digest a path needs. */
export interface DigestParts {
  algorithm: string
  hex: string
}

export type Registry2PathSpec =
  | { kind: 'blobs' }
  | { kind: 'blobData'; digest: DigestParts }
  | { kind: 'repositories' }
  | { kind: 'repository'; name: string }
  | { kind: 'manifests'; name: string }
  | { kind: 'tags'; name: string }
  | { kind: 'tag'; name: string; tag: string }
  | { kind: 'tagCurrentLink'; name: string; tag: string }
  | { kind: 'tagIndexLink'; name: string; tag: string; digest: DigestParts }
  | { kind: 'revisions'; name: string }
  | { kind: 'revision'; name: string; digest: DigestParts }
  | { kind: 'revisionLink'; name: string; digest: DigestParts }
  | { kind: 'layers'; name: string }
  | { kind: 'layer'; name: string; digest: DigestParts }
  | { kind: 'layerLink'; name: string; digest: DigestParts }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'uploadData'; name: string; id: string }
  | { kind: 'uploadStartedAt'; name: string; id: string }

/** The path of one thing in the tree whose v2 folder is `base`. */
export const pathFor = (base: string, spec: Registry2PathSpec): string => {
  switch (spec.kind) {
    case 'blobs':
      return join(base, 'blobs')
    case 'blobData':
      return join(base, 'blobs', spec.digest.algorithm, spec.digest.hex.slice(0, 2), spec.digest.hex, 'data')
    case 'repositories':
      return join(base, 'repositories')
    case 'repository':
      return join(base, 'repositories', spec.name)
    case 'manifests':
      return join(base, 'repositories', spec.name, '_manifests')
    case 'tags':
      return join(base, 'repositories', spec.name, '_manifests', 'tags')
    case 'tag':
      return join(base, 'repositories', spec.name, '_manifests', 'tags', spec.tag)
    case 'tagCurrentLink':
      return join(base, 'repositories', spec.name, '_manifests', 'tags', spec.tag, 'current', 'link')
    case 'tagIndexLink':
      return join(base, 'repositories', spec.name, '_manifests', 'tags', spec.tag, 'index', spec.digest.algorithm, spec.digest.hex, 'link')
    case 'revisions':
      return join(base, 'repositories', spec.name, '_manifests', 'revisions')
    case 'revision':
      return join(base, 'repositories', spec.name, '_manifests', 'revisions', spec.digest.algorithm, spec.digest.hex)
    case 'revisionLink':
      return join(base, 'repositories', spec.name, '_manifests', 'revisions', spec.digest.algorithm, spec.digest.hex, 'link')
    case 'layers':
      return join(base, 'repositories', spec.name, '_layers')
    case 'layer':
      return join(base, 'repositories', spec.name, '_layers', spec.digest.algorithm, spec.digest.hex)
    case 'layerLink':
      return join(base, 'repositories', spec.name, '_layers', spec.digest.algorithm, spec.digest.hex, 'link')
    case 'uploads':
      return join(base, 'repositories', spec.name, '_uploads')
    case 'upload':
      return join(base, 'repositories', spec.name, '_uploads', spec.id)
    case 'uploadData':
      return join(base, 'repositories', spec.name, '_uploads', spec.id, 'data')
    case 'uploadStartedAt':
      return join(base, 'repositories', spec.name, '_uploads', spec.id, 'startedat')
  }
}

/**
 * The digest a path under `blobs/` names (`<alg>/<hex[0:2]>/<hex>/data`,
 * relative to `blobs/`), as found: not validated. Undefined for anything
 * else.
 */
export const blobOfPath = (relPath: string): DigestParts | undefined => {
  const parts = relPath.split(sep)
  return parts.length === 4 && parts[3] === 'data' ? { algorithm: parts[0]!, hex: parts[2]! } : undefined
}

/** The repository a path under `repositories/` (relative to it) belongs to. */
export const repositoryOfPath = (relPath: string): string | undefined => {
  const parts = relPath.split(sep).join('/').split('/')
  const cut = parts.findIndex((p) => p.startsWith('_'))
  const name = (cut < 0 ? parts : parts.slice(0, cut)).join('/')
  return name || undefined
}

/** Whether a path under `repositories/` (relative to it, `/`-separated) is inside push state. */
export const isUploadPath = (relPath: string): boolean => relPath.split('/').includes('_uploads')

/** Folders of a repository tree that say nothing about tags (a tag watcher skips them). */
export const NON_TAG_FOLDERS: ReadonlySet<string> = new Set(['_layers', 'revisions', 'index', '_uploads'])

/** Relative path under `from`, with `/` separators. */
export const relativePosix = (from: string, path: string): string => relative(from, path).split(sep).join('/')
