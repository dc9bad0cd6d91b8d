/**
 * containers-registries.conf(5) for CRI-O, podman, buildah and skopeo,
 * installed as a drop-in (`registries.conf.d/50-outpost.conf`) so the
 * distribution's own file stays as it is.
 *
 * Each upstream prefix gets Outpost as its *location* (not a mirror): a
 * mirror miss would fall back to the real registry. These clients cannot
 * send containerd's `ns` parameter, so the location carries the upstream
 * host in its path (`outpost…/docker.io` → `/v2/docker.io/library/nginx/…`),
 * which Outpost's name resolution reads the same way.
 */
import type { SetupContext } from './context.js'

export const CONTAINERS_DROP_IN = '/etc/containers/registries.conf.d/50-outpost.conf'

const toml = (s: string): string => JSON.stringify(s)

export const renderRegistriesConf = (ctx: SetupContext): string => {
  const { hostPort, secure } = ctx.registry
  const lines = [
    `# ${CONTAINERS_DROP_IN}, from Outpost (${ctx.baseUrl}/setup/).`,
    '# CRI-O and podman pull upstream names through Outpost; nothing falls back to the internet.',
  ]
  const entry = (prefix: string, location: string): void => {
    lines.push('', '[[registry]]', `prefix = ${toml(prefix)}`, `location = ${toml(location)}`, `insecure = ${secure ? 'false' : 'true'}`)
  }
  for (const upstream of ctx.upstreams) entry(upstream, `${hostPort}/${upstream}`)
  for (const domain of ctx.domains) entry(domain, hostPort)
  return `${lines.join('\n')}\n`
}
