/**
 * Which address the set-up files give nodes. Everything a node is told to
 * trust carries it (the registry, package sources, chrony, the CA URL), so
 * it is never simply the request's Host, which the client chooses:
 *
 * - with `server.advertise`, one of those URLs: the one the request named
 *   (same host and port, else same host), otherwise the first;
 * - without it, the request's Host when it is one of Outpost's own names or
 *   addresses (the names its server certificate covers: registry domains,
 *   host name, loopback, interface addresses, `tls.extra_sans`); any other
 *   Host is refused (421 Misdirected Request) with what to configure.
 */
import { hostNameInputs, toSan, wantedSans, type San } from '../../tls/names.js'
import { parseOrigin } from './context.js'

export interface OriginPolicy {
  /** `server.advertise`: origins nodes are given (`http://10.0.0.1:8080`). */
  advertise: readonly string[]
  /** Outpost's own names and addresses, as SANs (`DNS:outpost.registry.local`, `IP:10.0.0.1`). */
  names: () => ReadonlySet<San>
}

export type OriginChoice = { ok: true; origin: string } | { ok: false; status: 400 | 421; message: string }

const hostPortOf = (o: { host: string; port: number }): string => `${toSan(o.host) ?? o.host}|${o.port}`

/** The origin to render set-up files for, from the request's origin (`http://HOST[:PORT]` as the client named it). */
export const chooseOrigin = (requestOrigin: string, hostHeader: string | undefined, policy: OriginPolicy): OriginChoice => {
  const asked = parseOrigin(requestOrigin)
  if (policy.advertise.length) {
    const listed = policy.advertise.map((a) => ({ a, o: parseOrigin(a) })).filter((x) => x.o !== null)
    const pick =
      (asked && listed.find((x) => hostPortOf(x.o!) === hostPortOf(asked))) ??
      (asked && listed.find((x) => toSan(x.o!.host) === toSan(asked.host))) ??
      listed[0]
    if (pick) return { ok: true, origin: pick.a.replace(/\/+$/, '') }
  }
  if (!asked) {
    return {
      ok: false,
      status: 400,
      message: `the Host header (${hostHeader ?? 'none'}) is not a host name or address Outpost can write into set-up files`,
    }
  }
  const san = toSan(asked.host)
  if (san && policy.names().has(san)) return { ok: true, origin: requestOrigin }
  return {
    ok: false,
    status: 421,
    message:
      `the Host header (${hostHeader ?? asked.host}) is not one of Outpost's names or addresses, and set-up files carry it to nodes: ` +
      'ask on an address of this host or a registry domain, or set server.advertise (the URLs nodes use) or tls.extra_sans',
  }
}

/** Outpost's own names, re-read (host name, interfaces) at most every `ttlMs`. */
export const ownNames = (domains: readonly string[], extra: () => readonly string[], ttlMs = 10_000): (() => ReadonlySet<San>) => {
  let cached: { at: number; names: ReadonlySet<San> } | null = null
  return () => {
    const now = Date.now()
    if (!cached || now - cached.at > ttlMs) {
      const host = hostNameInputs()
      cached = { at: now, names: new Set(wantedSans({ domains, hostname: host.hostname, addresses: host.addresses, extra: extra() })) }
    }
    return cached.names
  }
}
