/** Request metrics are tallied and added when read: the same figures as counting every request in prom-client. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client'
import { Metrics } from '../../src/server/metrics.js'

const requests: Array<[string, string, number, number, number]> = [
  ['files', 'GET', 200, 13, 0.0003],
  ['v2.manifest', 'HEAD', 200, 0, 0.002],
  ['files', 'GET', 304, 0, 0.0001],
  ['files', 'GET', 200, 10_000, 0.7],
  ['not-found', 'POST', 404, 14, 0.01],
  ['files', 'GET', 200, 1, 12],
  ['v2.blob', 'GET', 206, 1 << 20, 0.05],
  // On a bucket's bound, and above the last one.
  ['files', 'GET', 200, 5, 0.001],
  ['v2.manifest', 'GET', 200, 5, 100],
]

/** Every series line but the comments, sorted: series order is not part of the format. */
const series = (text: string) =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .sort()

/** The reference: a registry where each request is counted straight in prom-client. */
const referenceRegistry = (list: typeof requests) => {
  const registry = new Registry()
  const ours = new Metrics({ processMetrics: false })
  const help = (name: string) => ({ help: (ours.registry.getSingleMetric(name) as unknown as { help: string }).help })
  const r = new Counter({
    name: 'outpost_http_requests_total',
    ...help('outpost_http_requests_total'),
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  })
  const b = new Counter({
    name: 'outpost_http_response_bytes_total',
    ...help('outpost_http_response_bytes_total'),
    labelNames: ['route', 'status'],
    registers: [registry],
  })
  const d = new Histogram({
    name: 'outpost_http_request_duration_seconds',
    ...help('outpost_http_request_duration_seconds'),
    labelNames: ['route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  })
  for (const [route, method, status, bytes, s] of list) {
    r.inc({ route, method, status: String(status) })
    b.inc({ route, status: String(status) }, bytes)
    d.observe({ route }, s)
  }
  return registry
}

const reference = async (list: typeof requests) => series(await referenceRegistry(list).metrics())

/** getMetricsAsJSON with each metric's values in a fixed order (series order is not part of the format). */
const sortedJson = async (registry: Registry) =>
  (await registry.getMetricsAsJSON())
    .filter((m) => m.name.startsWith('outpost_http_'))
    .map((m) => ({ ...m, values: [...m.values].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1))

const ours = (m: Metrics) => m.registry.metrics().then((t) => series(t).filter((l) => l.startsWith('outpost_http_')))

test('countRequest: the same series and values as a prom-client call per request, read once or many times', async () => {
  const m = new Metrics({ processMetrics: false })
  for (const r of requests) m.countRequest(...r)
  assert.deepEqual(await ours(m), await reference(requests))
  // Read again: nothing counted twice.
  assert.deepEqual(await ours(m), await reference(requests))
  // More requests after a read add to what was there.
  for (const r of requests) m.countRequest(...r)
  assert.deepEqual(await ours(m), await reference([...requests, ...requests]))
  // The JSON form (what is summed across processes) has them too.
  const json = await m.registry.getMetricsAsJSON()
  const total = json.find((j) => j.name === 'outpost_http_requests_total')!
  assert.equal(
    total.values.reduce((a, v) => a + v.value, 0),
    requests.length * 2,
  )
})

test('a request that sent no body still makes its bytes series', async () => {
  const m = new Metrics({ processMetrics: false })
  m.countRequest('files', 'HEAD', 200, 0, 0.001)
  const text = await m.registry.metrics()
  assert.match(text, /outpost_http_response_bytes_total\{route="files",status="200"\} 0/)
  assert.match(text, /outpost_http_requests_total\{route="files",method="HEAD",status="200"\} 1/)
})

test('the duration histogram: the same text, JSON and sum across processes as the prom-client Histogram, label sets in the same order', async () => {
  const m = new Metrics({ processMetrics: false })
  for (const r of requests) m.countRequest(...r)
  const ref = referenceRegistry(requests)
  const text = (t: string) => t.split('\n').filter((l) => l.startsWith('outpost_http_request_duration_seconds'))
  // Not sorted here: the histogram lists its label sets in the order first seen, as prom-client does.
  assert.deepEqual(text(await m.registry.metrics()), text(await ref.metrics()))
  assert.deepEqual(await sortedJson(m.registry), await sortedJson(ref))
  const summed = AggregatorRegistry.aggregate([await m.registry.getMetricsAsJSON(), await m.registry.getMetricsAsJSON()])
  const refSummed = AggregatorRegistry.aggregate([await ref.getMetricsAsJSON(), await ref.getMetricsAsJSON()])
  const http = (t: string) => series(t).filter((l) => l.startsWith('outpost_http_'))
  assert.deepEqual(http(await summed.metrics()), http(await refSummed.metrics()))
  assert.throws(() => m.countRequest('files', 'GET', 200, 1, Number.NaN), TypeError)
  m.registry.resetMetrics()
  assert.deepEqual(text(await m.registry.metrics()), [])
})
