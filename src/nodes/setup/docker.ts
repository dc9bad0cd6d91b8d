/**
 * Docker's daemon.json. Docker mirrors Docker Hub only (`registry-mirrors`)
 * and asks the mirror for `library/nginx` without the upstream host, which
 * Outpost serves as stored. Over plain HTTP the mirror must also be listed
 * in `insecure-registries`. JSON has no comments, so this file says nothing
 * about where it came from; bootstrap.sh writes it only where there is none.
 */
import type { SetupContext } from './context.js'

export const DOCKER_DAEMON_JSON = '/etc/docker/daemon.json'

export const renderDaemonJson = (ctx: SetupContext): string => {
  const { url, hostPort, secure } = ctx.registry
  const port = new URL(url).port
  const insecure = secure ? [] : [...new Set([hostPort, ...ctx.domains.flatMap((d) => (port ? [d, `${d}:${port}`] : [d]))])]
  const doc = { 'registry-mirrors': [url], ...(insecure.length ? { 'insecure-registries': insecure } : {}) }
  return `${JSON.stringify(doc, null, 2)}\n`
}
