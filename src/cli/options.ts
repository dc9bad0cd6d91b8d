/**
 * Command-line flags for configuration keys, made from the schema's key
 * list: a command names the keys it reads and gets `--config` and their
 * flags (a list key's flag is repeatable, an enum's takes its choices).
 */
import { Command, Option } from 'commander'
import { CONFIG_KEYS, DEFAULT_CONFIG_FILE, configKey, type ConfigKey } from '../server/index.js'

/** Parsed flags: `config` and the keys' flags under commander's attribute names (`registryRoot`). */
export interface ConfigFlags {
  config?: string
  [attribute: string]: unknown
}

/** Every key that has a flag, in schema order: what `serve` and `demo` take. */
export const FLAG_KEYS: readonly string[] = CONFIG_KEYS.filter((k) => k.flag).map((k) => k.name)

/** The keys the served layout (image stores, file roots, name maps) is built from. */
export const LAYOUT_KEYS: readonly string[] = ['bundle', 'registry.roots', 'registry.oci_layouts', 'registry.images_origin', 'files.roots']

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

/**
 * ` (default: 0.0.0.0:8080)` for a key's help, from the schema (or from `shown`,
 * for a command with defaults of its own). Only said, never set: a flag's
 * default would override the config file and the environment.
 */
export const defaultHelp = (k: ConfigKey, shown?: string): string => {
  const note = k.defaultNote?.replace(/`/g, '')
  if (shown !== undefined) return ` (default: ${shown})`
  const v = k.default
  if (v === null || v === undefined) return note ? ` (default: ${note})` : ''
  if (Array.isArray(v)) return v.length ? ` (default: ${v.join(', ')})` : ''
  return ` (default: ${String(v)}${note ? `; ${note}` : ''})`
}

const flagOption = (k: ConfigKey, shown?: string): Option => {
  const flag = k.flag!
  const value = flag.optional ? `[${flag.arg}]` : `<${flag.arg}>`
  const option = new Option(`--${flag.name} ${value}`, `${flag.help ?? k.doc}${k.list ? ' (repeatable)' : ''}${defaultHelp(k, shown)}`)
  if (k.list) option.argParser(collect)
  if (k.choices) option.choices(k.choices)
  return option
}

/**
 * Adds `--config` and the flags of the named keys (in schema order) to a
 * command; `shownDefaults` are the defaults the command itself applies
 * (the demo's loopback addresses), for the help.
 */
export const addConfigOptions = (cmd: Command, keys: readonly string[], shownDefaults: Record<string, string> = {}): Command => {
  for (const name of keys) if (!configKey(name).flag) throw new Error(`config key ${name} has no flag`)
  cmd.option('--config <file>', `YAML config file (default ${DEFAULT_CONFIG_FILE} when present)`)
  for (const k of CONFIG_KEYS) if (k.flag && keys.includes(k.name)) cmd.addOption(flagOption(k, shownDefaults[k.name]))
  return cmd
}

const attribute = (k: ConfigKey): string => new Option(`--${k.flag!.name}`).attributeName()

/** Where commander keeps the flag of a key (`data_dir` → `dataDir`). */
export const flagAttribute = (key: string): string => attribute(configKey(key))

/** The flag layer, shaped like the config tree. A repeated flag gives a list, which replaces the file's. */
export const flagLayer = (flags: ConfigFlags): Record<string, unknown> => {
  type Tree = { [key: string]: unknown }
  const tree: Tree = {}
  for (const k of CONFIG_KEYS) {
    const value = k.flag ? flags[attribute(k)] : undefined
    if (value === undefined) continue
    let node = tree
    for (const p of k.path.slice(0, -1)) node = (node[p] ??= {}) as Tree
    node[k.path[k.path.length - 1]!] = value
  }
  return tree
}
