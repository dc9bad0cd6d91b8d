/**
 * What every set-up renderer needs, as plain data: where Outpost is as the
 * node sees it, how to reach its registry, the CA, the upstream registries
 * it maps, its package trees and its time service. The HTTP layer builds it
 * per request (the node's view of Outpost is the request's Host); the
 * renderers are pure functions of it.
 */
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'

/** An apt suite as a sources entry names it. */
export interface AptSuite {
  /** The suite path under dists/: `bookworm`, `bookworm/updates`. */
  name: string
  /** The components to name (`main contrib`); `main` when none are known. */
  components?: string[]
  /** Its Release is signed (InRelease or Release.gpg); absent: as the tree says. */
  signed?: boolean
}

/**
 * A yum or apt tree Outpost serves, as node set-up renders it: one per tree
 * URL, an apt tree's suites together (built from src/repos tree detection
 * by the server's setupTrees).
 */
export interface SetupTree {
  kind: 'yum' | 'apt'
  /** URL path of the tree on Outpost: `/centos/7/os/x86_64/`, `/debian/`. */
  urlPath: string
  /** apt: the suites under dists/; none means a flat repository. */
  suites?: AptSuite[]
  /** URL path of the tree's signing key on Outpost, when it publishes one (yum `gpgkey=`, apt `Signed-By:`). */
  keyUrl?: string
  /**
   * apt: the Release is signed (a suite may say otherwise); yum: repomd.xml
   * is (repomd.xml.asc). Absent: taken to be signed when the tree has a key.
   */
  signed?: boolean
  /**
   * yum: the packages carry RPM signatures; null or absent when not known,
   * then checked whenever the tree has a key or signed metadata.
   */
  packagesSigned?: boolean | null
  /** Which nodes the tree is for; inferred from urlPath when absent. */
  os?: string
  osVersion?: string
  arch?: string
}

export interface RegistryEndpoint {
  /** `https://outpost.registry.local:8443` or `http://10.0.0.1:8080`. */
  url: string
  /** The same as a registry host (containerd's certs.d directory name): `outpost.registry.local:8443`. */
  hostPort: string
  /** HTTPS with Outpost's CA. */
  secure: boolean
}

export interface SetupContext {
  /** Outpost as the node reached it, no trailing slash: `http://10.0.0.1:8080`. */
  baseUrl: string
  /** Host part of baseUrl, IPv6 without brackets: `10.0.0.1`. */
  outpostHost: string
  registry: RegistryEndpoint
  /** Names the registry answers to; the first is the one mirrors use. */
  domains: string[]
  /** Outpost's CA certificate (PEM), or null until TLS is set up. */
  caPem: string | null
  /**
   * SHA-256 fingerprints (lower-case hex of the DER) of CAs Outpost used
   * before (`outpost certs rotate-ca`): bootstrap.sh removes their copies
   * from the node's trust stores, whatever the files are called.
   */
  oldCaSha256: string[]
  /** Upstream registry hosts to mirror: `docker.io`, `registry.k8s.io`, … */
  upstreams: string[]
  trees: SetupTree[]
  /** UDP port of the SNTP responder, or null when time is not served. */
  ntpPort: number | null
}

/** The registries that Kubernetes installs pull from by name. */
export const DEFAULT_UPSTREAMS = ['docker.io', 'registry.k8s.io', 'k8s.gcr.io', 'quay.io', 'gcr.io', 'ghcr.io'] as const

export interface SetupContextInput {
  /** The request's origin (`http://10.0.0.1:8080`), from its Host header. */
  origin: string
  domains: readonly string[]
  upstreams: readonly string[]
  caPem: string | null
  /** CA certificates Outpost used before (PEM). */
  previousCas?: readonly string[]
  trees: readonly SetupTree[]
  /** Port of the HTTPS listener, or null when there is none. */
  httpsPort: number | null
  ntpPort: number | null
}

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/

/**
 * A request origin safe to write into shell scripts and config files: a
 * scheme, a DNS name or IP address, a port. Anything else is refused (the
 * Host header is the client's to choose).
 */
export const parseOrigin = (origin: string): { scheme: 'http' | 'https'; host: string; port: number } | null => {
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return null
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  if (url.username || url.password) return null
  const scheme = url.protocol === 'https:' ? 'https' : 'http'
  const bracketed = url.hostname.startsWith('[') && url.hostname.endsWith(']')
  const host = bracketed ? url.hostname.slice(1, -1) : url.hostname
  if (bracketed ? isIP(host) !== 6 : !HOST_NAME.test(host)) return null
  const port = url.port ? Number(url.port) : scheme === 'https' ? 443 : 80
  return { scheme, host, port }
}

const hostWithPort = (host: string, port: number, defaultPort: number): string => {
  const h = host.includes(':') ? `[${host}]` : host
  return port === defaultPort ? h : `${h}:${port}`
}

/** The SHA-256 fingerprint of a PEM's first certificate (lower-case hex of its DER), or null when it holds none. */
export const certSha256 = (pem: string): string | null => {
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem)
  if (!m) return null
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')
  return der.length ? createHash('sha256').update(der).digest('hex') : null
}

/** Throws on an origin that parseOrigin refuses. */
export const buildSetupContext = (input: SetupContextInput): SetupContext => {
  const o = parseOrigin(input.origin)
  if (!o) throw new Error(`not a usable origin: ${input.origin}`)
  const defaultPort = o.scheme === 'https' ? 443 : 80
  const baseUrl = `${o.scheme}://${hostWithPort(o.host, o.port, defaultPort)}`
  const domain = input.domains[0] ?? 'outpost.registry.local'
  // HTTPS needs both: a listener, and the CA that nodes will trust.
  const secure = input.caPem !== null && input.httpsPort !== null
  const registry: RegistryEndpoint = secure
    ? { url: `https://${hostWithPort(domain, input.httpsPort!, 443)}`, hostPort: hostWithPort(domain, input.httpsPort!, 443), secure }
    : { url: baseUrl, hostPort: hostWithPort(o.host, o.port, defaultPort), secure }
  return {
    baseUrl,
    outpostHost: o.host,
    registry,
    domains: [...input.domains],
    caPem: input.caPem,
    oldCaSha256: oldFingerprints(input.previousCas ?? [], input.caPem),
    upstreams: [...new Set(input.upstreams)],
    trees: [...input.trees],
    ntpPort: input.ntpPort,
  }
}

/** Fingerprints of the previous CAs, once each, without the current one (a CA restored after a rotation). */
const oldFingerprints = (previous: readonly string[], current: string | null): string[] => {
  const now = current === null ? null : certSha256(current)
  const out = new Set<string>()
  for (const pem of previous) {
    const fp = certSha256(pem)
    if (fp && fp !== now) out.add(fp)
  }
  return [...out]
}

/**
 * The registry hosts a node gets a containerd hosts.toml for: every
 * upstream, each registry domain bare and with the registry's port, and for
 * plain HTTP Outpost's own address (containerd would try HTTPS on it).
 */
export const registryHostsOf = (ctx: SetupContext): string[] => {
  const out = [...ctx.upstreams]
  const port = new URL(ctx.registry.url).port
  for (const d of ctx.domains) {
    out.push(d)
    if (port) out.push(`${d}:${port}`)
  }
  if (!ctx.registry.secure) out.push(ctx.registry.hostPort)
  return [...new Set(out)]
}
