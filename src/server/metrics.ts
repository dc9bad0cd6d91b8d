/** Prometheus metrics: requests and bytes by route and status, blobs served. */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client'
import { RouteHistogram } from './route-histogram.js'

/** Requests of one route, method and status not yet added to the counters. */
interface RequestTally {
  count: number
  bytes: number
}

export class Metrics {
  readonly registry = new Registry()
  /**
   * Finished requests (route → method → status) waiting to be added to
   * `requests` and `bytes`: countRequest tallies them, and whatever reads
   * either counter (a scrape, getMetricsAsJSON) adds them first, through
   * the counters' collect hooks. Two prom-client calls a request, each of
   * which builds and looks up a label key, become two Map lookups.
   */
  #pending = new Map<string, Map<string, Map<number, RequestTally>>>()
  readonly requests: Counter<'route' | 'method' | 'status'> = new Counter({
    name: 'outpost_http_requests_total',
    help: 'HTTP requests completed, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
    collect: () => this.#addPending(),
  })
  readonly bytes: Counter<'route' | 'status'> = new Counter({
    name: 'outpost_http_response_bytes_total',
    help: 'Response body bytes sent, by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
    collect: () => this.#addPending(),
  })
  readonly duration = new RouteHistogram({
    name: 'outpost_http_request_duration_seconds',
    help: 'Time from request to last byte, by route.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  })

  /** One finished request: counted in `requests`, `bytes` and `duration`. */
  countRequest(route: string, method: string, status: number, bytes: number, seconds: number): void {
    let byMethod = this.#pending.get(route)
    if (!byMethod) this.#pending.set(route, (byMethod = new Map()))
    let byStatus = byMethod.get(method)
    if (!byStatus) byMethod.set(method, (byStatus = new Map()))
    const tally = byStatus.get(status)
    if (tally) {
      tally.count++
      tally.bytes += bytes
    } else byStatus.set(status, { count: 1, bytes })
    this.duration.observeRoute(route, seconds)
  }

  #addPending(): void {
    if (this.#pending.size === 0) return
    const pending = this.#pending
    this.#pending = new Map()
    for (const [route, byMethod] of pending)
      for (const [method, byStatus] of byMethod)
        for (const [status, tally] of byStatus) {
          const s = String(status)
          this.requests.inc({ route, method, status: s }, tally.count)
          this.bytes.inc({ route, status: s }, tally.bytes)
        }
  }

  readonly blobsServed = new Counter({
    name: 'outpost_registry_blobs_served_total',
    help: 'Registry blob bodies sent (GET, full or partial).',
    registers: [this.registry],
  })
  readonly blobBytes = new Counter({
    name: 'outpost_registry_blob_bytes_total',
    help: 'Registry blob body bytes requested (full or partial).',
    registers: [this.registry],
  })

  readonly ntpPackets = new Counter({
    name: 'outpost_ntp_packets_total',
    help: 'SNTP datagrams received, by outcome: answered, ignored (not a client request), malformed, rate_limited.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'outpost_' })
  }
}
