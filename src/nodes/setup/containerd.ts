/**
 * containerd `certs.d/<host>/hosts.toml` (containerd docs/hosts.md): pulls
 * of `<host>/…` go to Outpost, which resolves the upstream name from the
 * `ns` query parameter containerd adds.
 *
 * `server` is Outpost as well: without it a miss falls back to the real
 * upstream, which on an air-gapped node means a DNS lookup and a timeout,
 * and on a connected one a silent pull from the internet.
 *
 * `ca` is relative: containerd resolves it against the hosts.toml directory
 * (remotes/docker/config/hosts.go, makeAbsPath), so the same files work
 * under `bootstrap.sh --root DIR` and in images built that way.
 */
import type { SetupContext } from './context.js'

export const CONTAINERD_CERTS_D = '/etc/containerd/certs.d'

export const renderHostsToml = (ctx: SetupContext, host: string): string => {
  const { url, secure } = ctx.registry
  const ca = secure && ctx.caPem ? ['ca = "ca.crt"'] : []
  const self = host === ctx.registry.hostPort || url === `https://${host}` || url === `http://${host}`
  const lines = [
    `# ${CONTAINERD_CERTS_D}/${host}/hosts.toml, from Outpost (${ctx.baseUrl}/setup/).`,
    self
      ? `# ${host} is Outpost's registry${secure ? ', trusted through its CA' : ', over plain HTTP'}.`
      : `# ${host} images are pulled through Outpost; "server" is Outpost too, so an image it lacks fails here instead of reaching the internet.`,
    `server = "${url}"`,
    ...ca,
  ]
  if (!self) lines.push('', `[host."${url}"]`, '  capabilities = ["pull", "resolve"]', ...ca.map((l) => `  ${l}`))
  return `${lines.join('\n')}\n`
}
