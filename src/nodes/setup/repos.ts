/**
 * Package sources for Outpost's yum and apt trees: one `.repo` file per yum
 * tree, one deb822 `.sources` file (sources.list(5), apt ≥ 1.1) per apt tree
 * and suite. Each also says which nodes it is for (OS, version, arch),
 * given by the tree or read from its path (`centos/7/os/x86_64`,
 * `debian` + suite `bookworm`), so bootstrap.sh writes only what fits.
 */
import type { SetupTree, SetupContext } from './context.js'

export const YUM_REPOS_DIR = '/etc/yum.repos.d'
export const APT_SOURCES_DIR = '/etc/apt/sources.list.d'
export const APT_KEYRINGS_DIR = '/etc/apt/keyrings'

/** Which nodes a file is for; `*` matches any. */
export interface NodeMatch {
  /** os-release ID (or one in ID_LIKE). */
  os: string
  /** yum: major VERSION_ID; apt: VERSION_CODENAME. */
  version: string
  /** `uname -m` style: x86_64, aarch64. */
  arch: string
}

const OS_IDS = new Set([
  'centos',
  'rhel',
  'rocky',
  'almalinux',
  'ol',
  'oraclelinux',
  'fedora',
  'amzn',
  'anolis',
  'openeuler',
  'kylin',
  'debian',
  'ubuntu',
  'opensuse',
  'sles',
])
const ARCHES: Record<string, string> = {
  x86_64: 'x86_64',
  amd64: 'x86_64',
  aarch64: 'aarch64',
  arm64: 'aarch64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
}
/** Codenames a suite may start with; other suites (`stable`, `kubernetes`) fit any node. */
const CODENAMES: Record<string, string> = {
  jessie: 'debian',
  stretch: 'debian',
  buster: 'debian',
  bullseye: 'debian',
  bookworm: 'debian',
  trixie: 'debian',
  forky: 'debian',
  xenial: 'ubuntu',
  bionic: 'ubuntu',
  focal: 'ubuntu',
  jammy: 'ubuntu',
  kinetic: 'ubuntu',
  lunar: 'ubuntu',
  mantic: 'ubuntu',
  noble: 'ubuntu',
  oracular: 'ubuntu',
  plucky: 'ubuntu',
}

const segments = (urlPath: string): string[] =>
  urlPath
    .split('/')
    .filter(Boolean)
    .map((s) => s.toLowerCase())

/** A file-name-safe name for a tree: `/centos/7/os/x86_64/` → `centos-7-os-x86_64`. */
export const treeSlug = (urlPath: string): string =>
  segments(urlPath)
    .join('-')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '') || 'root'

/** Slugs made unique in list order (`debian`, `debian-2`). */
export const treeSlugs = (trees: readonly SetupTree[]): string[] => {
  const seen = new Map<string, number>()
  return trees.map((t) => {
    const base = `${treeSlug(t.urlPath)}`
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    return n === 1 ? base : `${base}-${n}`
  })
}

/** The nodes a yum tree is for, from the tree or from its path. */
export const yumMatch = (tree: SetupTree): NodeMatch => {
  const segs = segments(tree.urlPath)
  const osIndex = segs.findIndex((s) => OS_IDS.has(s))
  const os = tree.os ?? (osIndex >= 0 ? segs[osIndex]! : '*')
  const versionSeg = segs.slice(osIndex + 1).find((s) => /^\d+(?:\.\d+)*$/.test(s))
  const version = tree.osVersion ?? (versionSeg ? versionSeg.split('.')[0]! : '*')
  const archSeg = segs.find((s) => s in ARCHES)
  const arch = tree.arch ? (ARCHES[tree.arch] ?? tree.arch) : archSeg ? ARCHES[archSeg]! : '*'
  return { os, version, arch }
}

/** The nodes an apt suite is for: a codename names the OS release; other suites fit any. */
export const aptMatch = (tree: SetupTree, suite: string | null): NodeMatch => {
  const word = suite ? suite.split(/[-/]/, 1)[0]!.toLowerCase() : ''
  const codenameOs = CODENAMES[word]
  const segs = segments(tree.urlPath)
  const pathOs = segs.find((s) => s === 'debian' || s === 'ubuntu')
  const archSeg = segs.find((s) => s in ARCHES)
  return {
    os: tree.os ?? codenameOs ?? pathOs ?? '*',
    version: tree.osVersion ?? (codenameOs ? word : '*'),
    arch: tree.arch ? (ARCHES[tree.arch] ?? tree.arch) : archSeg ? ARCHES[archSeg]! : '*',
  }
}

const join = (base: string, path: string): string => `${base}/${path.replace(/^\/+/, '')}`
const dirUrl = (base: string, urlPath: string): string => {
  const u = join(base, urlPath)
  return u.endsWith('/') ? u : `${u}/`
}

/**
 * What dnf is told to check for a yum tree: packages (`gpgcheck`) when they
 * are signed, repomd.xml (`repo_gpgcheck`) when it is signed and the tree
 * publishes the key to check it with, and that key (`gpgkey=`). Packages
 * whose signatures could not be read are checked whenever the tree has a
 * key or signed metadata: a tree that looks signed stays checked.
 */
export interface YumChecks {
  gpgcheck: boolean
  repoGpgcheck: boolean
  /** URL path of the key, when dnf checks anything with it. */
  keyUrl: string | null
  /** repomd.xml is signed but there is no key to check it with. */
  metadataUnchecked: boolean
}

export const yumChecks = (tree: SetupTree): YumChecks => {
  const hasKey = tree.keyUrl !== undefined
  const metadataSigned = tree.signed ?? hasKey
  const gpgcheck = tree.packagesSigned ?? (hasKey || metadataSigned)
  const repoGpgcheck = metadataSigned && hasKey
  return {
    gpgcheck,
    repoGpgcheck,
    keyUrl: hasKey && (gpgcheck || repoGpgcheck) ? tree.keyUrl! : null,
    metadataUnchecked: metadataSigned && !hasKey,
  }
}

export const renderYumRepo = (ctx: SetupContext, tree: SetupTree, slug: string): string => {
  const id = `outpost-${slug}`
  const checks = yumChecks(tree)
  const lines = [
    `# ${YUM_REPOS_DIR}/${id}.repo, from Outpost (${ctx.baseUrl}/setup/).`,
    ...(checks.metadataUnchecked
      ? ['# repomd.xml is signed but the tree publishes no key: put it in the tree (RPM-GPG-KEY-*) to have dnf check it.']
      : []),
    `[${id}]`,
    `name=Outpost ${segments(tree.urlPath).join('/') || '/'}`,
    `baseurl=${dirUrl(ctx.baseUrl, tree.urlPath)}`,
    'enabled=1',
    // Without a key in the tree, rpm checks signed packages with the keys the node already trusts.
    `gpgcheck=${checks.gpgcheck ? 1 : 0}`,
    ...(checks.keyUrl ? [`gpgkey=${join(ctx.baseUrl, checks.keyUrl)}`] : []),
    ...(checks.repoGpgcheck ? ['repo_gpgcheck=1'] : []),
    // Offline trees hold exactly the packages the install needs: let dnf take
    // them even where a module stream would filter them out (dnf.conf(5)).
    'module_hotfixes=1',
    // Never fall back to a cached copy of an unreachable mirror list.
    'skip_if_unavailable=0',
  ]
  return `${lines.join('\n')}\n`
}

/**
 * How apt checks an apt suite (`null`: a flat repository): `key` with the
 * tree's key (`Signed-By:`), `node` with the keys the node already trusts (a
 * signed tree without a key, such as a distribution mirror), `unsigned`
 * trusted as it is (`Trusted: yes`): only a tree with no signature at all.
 */
export type AptCheck = 'key' | 'node' | 'unsigned'

export const aptCheck = (tree: SetupTree, suite: string | null): AptCheck => {
  const signed =
    (suite !== null ? tree.suites?.find((s) => s.name === suite)?.signed : undefined) ?? tree.signed ?? tree.keyUrl !== undefined
  if (!signed) return 'unsigned'
  return tree.keyUrl !== undefined ? 'key' : 'node'
}

/** apt reads a Signed-By keyring as armoured when it ends in .asc, binary otherwise. */
export const aptKeyDest = (tree: SetupTree, slug: string): string | null => {
  if (!tree.keyUrl) return null
  const ext = /\.(asc|gpg|pgp)$/i.exec(tree.keyUrl)?.[1]?.toLowerCase() ?? 'gpg'
  return `${APT_KEYRINGS_DIR}/outpost-${slug}.${ext === 'pgp' ? 'gpg' : ext}`
}

/** One `.sources` file per suite, by name (`null` for a flat repository). */
export const aptSuitesOf = (tree: SetupTree): (string | null)[] => (tree.suites?.length ? tree.suites.map((s) => s.name) : [null])

/** The components a suite's sources entry names: those detection found, else `main`. */
export const aptComponentsOf = (tree: SetupTree, suite: string): string[] => {
  const known = tree.suites?.find((s) => s.name === suite)?.components
  return known?.length ? known : ['main']
}

export const aptSourcesName = (slug: string, suite: string | null): string =>
  suite ? `outpost-${slug}-${suite.replace(/[^A-Za-z0-9._-]+/g, '-')}` : `outpost-${slug}`

export const renderAptSources = (ctx: SetupContext, tree: SetupTree, slug: string, suite: string | null): string => {
  const name = aptSourcesName(slug, suite)
  const check = aptCheck(tree, suite)
  const key = check === 'key' ? aptKeyDest(tree, slug) : null
  const lines = [
    `# ${APT_SOURCES_DIR}/${name}.sources, from Outpost (${ctx.baseUrl}/setup/).`,
    ...(check === 'node' ? ['# Signed, and the tree publishes no key: apt checks it with the keys this node trusts.'] : []),
    'Types: deb',
    `URIs: ${dirUrl(ctx.baseUrl, tree.urlPath)}`,
    // A flat repository is named by the suite "./" and has no components.
    `Suites: ${suite ?? './'}`,
    ...(suite ? [`Components: ${aptComponentsOf(tree, suite).join(' ')}`] : []),
    // Only a tree with no signature at all is trusted as it is, or apt would refuse it.
    ...(key ? [`Signed-By: ${key}`] : check === 'unsigned' ? ['Trusted: yes'] : []),
  ]
  return `${lines.join('\n')}\n`
}
