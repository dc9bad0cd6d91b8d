/**
 * What the read and write handlers share: the options, name resolution to
 * a repository view, and the raw request path.
 */
import type { Context } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import type { Logger } from 'pino'
import { isValidName, type ImageStores, type NameResolver, type RepositoryView } from '../images/index.js'
import type { RegistryAccessOptions } from './access.js'
import { RegistryError } from './errors.js'

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version'
export const API_VERSION = 'registry/2.0'

export interface RegistryApiOptions {
  stores: ImageStores
  resolver: NameResolver
  logger: Logger
  /** Called once per blob body sent (GET, 200 or 206). */
  onBlobServed?: (digest: string, bytes: number) => void
  /** Who may write (access.ts); by default the push listener on loopback only. */
  access?: Omit<RegistryAccessOptions, 'logger'>
  /**
   * Whether this write request (POST, PUT, PATCH, DELETE) may write. Default:
   * the access policy's answer for its listener and credentials (`mayWrite`).
   * Writes also need `stores.push`.
   */
  canWrite?: (c: Ctx) => boolean
  /** `registry.delete`: a request that may write may also delete manifests, tags and blobs. */
  deletes?: boolean
}

export type Env = { Bindings: HttpBindings }
export type Ctx = Context<Env>

export interface Located {
  view: RepositoryView
  /** The stored repository name the request resolved to. */
  repository: string
}

/** Name resolution for reads: the name as asked, then the upstream-name rules (`ns=`, images_origin.yaml, prefixes). */
export const locator =
  (options: RegistryApiOptions) =>
  async (c: Ctx, name: string): Promise<Located> => {
    const { stores, resolver, logger } = options
    if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name })
    const ns = c.req.query('ns') || undefined
    for (const candidate of resolver.candidates({ name, ns })) {
      const view = await stores.locate(candidate)
      if (view) {
        logger.debug({ name, ns, repository: candidate, stores: view.label }, 'resolved repository')
        return { view, repository: candidate }
      }
    }
    logger.debug({ name, ns }, 'repository not found')
    throw new RegistryError('NAME_UNKNOWN', { name, ...(ns ? { ns } : {}) })
  }

/**
 * The path as sent, not the WHATWG-normalised URL: `/v2/a/../b` and
 * `/v2/a/%2e%2e/b` must reach the name grammar as sent and be refused.
 */
export const rawPath = (c: Ctx): string => {
  let raw = c.env?.incoming?.url ?? new URL(c.req.url).pathname
  if (!raw.startsWith('/')) raw = new URL(raw, 'http://absolute-form').pathname
  const q = raw.indexOf('?')
  return q >= 0 ? raw.slice(0, q) : raw
}
