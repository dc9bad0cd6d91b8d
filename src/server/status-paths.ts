/**
 * The server paths the status page hides from clients that are not on
 * loopback, each with the name it is shown under instead: every path a
 * configuration key names (bundle, roots, name maps, certificates, lists…),
 * the data_dir and push root, the config file, and their real paths where
 * symlinks lead elsewhere; any other store or file root of the layout last.
 * A root inside the bundle is shown as `[bundle]/registry`.
 */
import { realpathSync } from 'node:fs'
import { CONFIG_KEYS } from './config-keys.js'
import type { OutpostConfig } from './config.js'
import type { ServedLayout } from './layout.js'

const valueAt = (config: OutpostConfig, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), config)

const pathsIn = (value: unknown): string[] => {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(pathsIn)
  if (value && typeof value === 'object' && typeof (value as { path?: unknown }).path === 'string')
    return [(value as { path: string }).path]
  return []
}

export const serverPaths = (config: OutpostConfig, layout: ServedLayout): Array<{ path: string; label: string }> => {
  const out: Array<{ path: string; label: string }> = []
  const add = (path: string | null | undefined, label: string): void => {
    if (!path || !path.startsWith('/')) return
    out.push({ path, label })
    try {
      const real = realpathSync(path)
      if (real !== path) out.push({ path: real, label })
    } catch {
      // not there (yet): the configured path is enough
    }
  }
  for (const k of CONFIG_KEYS) if (k.paths) for (const p of pathsIn(valueAt(config, k.path))) add(p, `[${k.name}]`)
  add(config.data_dir, '[data_dir]')
  add(config.registry.push_root, '[registry.push_root]')
  add(config.source, '[config file]')
  // Roots no key names (none today): named by their place in the layout.
  const named = (path: string): boolean => out.some((o) => path === o.path || path.startsWith(`${o.path}/`))
  const fallback = (path: string, label: string): void => void (named(path) || add(path, label))
  layout.stores.uncached.forEach((st, i) => fallback(st.label.slice(st.label.indexOf(':') + 1), `[image store ${i + 1}]`))
  for (const r of layout.filesRoots) fallback(r.path, `[files ${r.prefix}]`)
  return out
}
