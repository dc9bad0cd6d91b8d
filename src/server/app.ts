/**
 * One Hono app for every listener: built-in endpoints first, then time,
 * nodes and set-up, then the registry API, then the file roots. Errors from every router end in
 * the single onError handler: registry errors as OCI JSON, HttpErrors as
 * text or JSON (src/http/reply.ts), anything else logged and answered
 * without internals.
 */
import { Hono } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import {
  errorBody,
  errorResponse,
  RegistryError,
  registryApi,
  API_VERSION,
  API_VERSION_HEADER,
  type CredentialCheck,
  type ListenerBinding,
} from '../registry-api/index.js'
import { errorReply, HttpError, labelRoute, setDirectRoute } from '../http/index.js'
import { HTTPException } from 'hono/http-exception'
import { fileRoutes, type FileCache } from '../repos/index.js'
import type { Logger } from './logger.js'
import type { Metrics } from './metrics.js'
import type { ServedLayout } from './layout.js'
import type { Catalog } from '../catalog/index.js'
import { healthRouter, type ReadinessCheck } from '../nodes/health.js'
import { inventoryRouter } from '../nodes/served-inventory.js'
import { isLoopbackHost, type OutpostConfig } from './config.js'
import type { Listener } from './listen.js'
import type { Db } from '../catalog/db.js'
import { nodesApi, NodeStore, DEFAULT_UPSTREAMS, type SetupSource } from '../nodes/index.js'
import type { SetupTree } from '../nodes/setup/context.js'
import { previousCaReader } from '../tls/index.js'
import type { TreeReport } from '../repos/index.js'
import { normalizeUpstream } from '../images/index.js'
import { allowedMethods, storageFailure } from './protocol-edges.js'
import { requirementsRouter, statusRouter, withArchFlags, type RequirementsMonitor } from '../bundle/index.js'
import { nodesView, type NodesView } from '../nodes/inventory.js'
import { serverPaths } from './status-paths.js'

export interface AppOptions {
  layout: ServedLayout
  logger: Logger
  metrics: Metrics
  /** The catalog, once open (inventory and misses answer 503 without it). */
  catalog?: () => Catalog | undefined
  /** Checks behind /readyz. */
  readiness?: () => readonly ReadinessCheck[]
  /** What `/readyz?verbose` says about the running server beside the checks (`outpost status`). */
  about?: () => Record<string, unknown>
  /** The CA certificate (PEM) nodes should trust, or null when there is none to hand out. */
  caPem?: () => string | null
  config: OutpostConfig
  /** The catalog database (nodes live there). */
  db: Db
  /** The running listeners, filled in as they bind. */
  listeners: readonly Listener[]
  /** The SNTP responder's port, or null when time is not served. */
  ntp: () => { port: number } | null
  /** The latest package tree reports (set-up renders repo files from them). */
  packageTrees?: () => readonly TreeReport[] | null
  /** The file roots' cache, so the caller can close its watchers on stop. */
  fileCache?: FileCache
  /** The users who may write through the HTTP and HTTPS listeners (registry.auth.htpasswd); none: read-only. */
  htpasswd?: CredentialCheck | null
  /** `requirements:` and its latest report (`/inventory/requirements`, the ARCH flag of `/nodes`). */
  requirements?: RequirementsMonitor
}

/**
 * URL paths that built-in endpoints own, present or planned. A file root
 * never answers below them, and root entries they hide are reported at
 * start-up (see startServer).
 */
export const BUILT_IN_PATHS: readonly string[] = [
  '/v2',
  '/healthz',
  '/readyz',
  '/time',
  '/inventory',
  '/nodes',
  '/setup',
  '/metrics',
  '/ca.crt',
  '/status',
]

type Env = { Bindings: HttpBindings & ListenerBinding }
/** What the app's handlers see in `c.env`. */
export type AppEnv = Env

/**
 * The upstream registries nodes mirror through Outpost: the usual
 * Kubernetes ones, plus every host named by images_origin.yaml and by the
 * prefix rules.
 */
export const upstreamHosts = (layout: ServedLayout, config: OutpostConfig): string[] => {
  const hostOf = (name: string): string => normalizeUpstream(name).split('/', 1)[0]!
  const hosts: string[] = [...DEFAULT_UPSTREAMS]
  for (const o of layout.origins) hosts.push(hostOf(o.src))
  // A rule's prefix alone ("quay.io/") is not an image name: give it one.
  for (const m of config.registry.mappings) hosts.push(hostOf(`${m.from.replace(/[/*]+$/, '')}/x`))
  return [...new Set(hosts)]
}

/**
 * Detected trees as set-up needs them: one entry per tree, an apt tree's
 * suites together, each with the components it mirrors; the signing key the
 * tree publishes, if any.
 */
export const setupTrees = (reports: readonly TreeReport[]): SetupTree[] => {
  const byUrl = new Map<string, SetupTree>()
  for (const r of reports) {
    const tree: SetupTree = byUrl.get(r.url) ?? {
      kind: r.kind,
      urlPath: r.url,
      ...(r.signingKey ? { keyUrl: r.signingKey } : {}),
      signed: r.signed,
      ...(r.kind === 'yum' ? { packagesSigned: r.packagesSigned } : {}),
    }
    if (r.suite) tree.suites = [...(tree.suites ?? []), { name: r.suite, components: r.components, signed: r.signed }]
    byUrl.set(r.url, tree)
  }
  return [...byUrl.values()]
}

const setupSource = (options: AppOptions): SetupSource => {
  return {
    domains: options.config.registry.domains,
    upstreams: upstreamHosts(options.layout, options.config),
    caPem: () => options.caPem?.() ?? null,
    trees: () => setupTrees(options.packageTrees?.() ?? []),
    httpsPort: () => options.listeners.find((l) => l.name === 'https')?.address.port ?? null,
    advertise: options.config.server.advertise,
    extraNames: () => options.config.tls.extra_sans,
    previousCas: previousCaReader(options.config.data_dir),
  }
}

export const createApp = (options: AppOptions): Hono<Env> => {
  const { layout, logger, metrics } = options
  const app = new Hono<Env>()
  const nodeStore = new NodeStore(options.db)
  const thresholds = { offsetMs: options.config.nodes.offset_threshold_ms, staleAfterS: options.config.nodes.stale_after_s }
  const requirements = options.requirements
  const decorate = async (view: NodesView): Promise<NodesView> =>
    requirements ? withArchFlags(view, await requirements.neededImages()) : view

  app.route('/', healthRouter(options.readiness ?? (() => []), options.about))
  app.route('/', inventoryRouter(options.catalog ?? (() => undefined)))
  app.route(
    '/',
    requirementsRouter(() => options.requirements),
  )
  app.route(
    '/',
    statusRouter({
      readiness: options.readiness ?? (() => []),
      ...(options.about ? { about: options.about } : {}),
      catalog: options.catalog ?? (() => undefined),
      requirements: () => options.requirements,
      nodes: () => decorate(nodesView(nodeStore.list(), Date.now(), thresholds)),
      paths: () => serverPaths(options.config, layout),
    }),
  )

  // The CA only: a PEM that holds anything but certificates is never sent.
  app.get('/ca.crt', (c) => {
    labelRoute(c.env?.incoming, 'ca')
    const pem = options.caPem?.() ?? null
    if (pem === null) throw new HttpError(404, 'no CA to hand out (HTTPS is off, or tls.cert is set without tls.ca)')
    if (/PRIVATE KEY/.test(pem)) throw new Error('refusing to serve a CA file that holds a private key')
    c.header('Content-Type', 'application/x-x509-ca-cert')
    c.header('Cache-Control', 'no-cache')
    return c.body(pem)
  })

  app.get('/metrics', async (c) => {
    labelRoute(c.env?.incoming, 'metrics')
    c.header('Content-Type', metrics.registry.contentType)
    return c.body(await metrics.registry.metrics())
  })

  app.route(
    '/',
    nodesApi({
      logger: logger.child({ sub: 'nodes' }),
      store: nodeStore,
      thresholds,
      ntp: options.ntp,
      setup: setupSource(options),
      decorate,
    }),
  )

  app.route(
    '/',
    registryApi({
      stores: layout.stores,
      resolver: layout.resolver,
      logger: logger.child({ sub: 'registry' }),
      onBlobServed: (_digest, bytes) => {
        metrics.blobsServed.inc()
        metrics.blobBytes.inc(bytes)
      },
      deletes: options.config.registry.delete,
      access: {
        htpasswd: options.htpasswd ?? null,
        pushOnLoopback: options.config.listen.push === null || isLoopbackHost(options.config.listen.push.host),
      },
    }),
  )

  // Last: every path the routes above did not take may be a file.
  const files = fileRoutes({
    roots: layout.filesRoots,
    symlinks: layout.filesSymlinks,
    logger: logger.child({ sub: 'files' }),
    reserved: BUILT_IN_PATHS,
    ...(options.fileCache ? { cache: options.fileCache } : {}),
  })
  app.route('/', files.router)
  // The listeners try the file roots' direct route before the app: it takes
  // only paths outside BUILT_IN_PATHS, which every route above lies under.
  setDirectRoute(app, files.direct)

  const allowed = allowedMethods(app)
  app.notFound((c) => {
    labelRoute(c.env?.incoming, 'not-found')
    // A built-in endpoint asked with a method it does not take: 405 with what it takes.
    const allow = allowed(c.req.path)
    if (allow) return errorReply(c, new HttpError(405, undefined, { headers: { Allow: allow.join(', ') } }))
    return errorReply(c, new HttpError(404))
  })

  app.onError(function onError(err, c) {
    if (err instanceof RegistryError) {
      const headers: Record<string, string> = { [API_VERSION_HEADER]: API_VERSION }
      if (c.res.headers.get('Allow')) headers.Allow = c.res.headers.get('Allow')!
      return errorResponse(err, c.req.method, headers)
    }
    if (err instanceof HTTPException) return errorReply(c, err)
    const storage = storageFailure(err)
    if (storage) {
      logger.warn({ code: storage.code, method: c.req.method, path: c.req.path }, 'request failed: data could not be written')
      const headers = { 'Retry-After': '60' }
      if (c.req.path === '/v2' || c.req.path.startsWith('/v2/')) {
        const e = new RegistryError('UNKNOWN', { code: storage.code }, { message: storage.message, status: storage.status, headers })
        return errorResponse(e, c.req.method, { [API_VERSION_HEADER]: API_VERSION })
      }
      return errorReply(c, new HttpError(storage.status, storage.message, { headers, json: true }))
    }
    logger.error({ err, method: c.req.method, path: c.req.path }, 'request failed')
    if (c.req.path === '/v2' || c.req.path.startsWith('/v2/')) {
      const unknown = new RegistryError('UNKNOWN', undefined, { message: 'internal error; see the server log' })
      return c.json(errorBody(unknown), 500, { [API_VERSION_HEADER]: API_VERSION })
    }
    return errorReply(c, new HttpError(500))
  })

  return app
}
