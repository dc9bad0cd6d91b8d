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
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { isIP } from 'node:net'
import { z } from 'zod'

export const DEFAULT_CONFIG_FILE = '/etc/outpost/config.yaml'

export interface ListenAddress {
  host: string
  port: number
}

/** `ADDR:PORT`, `[v6]:PORT`, `:PORT` (all addresses) or `off`. */
export const parseListen = (value: string): ListenAddress | null | string => {
  const v = value.trim()
  if (v === 'off' || v === 'false' || v === '') return null
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v)
  if (!m) return `"${value}" is not ADDR:PORT, [IPv6]:PORT, :PORT or off`
  const port = Number(m[3])
  if (port > 65535) return `port ${port} is out of range`
  const host = m[1] ?? (m[2] || '0.0.0.0')
  return { host, port }
}

const listenSchema = z.union([z.string(), z.null(), z.literal(false)]).transform((v, ctx) => {
  if (v === null || v === false) return null
  const parsed = parseListen(v)
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed })
    return z.NEVER
  }
  return parsed
})

const mappingSchema = z.union([
  z.object({ from: z.string().min(1), to: z.string() }).strict(),
  z.string().transform((v, ctx) => {
    const eq = v.indexOf('=')
    if (eq <= 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not FROM=TO (e.g. registry.k8s.io/=library/)` })
      return z.NEVER
    }
    return { from: v.slice(0, eq), to: v.slice(eq + 1) }
  }),
])

/** `DIR` or `NAME=DIR` for OCI layouts. */
const layoutSchema = z.union([
  z.object({ path: z.string().min(1), name: z.string().optional() }).strict(),
  z.string().min(1).transform((v) => {
    const eq = v.indexOf('=')
    return eq > 0 ? { name: v.slice(0, eq), path: v.slice(eq + 1) } : { path: v }
  }),
])

/** `DIR` (mounted at /) or `/PREFIX=DIR`. */
const filesRootSchema = z.union([
  z.object({ path: z.string().min(1), prefix: z.string().default('/') }).strict(),
  z.string().min(1).transform((v) => {
    const eq = v.indexOf('=')
    return eq > 0 && v.startsWith('/') ? { prefix: v.slice(0, eq), path: v.slice(eq + 1) } : { prefix: '/', path: v }
  }),
])

/** A DNS name (`*.` allowed in front) or an IP address, for extra certificate names. */
const sanSchema = z
  .string()
  .min(1)
  .refine((v) => isIP(v) !== 0 || /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(v), {
    message: 'must be a DNS name or an IP address',
  })

/** Whole numbers; the environment hands them over as strings. */
const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max)

const tlsSchema = z
  .object({
    /** Operator-supplied certificate (PEM, leaf first, intermediates may follow) and key. */
    cert: z.string().min(1).nullable().default(null),
    key: z.string().min(1).nullable().default(null),
    /** CA bundle (PEM) handed to nodes at /ca.crt when the certificate is operator-supplied. */
    ca: z.string().min(1).nullable().default(null),
    extra_sans: z.array(sanSchema).default([]),
    backdate_hours: count(0, 24 * 365).default(24),
    server_days: count(2, 3650).default(825),
    ca_days: count(2, 36500).default(3650),
    renew_before_days: count(1, 3650).default(30),
  })
  .strict()

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** A whole number from YAML or from an environment string, within bounds. */
const intSchema = (min: number, max: number) =>
  z
    .union([z.number(), z.string().trim().regex(/^-?\d+$/, 'must be a whole number').transform(Number)])
    .pipe(z.number().int('must be a whole number').min(min).max(max))

/**
 * An NTP reference id: up to four ASCII characters (`LOCL`, `GPS`) or an
 * IPv4 address (what servers of stratum 2 and up send, RFC 5905 §7.3).
 */
const refIdSchema = z
  .string()
  .regex(/^(?:[\x21-\x7e]{1,4}|\d{1,3}(?:\.\d{1,3}){3})$/, 'must be 1-4 ASCII characters (e.g. LOCL) or an IPv4 address')

export const configSchema = z
  .object({
    bundle: z.string().min(1).nullable().default(null),
    data_dir: z.string().min(1).default('/var/lib/outpost'),
    log_level: z.enum(LOG_LEVELS).default('info'),
    listen: z
      .object({
        http: listenSchema.default('0.0.0.0:8080'),
        https: listenSchema.default('0.0.0.0:8443'),
        push: listenSchema.default('127.0.0.1:5000'),
        ntp: listenSchema.default('0.0.0.0:123'),
      })
      .strict()
      .default({}),
    registry: z
      .object({
        roots: z.array(z.string().min(1)).default([]),
        oci_layouts: z.array(layoutSchema).default([]),
        images_origin: z.array(z.string().min(1)).default([]),
        mappings: z.array(mappingSchema).default([]),
        domains: z.array(z.string().regex(/^[a-zA-Z0-9.-]+$/, 'must be a DNS name')).min(1).default(['outpost.registry.local']),
      })
      .strict()
      .default({}),
    files: z
      .object({
        roots: z.array(filesRootSchema).default([]),
        symlinks: z.enum(['inside', 'never']).default('inside'),
      })
      .strict()
      .default({}),
    tls: tlsSchema.default({}),
    ntp: z
      .object({
        stratum: intSchema(1, 15).default(10),
        ref_id: refIdSchema.default('LOCL'),
      })
      .strict()
      .default({}),
    nodes: z
      .object({
        offset_threshold_ms: intSchema(1, 86_400_000).default(500),
        stale_after_s: intSchema(1, 10 * 365 * 86_400).default(86_400),
      })
      .strict()
      .default({}),
  })
  .strict()

export type RawConfig = z.input<typeof configSchema>
type ParsedConfig = z.output<typeof configSchema>

export interface OutpostConfig extends ParsedConfig {
  /** Where the file layer came from, if any. */
  readonly source: string | null
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** The leaf keys that the environment can set, with whether they are lists. */
const ENV_KEYS: Array<{ path: string[]; list: boolean }> = [
  { path: ['bundle'], list: false },
  { path: ['data_dir'], list: false },
  { path: ['log_level'], list: false },
  { path: ['listen', 'http'], list: false },
  { path: ['listen', 'https'], list: false },
  { path: ['listen', 'push'], list: false },
  { path: ['listen', 'ntp'], list: false },
  { path: ['registry', 'roots'], list: true },
  { path: ['registry', 'oci_layouts'], list: true },
  { path: ['registry', 'images_origin'], list: true },
  { path: ['registry', 'mappings'], list: true },
  { path: ['registry', 'domains'], list: true },
  { path: ['files', 'roots'], list: true },
  { path: ['files', 'symlinks'], list: false },
  { path: ['tls', 'cert'], list: false },
  { path: ['tls', 'key'], list: false },
  { path: ['tls', 'ca'], list: false },
  { path: ['tls', 'extra_sans'], list: true },
  { path: ['tls', 'backdate_hours'], list: false },
  { path: ['tls', 'server_days'], list: false },
  { path: ['tls', 'ca_days'], list: false },
  { path: ['tls', 'renew_before_days'], list: false },
  { path: ['ntp', 'stratum'], list: false },
  { path: ['ntp', 'ref_id'], list: false },
  { path: ['nodes', 'offset_threshold_ms'], list: false },
  { path: ['nodes', 'stale_after_s'], list: false },
]

export const envName = (path: string[]): string => `OUTPOST_${path.join('_').toUpperCase()}`

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
  const known = new Set<string>()
  for (const { path, list } of ENV_KEYS) {
    const name = envName(path)
    known.add(name)
    const value = env[name]
    if (value === undefined) continue
    setPath(tree, path, list ? value.split(',').map((s) => s.trim()).filter(Boolean) : value)
  }
  // OUTPOST_CONFIG names the file; OUTPOST_URL is for node scripts.
  known.add('OUTPOST_CONFIG').add('OUTPOST_URL')
  const unknown = Object.keys(env).filter((k) => k.startsWith('OUTPOST_') && !known.has(k))
  return { tree, unknown }
}

/** Deep merge of plain objects; arrays and scalars of `over` replace. */
const merge = (base: Tree, over: Tree): Tree => {
  const out: Tree = { ...base }
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue
    const b = out[k]
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Tree, v as Tree) : v
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

const formatIssues = (error: z.ZodError, source: string): string =>
  error.issues
    .map((i) => {
      const key = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[')
      const msg = i.code === z.ZodIssueCode.unrecognized_keys ? `unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}` : i.message
      return `${source}: ${key || '(top level)'}: ${msg}`
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

/** Resolves relative paths in a layer against a base directory. */
const absolutize = (tree: Tree, base: string): Tree => {
  const abs = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p)
  const absEntry = (e: unknown): unknown => {
    if (typeof e === 'string') {
      const eq = e.indexOf('=')
      return eq > 0 ? `${e.slice(0, eq)}=${abs(e.slice(eq + 1))}` : abs(e)
    }
    if (e && typeof e === 'object') return { ...(e as Tree), path: abs((e as Tree).path) }
    return e
  }
  const out = structuredClone(tree)
  if ('bundle' in out && out.bundle) out.bundle = abs(out.bundle)
  if ('data_dir' in out) out.data_dir = abs(out.data_dir)
  const reg = out.registry as Tree | undefined
  if (reg && typeof reg === 'object') {
    if (Array.isArray(reg.roots)) reg.roots = reg.roots.map(abs)
    if (Array.isArray(reg.images_origin)) reg.images_origin = reg.images_origin.map(abs)
    if (Array.isArray(reg.oci_layouts)) reg.oci_layouts = reg.oci_layouts.map(absEntry)
  }
  const files = out.files as Tree | undefined
  if (files && typeof files === 'object' && Array.isArray(files.roots)) files.roots = files.roots.map(absEntry)
  const tls = out.tls as Tree | undefined
  if (tls && typeof tls === 'object') {
    for (const k of ['cert', 'key', 'ca']) if (k in tls) tls[k] = abs(tls[k])
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
  return out
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
  if (file) {
    source = resolve(cwd, file)
    let text: string
    try {
      text = readFileSync(source, 'utf8')
    } catch (err) {
      throw new ConfigError(`${source}: cannot read config file: ${(err as Error).message}`)
    }
    let doc: unknown
    try {
      doc = parseYaml(text)
    } catch (err) {
      throw new ConfigError(`${source}: not valid YAML: ${(err as Error).message}`)
    }
    if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) {
      throw new ConfigError(`${source}: the top level must be a mapping of keys`)
    }
    fileTree = absolutize((doc ?? {}) as Tree, dirname(source))
    const check = configSchema.safeParse(fileTree)
    if (!check.success) throw new ConfigError(formatIssues(check.error, source))
  }
  const { tree: envTree, unknown } = envLayer(env)
  for (const name of unknown) warnings.push(`environment: ${name} is not a known setting and is ignored`)
  const envChecked = configSchema.safeParse(merge({}, absolutize(envTree, cwd)))
  if (!envChecked.success) throw new ConfigError(formatIssues(envChecked.error, 'environment'))
  const merged = merge(merge(fileTree, absolutize(envTree, cwd)), absolutize(options.flags ?? {}, cwd))
  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, 'flags'))
  const problems = crossChecks(parsed.data)
  if (problems.length) throw new ConfigError(problems.map((p) => `${source ?? 'configuration'}: ${p}`).join('\n'))
  return { config: deepFreeze({ ...parsed.data, source }), warnings }
}

/** Validates a config file alone (for `outpost check-config`). */
export const checkConfigFile = (file: string): void => {
  loadConfig({ file, env: {}, noDefaultFile: true })
}
