/**
 * Routers name the route a request took on the Node request object, so the
 * access log and metrics, which see only Node's request and response, can
 * count by route without parsing paths again.
 */
import type { IncomingMessage } from 'node:http'

export const ROUTE_LABEL = Symbol('outpost.route')

export const labelRoute = (incoming: IncomingMessage | undefined, label: string): void => {
  if (incoming) (incoming as unknown as Record<symbol, string>)[ROUTE_LABEL] = label
}

export const routeLabelOf = (incoming: IncomingMessage): string =>
  (incoming as unknown as Record<symbol, string | undefined>)[ROUTE_LABEL] ?? 'other'
