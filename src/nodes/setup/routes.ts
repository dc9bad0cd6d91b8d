/**
 * The /setup routes: the index, bootstrap.sh, its manifest and each file,
 * all rendered per request for the address nodes are to use (origin.ts).
 */
import { Hono, type Context } from 'hono'
import { HttpError, labelRoute } from '../../http/index.js'
import type { Env } from '../env.js'
import { renderBootstrap, renderManifest } from './bootstrap.js'
import { buildSetupContext, type SetupContext, type SetupTree } from './context.js'
import { findSetupFile, renderSetupIndex, setupFiles } from './files.js'
import { chooseOrigin, ownNames, type OriginPolicy } from './origin.js'

/** What the set-up files are rendered from, read at each request (the CA and trees may appear later). */
export interface SetupSource {
  domains: readonly string[]
  /** Upstream registry hosts to mirror. */
  upstreams: readonly string[]
  /** Outpost's CA certificate (PEM), or null when there is none yet. */
  caPem(): string | null
  trees(): readonly SetupTree[]
  /** Port of the HTTPS listener, or null. */
  httpsPort(): number | null
  /** `server.advertise`: the URLs nodes are given; none: the Host they asked, when it is Outpost's. */
  advertise?: readonly string[]
  /** Names and addresses that are Outpost's besides its domains, host name and interfaces (`tls.extra_sans`). */
  extraNames?: () => readonly string[]
  /** CA certificates (PEM) Outpost used before a rotation: nodes remove their copies. */
  previousCas?: () => readonly string[]
}

export interface SetupRouterOptions {
  source: SetupSource
  /** The SNTP responder's port, or null when time is not served. */
  ntp: () => { port: number } | null
}

type Ctx = Context<Env>

export const setupRouter = (options: SetupRouterOptions): Hono<Env> => {
  const { source } = options
  const app = new Hono<Env>()
  const policy: OriginPolicy = {
    advertise: source.advertise ?? [],
    names: ownNames(source.domains, source.extraNames ?? (() => [])),
  }

  /** The set-up context for the address nodes are to use; a Host that is not Outpost's is refused. */
  const setupContext = (c: Ctx): SetupContext => {
    const url = new URL(c.req.url)
    const choice = chooseOrigin(`${url.protocol}//${url.host}`, c.req.header('host'), policy)
    if (!choice.ok) throw new HttpError(choice.status, choice.message)
    return buildSetupContext({
      origin: choice.origin,
      domains: source.domains,
      upstreams: source.upstreams,
      caPem: source.caPem(),
      previousCas: source.previousCas?.() ?? [],
      trees: source.trees(),
      httpsPort: source.httpsPort(),
      ntpPort: options.ntp()?.port ?? null,
    })
  }

  app.get('/setup', (c) => c.redirect('/setup/', 301))

  app.get('/setup/', function setupIndex(c) {
    labelRoute(c.env?.incoming, 'setup')
    const ctx = setupContext(c)
    return c.text(renderSetupIndex(ctx, setupFiles(ctx)))
  })

  app.get('/setup/bootstrap.sh', function bootstrapScript(c) {
    labelRoute(c.env?.incoming, 'setup')
    const ctx = setupContext(c)
    c.header('Cache-Control', 'no-store')
    return c.body(renderBootstrap(ctx, setupFiles(ctx)), 200, { 'Content-Type': 'text/x-shellscript; charset=utf-8' })
  })

  app.get('/setup/manifest.txt', function setupManifest(c) {
    labelRoute(c.env?.incoming, 'setup')
    const ctx = setupContext(c)
    c.header('Cache-Control', 'no-store')
    return c.text(renderManifest(ctx, setupFiles(ctx)))
  })

  app.get('/setup/*', function setupFile(c) {
    labelRoute(c.env?.incoming, 'setup')
    const ctx = setupContext(c)
    const file = findSetupFile(setupFiles(ctx), c.req.path)
    if (!file) {
      const why =
        c.req.path === '/setup/ca.crt'
          ? 'Outpost has no CA yet'
          : c.req.path === '/setup/chrony.conf' || c.req.path === '/setup/timesyncd.conf'
            ? ctx.ntpPort === null
              ? 'Outpost serves no time (listen.ntp is off or could not bind)'
              : 'systemd-timesyncd can only use port 123'
            : 'no such set-up file; see /setup/'
      throw new HttpError(404, why)
    }
    c.header('Cache-Control', 'no-store')
    return c.body(file.render!(), 200, { 'Content-Type': file.contentType })
  })

  return app
}
