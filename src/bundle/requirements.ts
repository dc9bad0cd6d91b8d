/**
 * What a cluster needs, in the forms operators already have:
 *
 * - images: kubespray's `images.list` (contrib/offline/generate_list.sh) and
 *   the output of `kubeadm config images list`: one image reference per line;
 * - files: kubespray's `files.list`: one URL per line;
 * - packages: OS package names, one or more per line; a `[apt]` or `[yum]`
 *   line (or an OS family: `[debian]`, `[ubuntu]`, `[rhel]`, `[centos]`, …)
 *   makes the names after it apply to that family's trees only.
 *
 * Blank lines and `#` comments are skipped everywhere, and so are the klog
 * warnings kubeadm prints when its output is captured with stderr.
 * Anything else that is not a requirement stops the check, naming the file
 * and line.
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { isValidName, isValidTag, normalizeUpstream, parseDigest } from '../images/index.js'

export type RequirementKind = 'image' | 'file' | 'package'
export type PackageFamily = 'apt' | 'yum'

export interface Requirement {
  kind: RequirementKind
  /** As written in the list. */
  text: string
  /** `images.list:3` */
  source: string
  /** Packages: the family of trees the name is looked up in (none: every tree). */
  family?: PackageFamily
}

/** A list that cannot be read or holds a line that is no requirement. */
export class RequirementsError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RequirementsError'
  }
}

export interface ImageRef {
  /** The upstream name as a bundle build would pull it: `registry.k8s.io/pause`, `docker.io/library/nginx`. */
  upstream: string
  /** Its registry host. */
  host: string
  /** The path under the host: `pause`, `library/nginx`. */
  path: string
  tag: string | null
  digest: string | null
}

/** An image reference (`[host/]path[:tag][@digest]`, a missing tag meaning `latest`), or why it is not one. */
export const parseImageRef = (text: string): ImageRef | string => {
  let rest = text.trim()
  if (!rest || /\s/.test(rest)) return 'not an image reference'
  let digest: string | null = null
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    if (!parseDigest(digest)) return `"${digest}" is not a digest`
    rest = rest.slice(0, at)
  }
  let tag: string | null = null
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!isValidTag(tag)) return `"${tag}" is not a tag`
  }
  if (!rest) return 'not an image reference'
  const upstream = normalizeUpstream(rest)
  const slash = upstream.indexOf('/')
  const host = upstream.slice(0, slash)
  const path = upstream.slice(slash + 1)
  if (!isValidName(path)) return `"${path}" is not a repository name`
  return { upstream, host, path, tag: tag ?? (digest ? null : 'latest'), digest }
}

export interface FileRef {
  /** The URL's host, or null for a path given as served (`/files/x`). */
  host: string | null
  /** Decoded path segments. */
  segments: string[]
}

/** A file URL (`https://dl.k8s.io/release/…/kubeadm`) or a served path (`/files/…`), or why it is neither. */
export const parseFileRef = (text: string): FileRef | string => {
  const t = text.trim()
  let host: string | null = null
  let pathname: string
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) {
    let url: URL
    try {
      url = new URL(t)
    } catch {
      return 'not a URL'
    }
    if (!['http:', 'https:', 'ftp:'].includes(url.protocol)) return `${url.protocol} URLs are not files`
    host = url.host.toLowerCase()
    pathname = url.pathname
  } else if (t.startsWith('/')) pathname = t.split('?')[0]!
  else return 'not a URL or a path'
  let segments: string[]
  try {
    segments = pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s))
  } catch {
    return 'the path is not valid percent-encoding'
  }
  if (!segments.length || segments.some((s) => s === '.' || s === '..' || s.includes('/') || s.includes('\u0000')))
    return 'the path names no file'
  return { host, segments }
}

const FAMILIES: Record<string, PackageFamily> = {
  apt: 'apt',
  deb: 'apt',
  debian: 'apt',
  ubuntu: 'apt',
  yum: 'yum',
  dnf: 'yum',
  rpm: 'yum',
  rhel: 'yum',
  redhat: 'yum',
  centos: 'yum',
  rocky: 'yum',
  almalinux: 'yum',
  alma: 'yum',
  fedora: 'yum',
  ol: 'yum',
  oraclelinux: 'yum',
  openeuler: 'yum',
  kylin: 'yum',
}

const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9.+_~:-]*$/
/** klog lines, as kubeadm writes warnings: `W1130 12:00:00.123456   4242 version.go:104] …`. */
const KLOG = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}/

/** The meaningful lines of a list: `[line number, text]`, comments and blanks dropped. */
const lines = (text: string): Array<[number, string]> =>
  text.split(/\r?\n/).flatMap((raw, i): Array<[number, string]> => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim()
    return line ? [[i + 1, line]] : []
  })

export const parseImagesList = (text: string, name: string): Requirement[] =>
  lines(text).flatMap(([n, line]) => {
    if (KLOG.test(line)) return []
    const ref = parseImageRef(line)
    if (typeof ref === 'string') throw new RequirementsError(`${name}:${n}: "${line.slice(0, 200)}": ${ref}`)
    return [{ kind: 'image' as const, text: line, source: `${name}:${n}` }]
  })

export const parseFilesList = (text: string, name: string): Requirement[] =>
  lines(text).map(([n, line]) => {
    const ref = parseFileRef(line)
    if (typeof ref === 'string') throw new RequirementsError(`${name}:${n}: "${line.slice(0, 200)}": ${ref}`)
    return { kind: 'file' as const, text: line, source: `${name}:${n}` }
  })

export const parsePackagesList = (text: string, name: string): Requirement[] => {
  let family: PackageFamily | undefined
  const out: Requirement[] = []
  for (const [n, line] of lines(text)) {
    const section = /^\[\s*([A-Za-z0-9_-]+)\s*\]$/.exec(line)
    if (section) {
      family = FAMILIES[section[1]!.toLowerCase()]
      if (!family)
        throw new RequirementsError(`${name}:${n}: [${section[1]}] is not an OS family (apt, yum, debian, ubuntu, rhel, centos, …)`)
      continue
    }
    for (const word of line.split(/\s+/)) {
      if (!PACKAGE_NAME.test(word)) throw new RequirementsError(`${name}:${n}: "${word.slice(0, 200)}" is not a package name`)
      out.push({ kind: 'package', text: word, source: `${name}:${n}`, ...(family ? { family } : {}) })
    }
  }
  return out
}

export interface RequirementFiles {
  images?: readonly string[]
  files?: readonly string[]
  packages?: readonly string[]
}

/** The lists as the operator gave them, one after the other; a list that cannot be read is a RequirementsError. */
export const readRequirements = async (files: RequirementFiles): Promise<Requirement[]> =>
  parseRequirementLists(await readRequirementLists(files))

const readList = async (path: string): Promise<string> => {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new RequirementsError(
      `${path}: cannot read the list (${code === 'ENOENT' ? 'it does not exist' : (code ?? (err as Error).message)})`,
    )
  }
}

/** A list as sent to a running Outpost: its file name and text. */
export interface NamedList {
  name: string
  text: string
}

export interface RequirementLists {
  images?: readonly NamedList[]
  files?: readonly NamedList[]
  packages?: readonly NamedList[]
}

/** Requirements sent as texts (the JSON endpoint): the same parsing, named as the sender named them. */
export const parseRequirementLists = (lists: RequirementLists): Requirement[] => [
  ...(lists.images ?? []).flatMap((l) => parseImagesList(l.text, l.name)),
  ...(lists.files ?? []).flatMap((l) => parseFilesList(l.text, l.name)),
  ...(lists.packages ?? []).flatMap((l) => parsePackagesList(l.text, l.name)),
]

/** Reads the lists' files into texts, to send them (a file that cannot be read is a RequirementsError). */
export const readRequirementLists = async (files: RequirementFiles): Promise<RequirementLists> => {
  const all = async (paths: readonly string[] | undefined): Promise<NamedList[]> =>
    Promise.all((paths ?? []).map(async (p) => ({ name: basename(p), text: await readList(p) })))
  return { images: await all(files.images), files: await all(files.files), packages: await all(files.packages) }
}
