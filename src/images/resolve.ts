/**
 * Upstream names → stored repositories.
 *
 * containerd, configured with a hosts.toml mirror, asks the mirror for
 * `/v2/kube-apiserver/manifests/v1.21.3?ns=k8s.gcr.io` (containerd
 * docs/hosts.md). Clients that cannot send `ns` may put the upstream host in
 * the path instead: `/v2/k8s.gcr.io/kube-apiserver/…`. Either way the
 * upstream reference is tried, in order, against:
 *   1. images_origin.yaml entries (`src: k8s.gcr.io/kube-apiserver` →
 *      `dest: library/kube-apiserver`),
 *   2. configured prefix rules (`registry.k8s.io/` → `library/`),
 *   3. the name as it stands (without the host, then with it).
 * The first candidate that a store holds wins.
 */
import { isValidName } from './grammar.js'

export interface OriginEntry {
  src: string
  dest: string
}

export interface PrefixRule {
  /** Upstream prefix, e.g. `registry.k8s.io/` or `docker.io/library/`. */
  from: string
  /** Stored prefix, e.g. `library/`. */
  to: string
}

export interface NameResolverOptions {
  origins?: readonly OriginEntry[]
  rules?: readonly PrefixRule[]
}

const DOCKER_HUB = 'docker.io'
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

/** A first path component names a host when it has a dot or a port, or is localhost. */
export const looksLikeHost = (component: string): boolean => component.includes('.') || component.includes(':') || component === 'localhost'

/**
 * Normalises an upstream image reference to `host/path` without tag or
 * digest, the way Docker names work: no host means docker.io, a one-part
 * Docker Hub name lives under `library/`, hosts are lower-cased.
 */
export const normalizeUpstream = (ref: string): string => {
  let name = ref.trim()
  const at = name.indexOf('@')
  if (at >= 0) name = name.slice(0, at)
  const lastSlash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  if (colon > lastSlash) name = name.slice(0, colon)
  const parts = name.split('/')
  let host = DOCKER_HUB
  if (parts.length > 1 && looksLikeHost(parts[0]!)) host = parts.shift()!.toLowerCase()
  if (DOCKER_HUB_ALIASES.has(host)) {
    host = DOCKER_HUB
    if (parts.length === 1) parts.unshift('library')
  }
  return `${host}/${parts.join('/')}`
}

/** Strips a tag or digest from a stored name given in images_origin.yaml. */
const stripReference = (name: string): string => {
  let out = name.trim()
  const at = out.indexOf('@')
  if (at >= 0) out = out.slice(0, at)
  const colon = out.lastIndexOf(':')
  if (colon > out.lastIndexOf('/')) out = out.slice(0, colon)
  return out.replace(/^\/+|\/+$/g, '')
}

export interface ResolveRequest {
  /** The path name as the client sent it. */
  name: string
  /** containerd's `ns` query parameter: the upstream registry host. */
  ns?: string | undefined
}

export class NameResolver {
  private readonly origins = new Map<string, string>()
  private readonly rules: PrefixRule[]

  constructor(options: NameResolverOptions = {}) {
    for (const entry of options.origins ?? []) {
      const key = normalizeUpstream(entry.src)
      // The first entry for an upstream name wins, like every other lookup here.
      if (!this.origins.has(key)) this.origins.set(key, stripReference(entry.dest))
    }
    this.rules = (options.rules ?? []).map((r) => ({ from: normalizePrefix(r.from), to: r.to.replace(/^\/+/, '') }))
  }

  get originCount(): number {
    return this.origins.size
  }

  /** The upstream `host/path` a request speaks of, when it names one. */
  upstreamOf(req: ResolveRequest): string | undefined {
    if (req.ns) return normalizeUpstream(`${req.ns}/${req.name}`)
    const first = req.name.split('/', 1)[0]!
    if (req.name.includes('/') && looksLikeHost(first)) return normalizeUpstream(req.name)
    return undefined
  }

  /** Stored repository names to try, best first, each valid and unique. */
  candidates(req: ResolveRequest): string[] {
    const out: string[] = []
    const add = (name: string | undefined): void => {
      if (name && isValidName(name) && !out.includes(name)) out.push(name)
    }
    const upstream = this.upstreamOf(req)
    if (upstream) {
      add(this.origins.get(upstream))
      for (const rule of this.rules) {
        if (upstream.startsWith(rule.from)) add(rule.to + upstream.slice(rule.from.length))
      }
      if (req.ns) {
        add(req.name)
      } else {
        add(req.name.slice(req.name.indexOf('/') + 1))
      }
    }
    add(req.name)
    return out
  }
}

/** Rules are matched against normalised upstream names: `k8s.gcr.io/` stays, `nginx/` gains docker.io. */
const normalizePrefix = (from: string): string => {
  const trimmed = from.trim().replace(/\*$/, '')
  const withSlash = trimmed.endsWith('/') ? trimmed : `${trimmed}/`
  const first = withSlash.split('/', 1)[0]!
  if (looksLikeHost(first)) {
    const host = first.toLowerCase()
    return DOCKER_HUB_ALIASES.has(host) ? `${DOCKER_HUB}${withSlash.slice(first.length)}` : `${host}${withSlash.slice(first.length)}`
  }
  return `${DOCKER_HUB}/${withSlash}`
}

/**
 * The upstream reference a registry request asked for, as a bundle build
 * would name it: `k8s.gcr.io/kube-apiserver:v1.21.3`,
 * `docker.io/library/nginx@sha256:…`, or the plain name when the request
 * named no upstream. For the ledger of misses.
 */
export const requestedReference = (name: string, reference: string, ns: string | undefined): string => {
  let upstream = name
  if (ns) upstream = normalizeUpstream(`${ns}/${name}`)
  else if (name.includes('/') && looksLikeHost(name.split('/', 1)[0]!)) upstream = normalizeUpstream(name)
  return reference.includes(':') ? `${upstream}@${reference}` : `${upstream}:${reference}`
}
