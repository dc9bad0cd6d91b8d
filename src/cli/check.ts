/**
 * `outpost check [--images FILE] [--files FILE] [--packages FILE]
 * [--platforms LIST] [--json] [URL]`: is everything the cluster needs in
 * the bundle, for every platform it needs? Against the configured roots
 * (the configuration `serve` reads), or a running Outpost given its URL.
 * One line per requirement, as written, then present, missing or
 * incomplete. Exit 0 when all are present, 1 otherwise, 2 when a list
 * cannot be read or holds a line that is no requirement.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Command } from 'commander'
import { BUILT_IN_PATHS, RootsError, buildLayout, checkRoots, rootProblemLine, type OutpostConfig } from '../server/index.js'
import {
  RequirementsError,
  bundleContent,
  evaluateRequirements,
  neededPlatforms,
  parsePlatformList,
  readRequirementLists,
  readRequirements,
  renderCheckText,
  type CheckReport,
  type NodeArch,
} from '../bundle/index.js'
import { LAYOUT_KEYS, addConfigOptions, flagAttribute, type ConfigFlags } from './options.js'
import { baseUrl, getJson, DEFAULT_TIMEOUT_MS } from './remote.js'
import { EXIT_PROBLEMS, RemoteError, UsageError, commandConfig, fail } from './run.js'

const REQUIREMENT_KEYS = ['requirements.images', 'requirements.files', 'requirements.packages', 'requirements.platforms']

interface CheckFlags extends ConfigFlags {
  json?: boolean
  timeout?: string
}

/** The architectures of the nodes that checked in to the Outpost keeping its catalog in `data_dir` (read only; none when there is none). */
export const nodesOf = (dataDir: string): NodeArch[] => {
  const file = join(dataDir, 'catalog.db')
  if (!existsSync(file)) return []
  let db: Database.Database | undefined
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
    return (db.prepare('SELECT report FROM nodes').all() as Array<{ report: string }>).map((r) => {
      const report = JSON.parse(r.report) as { hostname?: string; arch?: string }
      return { hostname: report.hostname ?? '?', arch: report.arch }
    })
  } catch {
    return []
  } finally {
    db?.close()
  }
}

const listsOf = (config: OutpostConfig | null, flags: CheckFlags) => {
  const from = (key: string): string[] => {
    if (config) return [...(key.split('.').reduce<unknown>((n, k) => (n as Record<string, unknown>)[k], config) as string[])]
    return (flags[flagAttribute(key)] as string[] | undefined) ?? []
  }
  return {
    images: from('requirements.images'),
    files: from('requirements.files'),
    packages: from('requirements.packages'),
    platforms: from('requirements.platforms'),
  }
}

const platformsOf = (entries: readonly string[]): string[] => {
  const { platforms, invalid } = parsePlatformList(entries)
  if (invalid.length)
    throw new UsageError(`--platforms: not a platform: ${invalid.join(', ')} (os/arch[/variant] or arch, e.g. linux/arm64)`)
  return platforms
}

const asUsage = (err: unknown): never => {
  if (err instanceof RequirementsError) throw new UsageError(err.message)
  throw err
}

/** The check against the configured roots, with the nodes of the local catalog. */
const checkLocal = async (config: OutpostConfig): Promise<CheckReport> => {
  const missing = checkRoots(config)
  if (missing.length && !config.allow_missing_roots) throw new RootsError(missing)
  for (const m of missing) process.stderr.write(`outpost: ${rootProblemLine(m)} (left out)\n`)
  const lists = listsOf(config, {})
  const requirements = await readRequirements(lists).catch(asUsage)
  const layout = buildLayout(config)
  const content = bundleContent({
    stores: layout.stores,
    resolver: layout.resolver,
    filesRoots: layout.filesRoots,
    symlinks: layout.filesSymlinks,
    reserved: BUILT_IN_PATHS,
  })
  const platforms = neededPlatforms(platformsOf(lists.platforms), nodesOf(config.data_dir))
  return evaluateRequirements(requirements, content, platforms, { everyImage: !requirements.some((r) => r.kind === 'image') })
}

/** The check made by a running Outpost: of the lists given here, or of its own requirements. */
const checkRemote = async (target: string, config: OutpostConfig | null, flags: CheckFlags): Promise<CheckReport> => {
  const timeoutMs = flags.timeout !== undefined ? Number(flags.timeout) * 1000 : DEFAULT_TIMEOUT_MS * 6
  if (!(timeoutMs > 0)) throw new UsageError(`--timeout: expected a number of seconds, got "${flags.timeout}"`)
  const lists = listsOf(config, flags)
  const base = baseUrl(target)
  const given = lists.images.length + lists.files.length + lists.packages.length + lists.platforms.length > 0
  const report = given
    ? await getJson<CheckReport>(base, '/inventory/requirements', {
        timeoutMs,
        json: {
          ...(await readRequirementLists(lists).catch(asUsage)),
          ...(lists.platforms.length ? { platforms: platformsOf(lists.platforms) } : {}),
        },
      })
    : await getJson<CheckReport>(base, '/inventory/requirements', { timeoutMs })
  if (!report || !Array.isArray(report.requirements) || typeof report.summary !== 'object')
    throw new RemoteError(`${base.origin}/inventory/requirements does not answer as an Outpost does`)
  return report
}

const check = async (url: string | undefined, flags: CheckFlags): Promise<void> => {
  try {
    let config: OutpostConfig | null = null
    try {
      config = commandConfig(flags)
    } catch (err) {
      if (!url) throw err
    }
    const report = url ? await checkRemote(url, config, flags) : await checkLocal(config!)
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderCheckText(report))
    process.exit(report.ok ? 0 : EXIT_PROBLEMS)
  } catch (err) {
    fail(err)
  }
}

export const addCheck = (program: Command): void => {
  addConfigOptions(
    program
      .command('check')
      .summary('is everything the cluster needs in the bundle, for every platform? exit 1 when not')
      .description(
        'compare the bundle with what the cluster needs: images (kubespray images.list, kubeadm config images list), file URLs (kubespray files.list), OS packages, platforms (and those of the nodes that checked in); one line per requirement: present, missing or incomplete; exit 1 unless all are present',
      )
      .argument('[url]', 'address of a running Outpost to ask; default: check the configured roots here'),
    [...LAYOUT_KEYS, 'data_dir', ...REQUIREMENT_KEYS],
  )
    .option('--json', 'print the report as JSON')
    .option('--timeout <seconds>', 'with a URL: how long to wait for the answer (default 30)')
    .action(check)
}
