/**
 * Configuration: one typed object, every default in one place, validated and
 * frozen at start-up. Layers apply in order: YAML file, then environment,
 * then command-line flags (flags win over env, env over the file).
 *
 * Environment rule: the key path in upper case joined by `_`, prefixed with
 * `OUTPOST_`: `listen.http` ← OUTPOST_LISTEN_HTTP, `registry.roots` ←
 * OUTPOST_REGISTRY_ROOTS. List values in the environment are comma-separated.
 */
import { readFileSync, existsSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { z } from 'zod'
import { configSchema, isLoopbackHost } from './config-schema.js'
import { CONFIG_KEYS, OTHER_ENV } from './config-keys.js'
import { configProblems, editDistance, yamlLocator, type KeyPath } from './config-errors.js'
import { Htpasswd, HtpasswdError } from '../registry-api/htpasswd.js'

export { configSchema, isLoopbackHost, parseListen, type ListenAddress } from './config-schema.js'
export { envName } from './config-keys.js'

export const DEFAULT_CONFIG_FILE = '/etc/outpost/config.yaml'

export type RawConfig = z.input<typeof configSchema>
type ParsedConfig = z.output<typeof configSchema>

export interface OutpostConfig extends ParsedConfig {
  /** Where the file layer came from, if any. */
  readonly source: string | null
  /** `registry.push_root` with its default (`<data_dir>/registry`) filled in. */
  registry: ParsedConfig['registry'] & { push_root: string }
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

type Tree = Record<string, unknown>

const setPath = (tree: Tree, path: string[], value: unknown): void => {
  let node = tree
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Tree
  }
  node[path[path.length - 1]!] = value
}

/** The environment layer as a partial config tree, plus names it did not know. */
export const envLayer = (env: NodeJS.ProcessEnv): { tree: Tree; unknown: string[] } => {
  const tree: Tree = {}
  const known = new Set<string>(OTHER_ENV)
  for (const { path, env: name, list } of CONFIG_KEYS) {
    known.add(name)
    const value = env[name]
    if (value === undefined) continue
    setPath(
      tree,
      path,
      list
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    )
  }
  const unknown = Object.keys(env).filter((k) => k.startsWith('OUTPOST_') && !known.has(k))
  return { tree, unknown }
}

/** Deep merge of plain objects; arrays and scalars of `over` replace. */
const merge = (base: Tree, over: Tree): Tree => {
  const out: Tree = { ...base }
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue
    const b = out[k]
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Tree, v as Tree) : v
  }
  return out
}

const deepFreeze = <T>(obj: T): T => {
  if (obj && typeof obj === 'object') {
    for (const v of Object.values(obj)) deepFreeze(v)
    Object.freeze(obj)
  }
  return obj
}

/** Each problem on a line of its own: `FILE:LINE: key: what is wrong`, in the order of the file. */
const fileIssues = (error: z.ZodError, source: string, doc: unknown, lineOf: (path: KeyPath) => number | null): string =>
  configProblems(error, doc)
    .map((p) => ({ line: lineOf(p.path), text: p.text }))
    .sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity))
    .map((p) => `${source}${p.line ? `:${p.line}` : ''}: ${p.text}`)
    .join('\n')

/** Problems of the environment or flag layer, each naming the variable or flag it came from. */
const layerIssues = (error: z.ZodError, layer: 'environment' | 'command line', tree: unknown): string =>
  configProblems(error, tree)
    .map((p) => {
      const from = layer === 'environment' ? p.key?.env : p.key?.flag && `--${p.key.flag.name}`
      return `${layer}: ${p.text}${from ? ` (from ${from})` : ''}`
    })
    .join('\n')

export interface LoadConfigOptions {
  /** Explicit config file; when absent, DEFAULT_CONFIG_FILE is read if present. */
  file?: string | undefined
  env?: NodeJS.ProcessEnv
  /** The flag layer, already shaped like the config tree. */
  flags?: Tree
  cwd?: string
  /** Do not look at DEFAULT_CONFIG_FILE (tests, demo). */
  noDefaultFile?: boolean
}

/** Resolves relative paths in a layer against a base directory (the keys marked `paths` in the schema). */
const absolutize = (tree: Tree, base: string): Tree => {
  const abs = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p)
  // An empty path stays empty, so the schema names the key rather than it meaning the base folder.
  const absWhole = (p: unknown): unknown => (p === '' ? p : abs(p))
  const absEntry = (e: unknown): unknown => {
    if (typeof e === 'string') {
      const eq = e.indexOf('=')
      return eq > 0 ? `${e.slice(0, eq)}=${abs(e.slice(eq + 1))}` : absWhole(e)
    }
    if (e && typeof e === 'object') return { ...(e as Tree), path: abs((e as Tree).path) }
    return e
  }
  const out = structuredClone(tree)
  for (const { path, paths, list } of CONFIG_KEYS) {
    if (!paths) continue
    let node: unknown = out
    for (const k of path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Tree)[k] : undefined
    const leaf = path[path.length - 1]!
    if (!node || typeof node !== 'object' || !(leaf in node)) continue
    const parent = node as Tree
    const fix = paths === 'whole' ? absWhole : absEntry
    if (!list) parent[leaf] = fix(parent[leaf])
    else if (Array.isArray(parent[leaf])) parent[leaf] = (parent[leaf] as unknown[]).map(fix)
  }
  return out
}

/**
 * Rules between keys. They run on the merged layers only, because one layer
 * may hold half of a pair (the file names tls.key, the environment tls.cert).
 */
const crossChecks = (c: ParsedConfig): string[] => {
  const out: string[] = []
  const t = c.tls
  if ((t.cert === null) !== (t.key === null)) out.push(`tls.${t.cert === null ? 'cert' : 'key'}: tls.cert and tls.key go together`)
  if (t.ca !== null && t.cert === null) out.push('tls.ca: is for an operator-supplied tls.cert; Outpost makes its own CA otherwise')
  if (t.renew_before_days >= t.server_days) {
    out.push(`tls.renew_before_days: must be less than tls.server_days (${t.server_days}), or every check would re-issue`)
  }
  // The push listener takes writes without credentials: only processes on this host may reach it.
  const push = c.listen.push
  if (push && !isLoopbackHost(push.host) && c.registry.auth.htpasswd === null) {
    out.push(
      `listen.push: ${push.host} is not a loopback address, and the push listener takes writes without credentials; ` +
        'listen on 127.0.0.1, ::1 or localhost, set registry.auth.htpasswd, or turn it off (listen.push: off)',
    )
  }
  return out
}

/** ` (did you mean OUTPOST_LISTEN_HTTP?)` for a misspelt variable, or nothing. */
const nearestEnv = (name: string): string => {
  const known = CONFIG_KEYS.map((k) => k.env)
  const scored = known.map((k) => ({ k, d: editDistance(name, k) })).sort((a, b) => a.d - b.d)
  const best = scored[0]
  if (best && best.d <= Math.max(2, Math.floor(name.length / 5))) return ` (did you mean ${best.k}?)`
  // `OUTPOST_HTTP` for OUTPOST_LISTEN_HTTP: the same last part under a section.
  const tail = known.filter((k) => k.endsWith(`_${name.slice('OUTPOST_'.length)}`))
  return tail.length === 1 ? ` (did you mean ${tail[0]}?)` : ''
}

export interface ConfigLoadResult {
  config: OutpostConfig
  warnings: string[]
}

export const loadConfig = (options: LoadConfigOptions = {}): ConfigLoadResult => {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const warnings: string[] = []
  let file = options.file ?? env.OUTPOST_CONFIG
  if (!file && !options.noDefaultFile && existsSync(DEFAULT_CONFIG_FILE)) file = DEFAULT_CONFIG_FILE
  let fileTree: Tree = {}
  let source: string | null = null
  let lineOf: (path: KeyPath) => number | null = () => null
  if (file) {
    source = resolve(cwd, file)
    let text: string
    try {
      text = readFileSync(source, 'utf8')
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why = e.code === 'ENOENT' ? 'it does not exist (start from config/outpost.example.yaml)' : e.message
      throw new ConfigError(`${source}: cannot read config file: ${why}`)
    }
    let doc: unknown
    try {
      doc = parseYaml(text)
    } catch (err) {
      const pos = err instanceof YAMLParseError ? err.linePos?.[0] : undefined
      const why = (err as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')
      throw new ConfigError(`${source}${pos ? `:${pos.line}` : ''}: not valid YAML: ${why}${pos ? ` (column ${pos.col})` : ''}`)
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new ConfigError(
        `${source}:1: the top level must be a mapping of keys (key: value lines), not ${Array.isArray(doc) ? 'a list' : 'a single value'}`,
      )
    }
    fileTree = absolutize((doc ?? {}) as Tree, dirname(source))
    const check = configSchema.safeParse(fileTree)
    lineOf = yamlLocator(text)
    if (!check.success) throw new ConfigError(fileIssues(check.error, source, doc, lineOf))
  }
  const { tree: envTree, unknown } = envLayer(env)
  for (const name of unknown) warnings.push(`environment: ${name} is not a known setting and is ignored${nearestEnv(name)}`)
  const envChecked = configSchema.safeParse(merge({}, absolutize(envTree, cwd)))
  if (!envChecked.success) throw new ConfigError(layerIssues(envChecked.error, 'environment', envTree))
  const merged = merge(merge(fileTree, absolutize(envTree, cwd)), absolutize(options.flags ?? {}, cwd))
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) throw new ConfigError(layerIssues(parsed.error, 'command line', options.flags ?? {}))
  const problems = crossChecks(parsed.data)
  if (problems.length) {
    // A rule between keys: point at the line of the key it names, when the file has it.
    const where = (p: string): string => {
      const line = source ? lineOf(p.slice(0, p.indexOf(':')).split('.')) : null
      return `${source ?? 'configuration'}${line ? `:${line}` : ''}`
    }
    throw new ConfigError(problems.map((p) => `${where(p)}: ${p}`).join('\n'))
  }
  const registry = { ...parsed.data.registry, push_root: parsed.data.registry.push_root ?? join(parsed.data.data_dir, 'registry') }
  return { config: deepFreeze({ ...parsed.data, registry, source }), warnings }
}

/** The users of `registry.auth.htpasswd`, or null; a file that cannot be used is a ConfigError naming its line. */
export const openHtpasswd = (config: OutpostConfig): Htpasswd | null => {
  const file = config.registry.auth.htpasswd
  if (file === null) return null
  try {
    return Htpasswd.load(file)
  } catch (err) {
    if (err instanceof HtpasswdError) throw new ConfigError(`registry.auth.htpasswd: ${err.message}`)
    throw err
  }
}

/** Validates a config file alone, and the htpasswd file it names (for `outpost check-config`). */
export const checkConfigFile = (file: string): void => {
  openHtpasswd(loadConfig({ file, env: {}, noDefaultFile: true }).config)
}
