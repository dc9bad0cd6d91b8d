/** Prometheus metrics: requests and bytes by route and status, blobs served. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class Metrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'outpost_http_requests_total',
    help: 'HTTP requests completed, by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  })
  readonly bytes = new Counter({
    name: 'outpost_http_response_bytes_total',
    help: 'Response body bytes sent, by route and status.',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  })
  readonly duration = new Histogram({
    name: 'outpost_http_request_duration_seconds',
    help: 'Time from request to last byte, by route.',
    labelNames: ['route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [this.registry],
  })
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
