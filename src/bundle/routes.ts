/**
 * `/inventory/requirements`: the requirements check of a running Outpost.
 * `GET` answers for the configured requirements (`requirements:`; without
 * any, every image served against the platforms of the nodes); `POST` takes
 * lists (what `outpost check URL --images FILE …` sends) and answers for
 * them. JSON for programs, the text of `outpost check` for curl.
 */
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { HttpBindings } from '@hono/node-server'
import { HttpError, labelRoute, wantsText } from '../http/index.js'
import type { CheckReport } from './evaluate.js'
import type { RequirementsMonitor } from './monitor.js'
import { renderCheckText } from './report.js'
import { RequirementsError, type NamedList, type RequirementLists } from './requirements.js'

type Env = { Bindings: HttpBindings }

/** The lists of a check are small (kubespray's are a few KiB); this leaves room for many. */
export const REQUIREMENTS_MAX_BYTES = 4 * 1024 * 1024

const namedLists = (v: unknown, key: string): NamedList[] => {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new HttpError(400, `${key}: expected a list of {name, text}`, { json: true })
  return v.map((e, i) => {
    if (!e || typeof e !== 'object' || typeof e.text !== 'string')
      throw new HttpError(400, `${key}[${i}]: expected {name, text} with text a string`, { json: true })
    return { name: typeof e.name === 'string' && e.name ? e.name.slice(0, 200) : `${key}[${i}]`, text: e.text }
  })
}

export const requirementsRouter = (monitor: () => RequirementsMonitor | undefined): Hono<Env> => {
  const app = new Hono<Env>()
  const need = (): RequirementsMonitor => {
    const m = monitor()
    if (!m) throw new HttpError(503, 'requirements not available', { json: true })
    return m
  }
  const answer = (c: Context<Env>, report: CheckReport): Response => {
    c.header('Cache-Control', 'no-store')
    if (wantsText(c.req.query('format'), c.req.header('accept'), c.req.header('user-agent'))) return c.text(renderCheckText(report))
    return c.json(report)
  }

  app.get('/inventory/requirements', async (c) => {
    labelRoute(c.env?.incoming, 'inventory')
    const report = await need().report()
    if (report instanceof RequirementsError) throw new HttpError(500, report.message, { json: true })
    return answer(c, report)
  })

  app.post(
    '/inventory/requirements',
    bodyLimit({
      maxSize: REQUIREMENTS_MAX_BYTES,
      onError: () => {
        throw new HttpError(413, `the lists are larger than ${REQUIREMENTS_MAX_BYTES} bytes`, { json: true })
      },
    }),
    async (c) => {
      labelRoute(c.env?.incoming, 'inventory')
      let body: Record<string, unknown>
      try {
        body = (await c.req.json()) as Record<string, unknown>
      } catch {
        throw new HttpError(400, 'send a JSON body: {images: [{name, text}], files: […], packages: […], platforms: […]}', { json: true })
      }
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw new HttpError(400, 'the body must be a JSON object', { json: true })
      const lists: RequirementLists = {
        images: namedLists(body.images, 'images'),
        files: namedLists(body.files, 'files'),
        packages: namedLists(body.packages, 'packages'),
      }
      const platforms = body.platforms
      if (platforms !== undefined && (!Array.isArray(platforms) || platforms.some((p) => typeof p !== 'string')))
        throw new HttpError(400, 'platforms: expected a list of strings', { json: true })
      try {
        return answer(c, await need().evaluateLists(lists, platforms as string[] | undefined))
      } catch (err) {
        if (err instanceof RequirementsError) throw new HttpError(400, err.message, { json: true })
        throw err
      }
    },
  )
  return app
}
