import type { HttpBindings } from '@hono/node-server'

/** Hono environment of the routers: Node's request and response. */
export type Env = { Bindings: HttpBindings }
