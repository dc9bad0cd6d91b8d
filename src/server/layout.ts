/**
 * Turns the configuration into what the routers serve: image stores in
 * consultation order (the push root, `registry.push_root`, first), the name
 * resolver, and the file roots. `bundle: DIR`
 * means `registry.roots: [DIR/registry]`, `files.roots: [/=DIR/nginx]` and
 * `DIR/images_origin.yaml` when present, ahead of the configured extras.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { ImageStores, NameResolver, OciLayoutStore, Registry2Store, Registry2WritableStore, type OriginEntry } from '../images/index.js'
import type { OutpostConfig } from './config.js'
import { ConfigError } from './config.js'

export interface FilesRoot {
  prefix: string
  path: string
}

export interface ServedLayout {
  stores: ImageStores
  resolver: NameResolver
  filesRoots: FilesRoot[]
  /** `files.symlinks`: follow symlinks that stay inside their root, or none. */
  filesSymlinks: 'inside' | 'never'
  originFiles: string[]
  /** The images_origin.yaml entries, in order (node set-up mirrors their hosts). */
  origins: OriginEntry[]
}

/** Reads kubeplay's images_origin.yaml: a list of `{src, dest}` (or `{images: [...]}`). */
export const readImagesOrigin = (file: string): OriginEntry[] => {
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(`${file}: cannot read images origin list: ${(err as Error).message}`)
  }
  const list = Array.isArray(doc) ? doc : (doc as { images?: unknown })?.images
  if (list === null || list === undefined) return []
  if (!Array.isArray(list)) throw new ConfigError(`${file}: expected a list of {src, dest} entries`)
  return list.map((e, i) => {
    if (!e || typeof e.src !== 'string' || typeof e.dest !== 'string') {
      throw new ConfigError(`${file}: entry ${i}: needs string "src" and "dest"`)
    }
    return { src: e.src, dest: e.dest }
  })
}

/** Pushes go to a tree of their own: bundle roots and OCI layouts are never written. */
export const checkPushRootOwn = (config: OutpostConfig): void => {
  const pushRoot = resolve(config.registry.push_root)
  const readOnly = [
    ...(config.bundle ? [join(config.bundle, 'registry')] : []),
    ...config.registry.roots,
    ...config.registry.oci_layouts.map((l) => l.path),
  ]
  const clash = readOnly.find((r) => resolve(r) === pushRoot)
  if (clash)
    throw new ConfigError(
      `registry.push_root: ${config.registry.push_root} is also a registry root or OCI layout (${clash}); those are never written: give pushes a folder of their own`,
    )
}

/** Parts of a running server's layout that a new one (a reload) takes over as they are. */
export interface LayoutReuse {
  /** The push root's store: uploads in progress live in it (same `registry.push_root` and `upload_ttl_s`). */
  push?: Registry2WritableStore | undefined
}

export const buildLayout = (config: OutpostConfig, reuse: LayoutReuse = {}): ServedLayout => {
  const registryRoots = [...config.registry.roots]
  const filesRoots: FilesRoot[] = config.files.roots.map((r) => ({ prefix: r.prefix, path: r.path }))
  // With allow_missing_roots, a name map that is not there yet is left out (start-up has warned about it).
  const originFiles = config.registry.images_origin.filter((f) => !config.allow_missing_roots || existsSync(f))
  if (config.bundle) {
    registryRoots.unshift(join(config.bundle, 'registry'))
    filesRoots.unshift({ prefix: '/', path: join(config.bundle, 'nginx') })
    const origin = join(config.bundle, 'images_origin.yaml')
    if (existsSync(origin)) originFiles.unshift(origin)
  }
  const stores = [
    ...registryRoots.map((root) => new Registry2Store(root)),
    ...config.registry.oci_layouts.map((l) => new OciLayoutStore(l.path, l.name)),
  ]
  const origins = originFiles.flatMap(readImagesOrigin)
  checkPushRootOwn(config)
  const push = reuse.push ?? new Registry2WritableStore(config.registry.push_root, { uploadTtlMs: config.registry.upload_ttl_s * 1000 })
  return {
    stores: new ImageStores(stores, { push }),
    resolver: new NameResolver({ origins, rules: config.registry.mappings }),
    filesRoots,
    filesSymlinks: config.files.symlinks,
    originFiles,
    origins,
  }
}
