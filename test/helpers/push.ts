/**
 * Pushing in tests: the registry API with writes on, over a push root and
 * optional read-only roots, served on a loopback port; a checker for the
 * invariants a registry:2 tree must keep whatever happened to the process
 * writing it; and small helpers to push blobs and manifests.
 */
import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Hono } from 'hono'
import { getRequestListener } from '@hono/node-server'
import request from 'supertest'
import {
  ImageStores,
  NameResolver,
  Registry2WritableStore,
  parseManifest,
  referencesOf,
  type DiskStore,
  type Registry2WriterOptions,
} from '../../src/images/index.js'
import { errorResponse, RegistryError, registryApi } from '../../src/registry-api/index.js'
import { silentLogger } from '../../src/server/logger.js'

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

export interface PushApp {
  url: string
  stores: ImageStores
  push: Registry2WritableStore
  close(): Promise<void>
}

export interface PushAppOptions {
  /** Read-only stores consulted after the push root (bundle roots, OCI layouts). */
  stores?: DiskStore[]
  writes?: boolean
  deletes?: boolean
  writer?: Registry2WriterOptions
}

/**
 * registryApi over a push root at `root`, on 127.0.0.1, with the server's
 * error answers; requests come in as on the push listener (writes without
 * credentials), or may not write at all with `writes: false`.
 */
export const startPushApp = async (root: string, options: PushAppOptions = {}): Promise<PushApp> => {
  const push = new Registry2WritableStore(root, options.writer)
  await push.init()
  const stores = new ImageStores(options.stores ?? [], { push })
  const app = new Hono()
  app.route(
    '/',
    registryApi({
      stores,
      resolver: new NameResolver({ origins: [], rules: [] }),
      logger: silentLogger(),
      ...(options.writes === false ? { canWrite: () => false } : {}),
      deletes: options.deletes ?? true,
    }),
  )
  app.onError((err, c) => {
    if (err instanceof RegistryError)
      return errorResponse(err, c.req.method, c.res.headers.get('Allow') ? { Allow: c.res.headers.get('Allow')! } : {})
    console.error(err)
    return c.text('internal error', 500)
  })
  const server: Server = createServer(getRequestListener((req, env) => app.fetch(req, { ...env, listener: 'push' })))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    stores,
    push,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}

/** Pushes a blob with POST + PUT; returns its digest. */
export const pushBlob = async (url: string, name: string, bytes: Buffer): Promise<string> => {
  const digest = sha256(bytes)
  const post = await request(url).post(`/v2/${name}/blobs/uploads/`)
  if (post.status !== 202) throw new Error(`POST ${post.status} ${post.text}`)
  const put = await request(url)
    .put(`${post.headers.location}?digest=${digest}`)
    .set('Content-Type', 'application/octet-stream')
    .send(bytes)
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${put.text}`)
  return digest
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

/** An OCI image manifest naming a config and layers (pushed blobs), with optional extras. */
export const imageManifest = (config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}): Buffer =>
  Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
        ...extra,
      },
      null,
      '\t',
    ),
  )

/**
 * Checks a registry:2 tree: every tag resolves to a manifest with a
 * revision link whose bytes match its digest and whose references are in
 * the repository with matching bytes; every `_layers` link points at bytes
 * that match. Returns the problems found (none: the tree is consistent).
 */
export const checkTree = (root: string): string[] => {
  const base = join(root, 'docker/registry/v2')
  const problems: string[] = []
  const dataOf = (digest: string): string => join(base, 'blobs/sha256', digest.slice(7, 9), digest.slice(7), 'data')
  const matches = (digest: string): boolean => existsSync(dataOf(digest)) && sha256(readFileSync(dataOf(digest))) === digest
  for (const file of readdirSync(join(base, 'blobs'), { recursive: true }) as string[]) {
    const p = join(base, 'blobs', file)
    if (!file.endsWith('/data') || !statSync(p).isFile()) continue
    const hex = file.split('/')[2]!
    if (sha256(readFileSync(p)) !== `sha256:${hex}`) problems.push(`blob ${hex} does not match its digest`)
  }
  const repos = join(base, 'repositories')
  const walk = (dir: string, name: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue
      if (!e.name.startsWith('_')) walk(join(dir, e.name), name ? `${name}/${e.name}` : e.name)
    }
    const layers = join(dir, '_layers/sha256')
    if (existsSync(layers)) {
      for (const hex of readdirSync(layers)) {
        const link = join(layers, hex, 'link')
        if (!existsSync(link)) continue
        const d = readFileSync(link, 'utf8')
        if (d !== `sha256:${hex}`) problems.push(`${name}: layer link ${hex} holds ${d}`)
        else if (!matches(d)) problems.push(`${name}: layer link ${hex} points at missing or wrong bytes`)
      }
    }
    const revisionOk = (d: string): boolean => existsSync(join(dir, '_manifests/revisions/sha256', d.slice(7), 'link'))
    const tags = join(dir, '_manifests/tags')
    if (!existsSync(tags)) return
    for (const tag of readdirSync(tags)) {
      const current = join(tags, tag, 'current/link')
      if (!existsSync(current)) {
        problems.push(`${name}:${tag} has no current link`)
        continue
      }
      const d = readFileSync(current, 'utf8')
      if (!revisionOk(d)) problems.push(`${name}:${tag} points at ${d}, which has no revision link`)
      if (!matches(d)) {
        problems.push(`${name}:${tag} points at ${d}, whose bytes are missing or wrong`)
        continue
      }
      const info = parseManifest(readFileSync(dataOf(d)))
      if (!info) {
        problems.push(`${name}:${tag} points at ${d}, which is no manifest`)
        continue
      }
      const refs = referencesOf(info)
      for (const b of refs.blobs)
        if (!existsSync(join(dir, '_layers/sha256', b.hex, 'link')) || !matches(b.value))
          problems.push(`${name}:${tag}: blob ${b.value} missing`)
      for (const m of refs.manifests)
        if (!revisionOk(m.value) || !matches(m.value)) problems.push(`${name}:${tag}: child ${m.value} missing`)
    }
  }
  if (existsSync(repos)) walk(repos, '')
  return problems
}
