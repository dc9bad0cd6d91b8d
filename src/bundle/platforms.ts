/**
 * Platforms: the ones an image is for (`os/arch[/variant]`, as image indexes
 * and configs name them), the ones a cluster needs (those configured in
 * `requirements.platforms`, plus the architecture of every node that has
 * checked in), and whether the first cover the second.
 */

export interface PlatformSpec {
  os: string
  architecture: string
  variant?: string
}

/** Architecture names as `uname -m`, Debian and RPM spell them → as images name them (GOARCH), with a variant. */
const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  x86: { architecture: '386' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  aarch64: { architecture: 'arm64' },
  armv8: { architecture: 'arm64' },
  armv8l: { architecture: 'arm', variant: 'v7' },
  armv7l: { architecture: 'arm', variant: 'v7' },
  armv7: { architecture: 'arm', variant: 'v7' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armv6l: { architecture: 'arm', variant: 'v6' },
  armel: { architecture: 'arm', variant: 'v6' },
  ppc64el: { architecture: 'ppc64le' },
}

const WORD = /^[a-z0-9._-]{1,32}$/

/**
 * Parses `amd64`, `linux/arm64`, `linux/arm/v7`, `x86_64` (an architecture
 * alone means linux); undefined when it is none of these.
 */
export const parsePlatform = (text: string): PlatformSpec | undefined => {
  const parts = text.trim().toLowerCase().split('/')
  if (parts.length > 3 || parts.some((p) => !WORD.test(p))) return undefined
  const [os, arch, variant] = parts.length === 1 ? ['linux', parts[0]!, undefined] : [parts[0]!, parts[1]!, parts[2]]
  const alias = ARCH_ALIASES[arch]
  const architecture = alias?.architecture ?? arch
  const v = variant ?? alias?.variant
  return { os, architecture, ...(v ? { variant: v } : {}) }
}

export const formatPlatform = (p: PlatformSpec): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/')

/** A list as configured: entries, each possibly comma-separated (`--platforms linux/amd64,linux/arm64`). */
export const parsePlatformList = (entries: readonly string[]): { platforms: string[]; invalid: string[] } => {
  const platforms: string[] = []
  const invalid: string[] = []
  for (const part of entries.flatMap((e) => e.split(',')).map((s) => s.trim())) {
    if (!part) continue
    const p = parsePlatform(part)
    if (!p) invalid.push(part)
    else if (!platforms.includes(formatPlatform(p))) platforms.push(formatPlatform(p))
  }
  return { platforms, invalid }
}

/** The variant an architecture has when none is named (image-spec: arm64 is v8). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', amd64: 'v1' }

/**
 * Whether an image platform (`linux/arm64/v8`) serves a needed one
 * (`linux/arm64`): same OS and architecture, and the variant when the need
 * names one.
 */
export const covers = (have: string, need: string): boolean => {
  const h = parsePlatform(have)
  const n = parsePlatform(need)
  if (!h || !n || h.os !== n.os || h.architecture !== n.architecture) return false
  if (!n.variant) return true
  return (h.variant ?? DEFAULT_VARIANT[h.architecture]) === n.variant
}

/** The needed platforms none of `have` covers. */
export const uncovered = (have: readonly string[], needed: readonly string[]): string[] =>
  needed.filter((n) => !have.some((h) => covers(h, n)))

/** A node's platform from its check-in (`arch` as bootstrap.sh sends it, or `uname -m`); undefined without one. */
export const nodePlatform = (arch: string | null | undefined): string | undefined => {
  const p = arch ? parsePlatform(arch) : undefined
  return p && p.os === 'linux' ? formatPlatform(p) : undefined
}

export interface NeededPlatforms {
  /** Every platform needed, configured ones first. */
  needed: string[]
  /** From `requirements.platforms` (or `--platforms`). */
  configured: string[]
  /** From the nodes that checked in: each node's platform. */
  nodes: Array<{ hostname: string; platform: string }>
}

export const neededPlatforms = (
  configured: readonly string[],
  nodes: ReadonlyArray<{ hostname: string; arch: string | null | undefined }>,
): NeededPlatforms => {
  const fromNodes = nodes.flatMap((n) => {
    const platform = nodePlatform(n.arch)
    return platform ? [{ hostname: n.hostname, platform }] : []
  })
  const needed = [...configured]
  for (const n of fromNodes) if (!needed.includes(n.platform)) needed.push(n.platform)
  return { needed, configured: [...configured], nodes: fromNodes }
}
