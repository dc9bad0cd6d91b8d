/**
 * The names a server certificate must cover, as subjectAltName entries
 * written `DNS:name` or `IP:address` (IPv6 in its canonical compressed form),
 * so that two sets compare as plain strings.
 *
 * Go's crypto/x509 (containerd, skopeo) ignores the subject CN and checks only
 * SANs, so everything a node may dial must be listed here.
 */
import { isIP } from 'node:net'
import { hostname as osHostname, networkInterfaces, type NetworkInterfaceInfo } from 'node:os'

export type San = `DNS:${string}` | `IP:${string}`

const DNS_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/

/** Canonical text of an IP address (IPv6 compressed, lower case, zone id dropped), or null. */
export const canonicalIp = (ip: string): string | null => {
  const bare = ip.replace(/%.*$/, '')
  const kind = isIP(bare)
  if (kind === 4) return bare
  // The WHATWG URL parser prints IPv6 hosts in the RFC 5952 form.
  if (kind === 6) return new URL(`http://[${bare}]/`).hostname.slice(1, -1)
  return null
}

/** `10.0.0.1` → `IP:10.0.0.1`, `Registry.Local` → `DNS:registry.local`; null when neither. */
export const toSan = (name: string): San | null => {
  const ip = canonicalIp(name.trim())
  if (ip !== null) return `IP:${ip}`
  const dns = name.trim().toLowerCase().replace(/\.$/, '')
  return DNS_NAME.test(dns) ? `DNS:${dns}` : null
}

/** The value of a SAN without its type prefix. */
export const sanValue = (san: San): string => san.slice(san.indexOf(':') + 1)

/**
 * Parses Node's `X509Certificate.subjectAltName` text
 * (`DNS:a, IP Address:0:0:0:0:0:0:0:1`). Node quotes values holding commas or
 * quotes as JSON strings (nodejs/node#42185); other name types are skipped.
 */
export const parseSubjectAltName = (text: string | undefined): San[] => {
  if (!text) return []
  const out: San[] = []
  const re = /(DNS|IP Address|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g
  for (let m = re.exec(text); m && m[0] !== ''; m = re.exec(text)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!
    if (m[1] === 'DNS') {
      const san = toSan(value)
      if (san?.startsWith('DNS:')) out.push(san)
    } else if (m[1] === 'IP Address') {
      const ip = canonicalIp(value)
      if (ip !== null) out.push(`IP:${ip}`)
    }
  }
  return out
}

const isLinkLocal = (ip: string): boolean => /^fe[89ab][0-9a-f]?:/i.test(ip) || ip.startsWith('169.254.')

/**
 * Every non-loopback address of the host. Link-local addresses are left out:
 * no URL can name them without a zone id, and container interfaces (veth,
 * cni0) come and go with them, which would re-issue the certificate for no use.
 */
export const hostAddresses = (interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] => {
  const out: string[] = []
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.internal) continue
      const ip = canonicalIp(a.address)
      if (ip && !isLinkLocal(ip)) out.push(ip)
    }
  }
  return out
}

export interface NameInputs {
  /** Registry domains; the first becomes the subject CN. */
  domains: readonly string[]
  /** The host name (`os.hostname()`); a dotted name adds its first label too. */
  hostname: string
  /** Non-loopback addresses of the host. */
  addresses: readonly string[]
  /** Configured extra names or addresses. */
  extra: readonly string[]
}

/** Loopback names every server certificate carries, for local clients and health checks. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'] as const

/** The SANs wanted, without duplicates, in a stable order: domains, host, loopback, addresses, extras. */
export const wantedSans = (inputs: NameInputs): San[] => {
  const host = inputs.hostname.trim()
  const hostNames = host.includes('.') && isIP(host) === 0 ? [host, host.slice(0, host.indexOf('.'))] : [host]
  const all = [...inputs.domains, ...hostNames, ...LOOPBACK_NAMES, ...inputs.addresses, ...inputs.extra]
  const seen = new Set<San>()
  for (const name of all) {
    const san = toSan(name)
    if (san) seen.add(san)
  }
  return [...seen]
}

/** Wanted names the certificate does not list (literal comparison, no wildcard matching). */
export const missingSans = (have: readonly San[], want: readonly San[]): San[] => {
  const set = new Set(have)
  return want.filter((s) => !set.has(s))
}

/**
 * The live inputs of this host. Listing interfaces needs a netlink socket,
 * which a sandbox may forbid (systemd RestrictAddressFamilies without
 * AF_NETLINK): then the addresses are left out and `error` says why.
 */
export const hostNameInputs = (): Pick<NameInputs, 'hostname' | 'addresses'> & { error?: string } => {
  const hostname = osHostname()
  try {
    return { hostname, addresses: hostAddresses() }
  } catch (err) {
    return { hostname, addresses: [], error: (err as Error).message }
  }
}
