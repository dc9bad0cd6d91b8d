/**
 * Every file Outpost hands a node, with its URL under /setup/, where it goes
 * on the node, and which nodes it is for. The /setup/ routes serve from this
 * list and bootstrap.sh carries it as its manifest, so the two never differ.
 */
import { CONTAINERD_CERTS_D, renderHostsToml } from './containerd.js'
import { CONTAINERS_DROP_IN, renderRegistriesConf } from './containers.js'
import { DOCKER_DAEMON_JSON, renderDaemonJson } from './docker.js'
import { renderChronyConf, renderTimesyncdConf, TIMESYNCD_DROP_IN } from './chrony.js'
import { registryHostsOf, type SetupTree, type SetupContext } from './context.js'
import {
  APT_SOURCES_DIR,
  YUM_REPOS_DIR,
  aptCheck,
  aptKeyDest,
  aptMatch,
  aptSourcesName,
  aptSuitesOf,
  renderAptSources,
  renderYumRepo,
  treeSlugs,
  yumChecks,
  yumMatch,
  type NodeMatch,
} from './repos.js'

export type SetupKind =
  'ca-trust' | 'containerd' | 'containerd-ca' | 'containers' | 'docker' | 'docker-ca' | 'yum' | 'apt' | 'apt-key' | 'chrony' | 'timesyncd'

export interface SetupFile {
  kind: SetupKind
  /** URL path on Outpost. */
  url: string
  /** Absolute path on the node; `-` where bootstrap.sh picks it by OS family (CA store, chrony.conf). */
  dest: string
  match: NodeMatch
  contentType: string
  /** The content, for files served under /setup/ (apt keys are served from their tree). */
  render?: () => string
}

/** URL paths safe in a URL, a config file and bootstrap.sh alike; trees with others are left out. */
const SAFE_URL_PATH = /^\/[A-Za-z0-9._~/%+=,@:-]*$/
const safeTree = (t: SetupTree): boolean => SAFE_URL_PATH.test(t.urlPath) && (t.keyUrl === undefined || SAFE_URL_PATH.test(t.keyUrl))

const ANY: NodeMatch = { os: '*', version: '*', arch: '*' }
const TEXT = 'text/plain; charset=utf-8'
const PEM = 'application/x-pem-file'

export const setupFiles = (ctx: SetupContext): SetupFile[] => {
  const files: SetupFile[] = []
  const ca = ctx.caPem
  const caFile = (kind: SetupKind, dest: string): void => {
    if (ca) files.push({ kind, url: '/setup/ca.crt', dest, match: ANY, contentType: PEM, render: () => ca })
  }
  caFile('ca-trust', '-')
  for (const host of registryHostsOf(ctx)) {
    files.push({
      kind: 'containerd',
      url: `/setup/containerd/${host}/hosts.toml`,
      dest: `${CONTAINERD_CERTS_D}/${host}/hosts.toml`,
      match: ANY,
      contentType: TEXT,
      render: () => renderHostsToml(ctx, host),
    })
    if (ctx.registry.secure) caFile('containerd-ca', `${CONTAINERD_CERTS_D}/${host}/ca.crt`)
  }
  files.push({
    kind: 'containers',
    url: '/setup/containers/registries.conf',
    dest: CONTAINERS_DROP_IN,
    match: ANY,
    contentType: TEXT,
    render: () => renderRegistriesConf(ctx),
  })
  files.push({
    kind: 'docker',
    url: '/setup/docker/daemon.json',
    dest: DOCKER_DAEMON_JSON,
    match: ANY,
    contentType: 'application/json',
    render: () => renderDaemonJson(ctx),
  })
  if (ctx.registry.secure) caFile('docker-ca', `/etc/docker/certs.d/${ctx.registry.hostPort}/ca.crt`)
  const trees = ctx.trees.filter(safeTree)
  const slugs = treeSlugs(trees)
  trees.forEach((tree, i) => {
    const slug = slugs[i]!
    if (tree.kind === 'yum') {
      files.push({
        kind: 'yum',
        url: `/setup/yum/outpost-${slug}.repo`,
        dest: `${YUM_REPOS_DIR}/outpost-${slug}.repo`,
        match: yumMatch(tree),
        contentType: TEXT,
        render: () => renderYumRepo(ctx, tree, slug),
      })
      return
    }
    const key = aptKeyDest(tree, slug)
    const keyFor = new Set<string>()
    for (const suite of aptSuitesOf(tree)) {
      const name = aptSourcesName(slug, suite)
      const match = aptMatch(tree, suite)
      // The key goes where a suite is checked with it, once for each kind of node.
      const keyMatch = `${match.os} ${match.version} ${match.arch}`
      if (key && tree.keyUrl && aptCheck(tree, suite) === 'key' && !keyFor.has(keyMatch)) {
        keyFor.add(keyMatch)
        files.push({ kind: 'apt-key', url: tree.keyUrl, dest: key, match, contentType: 'application/octet-stream' })
      }
      files.push({
        kind: 'apt',
        url: `/setup/apt/${name}.sources`,
        dest: `${APT_SOURCES_DIR}/${name}.sources`,
        match,
        contentType: TEXT,
        render: () => renderAptSources(ctx, tree, slug, suite),
      })
    }
  })
  const chrony = renderChronyConf(ctx)
  if (chrony) files.push({ kind: 'chrony', url: '/setup/chrony.conf', dest: '-', match: ANY, contentType: TEXT, render: () => chrony })
  const timesyncd = renderTimesyncdConf(ctx)
  if (timesyncd)
    files.push({
      kind: 'timesyncd',
      url: '/setup/timesyncd.conf',
      dest: TIMESYNCD_DROP_IN,
      match: ANY,
      contentType: TEXT,
      render: () => timesyncd,
    })
  return files
}

/** The file served at a URL path, if any. */
export const findSetupFile = (files: readonly SetupFile[], url: string): SetupFile | undefined =>
  files.find((f) => f.url === url && f.render)

/** `/setup/` as text: what is there and where it goes. */
export const renderSetupIndex = (ctx: SetupContext, files: readonly SetupFile[]): string => {
  const lines = [
    `Outpost node set-up (${ctx.baseUrl}/setup/)`,
    '',
    `  curl -fsSL ${ctx.baseUrl}/setup/bootstrap.sh | sh                  # apply everything below`,
    `  curl -fsSL ${ctx.baseUrl}/setup/bootstrap.sh | sh -s -- --dry-run  # show what would change`,
    `  curl -fsSL ${ctx.baseUrl}/setup/bootstrap.sh | sh -s -- --undo     # put back every file it changed`,
    '',
    `Registry: ${ctx.registry.url} (${ctx.registry.secure ? 'HTTPS, Outpost CA' : 'plain HTTP: no CA yet'}); domains: ${ctx.domains.join(', ')}`,
    `Time: ${ctx.ntpPort === null ? 'not served' : `SNTP on ${ctx.outpostHost} UDP ${ctx.ntpPort}`}`,
    '',
  ]
  const seen = new Set<string>()
  for (const f of files) {
    const where =
      f.dest === '-'
        ? f.kind === 'ca-trust'
          ? 'the OS trust store (by family)'
          : f.kind === 'chrony'
            ? '/etc/chrony/chrony.conf or /etc/chrony.conf'
            : '-'
        : f.dest
    const forNodes = [f.match.os, f.match.version, f.match.arch].every((m) => m === '*')
      ? ''
      : `   [${f.match.os} ${f.match.version} ${f.match.arch}]`
    const line = `  ${f.url}  →  ${where}${forNodes}`
    if (!seen.has(line)) lines.push(line)
    seen.add(line)
  }
  if (!ctx.caPem) lines.push('', '  (no ca.crt: Outpost has no CA yet)')
  const trees = ctx.trees.filter(safeTree)
  if (trees.length) lines.push('', 'Package trees and how nodes check their signatures:', ...trees.flatMap(signatureLines))
  return `${lines.join('\n')}\n`
}

/** How each tree is checked, said plainly: an unsigned tree is installed unchecked, and says so. */
const signatureLines = (tree: SetupTree): string[] => {
  if (tree.kind === 'yum') {
    const c = yumChecks(tree)
    const noKey = c.metadataUnchecked ? '; repomd.xml is signed but the tree publishes no key to check it with' : ''
    if (!c.gpgcheck && !c.repoGpgcheck) return [`  ${tree.urlPath}  UNSIGNED: packages installed unchecked (gpgcheck=0)${noKey}`]
    const what = [...(c.gpgcheck ? ['packages (gpgcheck=1)'] : []), ...(c.repoGpgcheck ? ['repomd.xml (repo_gpgcheck=1)'] : [])]
    const key = c.keyUrl ? `with ${c.keyUrl}` : "with the keys the node's rpm already trusts"
    const unsignedPackages = c.gpgcheck ? '' : '; its packages are not signed (gpgcheck=0)'
    return [`  ${tree.urlPath}  signed: dnf checks ${what.join(' and ')} ${key}${unsignedPackages}${noKey}`]
  }
  return aptSuitesOf(tree).map((suite) => {
    const name = `${tree.urlPath}${suite ? ` ${suite}` : ''}`
    const check = aptCheck(tree, suite)
    if (check === 'key') return `  ${name}  signed: apt checks it with ${tree.keyUrl} (Signed-By)`
    if (check === 'node') return `  ${name}  signed, no key in the tree: apt checks it with the keys the node trusts`
    return `  ${name}  UNSIGNED: trusted as it is (Trusted: yes)`
  })
}
